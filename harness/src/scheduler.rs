//! Keeping up to `jobs` children in flight while libtest-mimic asks for one result at a time.
//!
//! libtest-mimic, held to one thread, calls each trial's runner in turn on the main thread. The
//! scheduler knows the order it will ask in (the plan), so while the runner for one test waits,
//! the children of the tests after it already run.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::child::ChildOptions;
use crate::orphans::Escapee;
use crate::plan::PlannedTest;
use crate::signals;
use crate::supervisor::{ChildOutcome, Supervisor, Watch};

/// Why a test's outcome could not be had.
#[derive(Debug)]
pub(crate) enum RunError {
    /// Its child could not be started.
    Spawn(io::Error),
    /// The harness was told to stop.
    Interrupted(Signal),
}

pub(crate) struct Scheduler {
    tests: Vec<PlannedTest>,
    /// Tests in the order libtest-mimic is expected to ask for them, not yet started.
    upcoming: VecDeque<usize>,
    started: Vec<bool>,
    /// Finished children whose outcome libtest-mimic has not asked for yet: a few at most, kept
    /// small because the parent's memory is copied into every fork.
    finished: Vec<(usize, ChildOutcome)>,
    supervisor: Supervisor,
    jobs: usize,
    /// The most children started ahead of the one being reported, running or finished.
    lookahead: usize,
    token_seed: u64,
}

impl Scheduler {
    pub(crate) fn new(
        tests: Vec<PlannedTest>,
        order: Vec<usize>,
        supervisor: Supervisor,
        jobs: usize,
    ) -> Self {
        let started = vec![false; tests.len()];
        Self {
            tests,
            upcoming: order.into(),
            started,
            finished: Vec::new(),
            supervisor,
            jobs,
            lookahead: jobs * 4 + 16,
            token_seed: random_seed(),
        }
    }

    pub(crate) fn test(&self, index: usize) -> &PlannedTest {
        &self.tests[index]
    }

    /// Runs test `index` (if it is not running already) and waits for its child's outcome.
    pub(crate) fn outcome_of(&mut self, index: usize) -> Result<ChildOutcome, RunError> {
        if !self.started[index] {
            self.start(index).map_err(RunError::Spawn)?;
        }
        self.wait_for(index)
    }

    /// Runs test `index` again in a fresh child, and waits for its outcome.
    pub(crate) fn retry(&mut self, index: usize) -> Result<ChildOutcome, RunError> {
        self.start(index).map_err(RunError::Spawn)?;
        self.wait_for(index)
    }

    /// Runs test `index` again in a fresh child that tracks its allocations (their call stacks
    /// too if `stacks`), killed after `timeout` and never announced as slow, and waits for it.
    pub(crate) fn track_allocations(
        &mut self,
        index: usize,
        timeout: Duration,
        stacks: bool,
    ) -> Result<ChildOutcome, RunError> {
        let watch = Watch {
            timeout: Some(timeout),
            notice_slow: false,
        };
        self.start_with(index, watch, |options| options.tracking_allocations(stacks))
            .map_err(RunError::Spawn)?;
        self.wait_for(index)
    }

    fn wait_for(&mut self, index: usize) -> Result<ChildOutcome, RunError> {
        loop {
            if let Some(signal) = signals::interrupted() {
                return Err(RunError::Interrupted(signal));
            }
            self.fill();
            if let Some(at) = self.finished.iter().position(|(key, _)| *key == index) {
                let (_, outcome) = self.finished.swap_remove(at);
                self.fill();
                return Ok(outcome);
            }
            self.finished.extend(self.supervisor.wait());
        }
    }

    fn start(&mut self, index: usize) -> io::Result<()> {
        let watch = Watch {
            timeout: self.tests[index].timeout,
            notice_slow: true,
        };
        self.start_with(index, watch, |options| options)
    }

    fn start_with(
        &mut self,
        index: usize,
        watch: Watch,
        adjust: impl FnOnce(ChildOptions) -> ChildOptions,
    ) -> io::Result<()> {
        let test = &self.tests[index];
        let token = self.token_seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let options = adjust(ChildOptions {
            memory_limit: test.memory_limit,
            track_allocations: false,
            record_stacks: false,
        });
        self.supervisor
            .start(index, test.case, watch, options, token)?;
        self.started[index] = true;
        Ok(())
    }

    /// Starts upcoming tests while there is a free slot. A fork that fails here is retried when
    /// the test's turn comes, where its error becomes that test's failure.
    fn fill(&mut self) {
        while self.supervisor.running() < self.jobs
            && self.supervisor.running() + self.finished.len() < self.lookahead
        {
            let Some(next) = self.upcoming.pop_front() else {
                return;
            };
            if self.started[next] {
                continue;
            }
            if self.start(next).is_err() {
                self.upcoming.push_front(next);
                return;
            }
        }
    }

    /// Shows a live status line for the rest of the run.
    pub(crate) fn show_status(&mut self) {
        let total = self.upcoming.len();
        self.supervisor.show_status(total);
    }

    /// A test's verdict is in: counted, and the status line leaves the screen for it.
    pub(crate) fn test_done(&mut self, passed: bool) {
        self.supervisor.test_done(passed);
    }

    /// Takes the status line off the screen before something else is printed.
    pub(crate) fn clear_status(&mut self) {
        self.supervisor.clear_status();
    }

    /// Names and source lines for a child's return addresses.
    pub(crate) fn resolve(&mut self, addresses: &[u64]) -> Vec<crate::symbols::Frame> {
        self.supervisor.resolve(addresses)
    }

    /// Processes that escaped a test's group, killed since the last call.
    pub(crate) fn take_escapees(&mut self) -> Vec<Escapee> {
        self.supervisor.take_escapees()
    }

    /// Kills and reaps every child still running and whatever escaped; returns the escapees.
    pub(crate) fn kill_all(&mut self) -> Vec<Escapee> {
        self.supervisor.kill_all()
    }

    /// Ends the run: [`kill_all`](Self::kill_all), then closes the harness's descriptors.
    pub(crate) fn shut_down(mut self) -> Vec<Escapee> {
        self.kill_all()
    }
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish()
}
