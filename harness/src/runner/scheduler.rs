//! Keeping up to `jobs` children in flight while libtest-mimic asks for one result at a time.
//!
//! libtest-mimic, held to one thread, calls each trial's runner in turn on the main thread. The
//! scheduler knows the order it will ask in (the plan), so while the runner for one test waits,
//! the children of the tests after it already run.

use std::collections::VecDeque;
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::child::ChildOptions;
use crate::outcome::{ChildOutcome, ChildReport, Escapee};
use crate::parent::launch::StartError;
use crate::parent::supervisor::{Progress, Supervisor, Watch};
use crate::parent::{leak_sites, signals};
use crate::plan::PlannedTest;
use crate::symbols::Frame;
use crate::verdict::{self, Failure, Verdict, LARGE_GROWTH};
use crate::wire::TrackedLeaks;

/// Why a test's outcome could not be had.
#[derive(Debug)]
pub(crate) enum RunError {
    /// Its child could not be started.
    NotStarted(StartError),
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
    /// `ISOLATED_TEST_LEAK_SITES`: tracked runs record call stacks.
    leak_sites: bool,
    /// `ISOLATED_TEST_REPORT=memory`: tracked runs name the still reachable blocks' sites too.
    report_memory: bool,
    /// Per test: a tracked run was started for its latest outcome, not yet taken.
    tracking: Vec<bool>,
    /// The `serial` groups with a child running, and how many: one at most, but counted.
    busy_groups: Vec<(&'static str, usize)>,
}

/// How to run a test again to tell the blocks it left apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TrackingPlan {
    pub(crate) timeout: Duration,
    /// Record call stacks, to name sites.
    pub(crate) stacks: bool,
    /// Name the still reachable blocks' sites too: under `strict_leaks`, with
    /// `ISOLATED_TEST_REPORT=memory`, and where the growth is [`LARGE_GROWTH`] or more.
    pub(crate) reachable_sites: bool,
    /// Tell which descriptors left open are held by what the body wrote.
    pub(crate) descriptors: bool,
}

impl Scheduler {
    pub(crate) fn new(
        tests: Vec<PlannedTest>,
        order: Vec<usize>,
        supervisor: Supervisor,
        jobs: usize,
        leak_sites: bool,
        report_memory: bool,
    ) -> Self {
        let started = vec![false; tests.len()];
        let tracking = vec![false; tests.len()];
        Self {
            tests,
            upcoming: order.into(),
            started,
            finished: Vec::new(),
            supervisor,
            jobs,
            lookahead: jobs * 4 + 16,
            token_seed: random_seed(),
            leak_sites,
            report_memory,
            tracking,
            busy_groups: Vec::new(),
        }
    }

    pub(crate) fn test(&self, index: usize) -> &PlannedTest {
        &self.tests[index]
    }

    /// Runs test `index` (if it is not running already) and waits for its child's outcome.
    pub(crate) fn outcome_of(
        &mut self,
        index: usize,
        progress: &mut dyn Progress,
    ) -> Result<ChildOutcome, RunError> {
        if !self.started[index] {
            self.wait_for_its_group(index, progress)?;
            self.start(index).map_err(RunError::NotStarted)?;
        }
        self.wait_for(index, progress)
    }

    /// Runs test `index` again in a fresh child, and waits for its outcome.
    pub(crate) fn retry(
        &mut self,
        index: usize,
        progress: &mut dyn Progress,
    ) -> Result<ChildOutcome, RunError> {
        self.wait_for_its_group(index, progress)?;
        self.start(index).map_err(RunError::NotStarted)?;
        self.wait_for(index, progress)
    }

    /// Whether `outcome`, a run of test `index`, must be run again tracking its allocations: its
    /// heap grew past its leak limit, and the blocks it left are to be told apart or traced; or
    /// it left descriptors open, and which of them what it wrote holds is to be told.
    pub(crate) fn tracking_for(
        &self,
        index: usize,
        outcome: &ChildOutcome,
    ) -> Option<TrackingPlan> {
        let expect = &self.tests[index].expect;
        let Ok(ChildReport::Returned { heap: Some(heap) }) = &outcome.report else {
            return None;
        };
        // Cheap first: most runs that grew at all stayed within their limit, and left nothing.
        let over_limit = heap.net_bytes.max(0) as u64 > expect.leak_limit?;
        let left_open = outcome.clues.left_descriptors.is_some();
        if !over_limit && !left_open {
            return None;
        }
        let Verdict::Fail(failure) = verdict::judge(outcome, expect) else {
            return None;
        };
        // Under `strict_leaks` every descriptor counts, held or not.
        let descriptors = left_open && !expect.strict_leaks;
        let heap_sites = failure.is_leak() && (self.leak_sites || !expect.strict_leaks);
        let for_descriptors = descriptors
            && matches!(
                failure,
                Failure::LeftDescriptors(_) | Failure::Leaked { .. }
            );
        (heap_sites || for_descriptors).then(|| TrackingPlan {
            timeout: tracking_timeout(outcome.duration, heap.allocations),
            stacks: self.leak_sites && failure.is_leak(),
            reachable_sites: expect.strict_leaks
                || self.report_memory
                || heap.net_bytes.max(0) as u64 >= LARGE_GROWTH,
            descriptors,
        })
    }

    /// The outcome of the tracked run of test `index`, started now if it was not started as
    /// soon as the run it follows ended.
    pub(crate) fn tracked(
        &mut self,
        index: usize,
        plan: TrackingPlan,
        progress: &mut dyn Progress,
    ) -> Result<ChildOutcome, RunError> {
        if !self.tracking[index] {
            self.wait_for_its_group(index, progress)?;
            self.start_tracking(index, plan)
                .map_err(RunError::NotStarted)?;
        }
        self.tracking[index] = false;
        self.wait_for(self.tracking_key(index), progress)
    }

    /// The key a tracked run's outcome comes back under: apart from the test's own runs.
    fn tracking_key(&self, index: usize) -> usize {
        self.tests.len() + index
    }

    fn start_tracking(&mut self, index: usize, plan: TrackingPlan) -> Result<(), StartError> {
        let watch = Watch {
            timeout: Some(plan.timeout),
            notice_slow: false,
            excuse_cpu_wait: true,
        };
        let key = self.tracking_key(index);
        self.start_keyed(index, key, watch, |options| {
            options.tracking_allocations(plan.stacks, plan.reachable_sites, plan.descriptors)
        })?;
        self.tracking[index] = true;
        Ok(())
    }

    fn wait_for(
        &mut self,
        key: usize,
        progress: &mut dyn Progress,
    ) -> Result<ChildOutcome, RunError> {
        loop {
            if let Some(signal) = signals::interrupted() {
                return self.outcome_despite(key, signal);
            }
            self.fill();
            if let Some(at) = self.finished.iter().position(|(done, _)| *done == key) {
                let (_, outcome) = self.finished.swap_remove(at);
                self.fill();
                return Ok(outcome);
            }
            self.collect(progress);
        }
    }

    /// The run was interrupted while `key`'s outcome was awaited: that outcome still, if its
    /// child had said all it had to say before (the test ended; its child is reaped, within a
    /// bound); else the interruption.
    fn outcome_despite(&mut self, key: usize, signal: Signal) -> Result<ChildOutcome, RunError> {
        if !self.finished.iter().any(|(done, _)| *done == key) {
            self.finished
                .extend(self.supervisor.exited_after_last_word(key));
        }
        match self.finished.iter().position(|(done, _)| *done == key) {
            Some(at) => Ok(self.finished.swap_remove(at).1),
            None => Err(RunError::Interrupted(signal)),
        }
    }

    /// Waits for children to end, and keeps what they said.
    fn collect(&mut self, progress: &mut dyn Progress) {
        for (done, outcome) in self.supervisor.wait(progress) {
            self.group_left(done);
            self.track_early(done, &outcome);
            self.finished.push((done, outcome));
        }
    }

    /// Waits until no test of test `index`'s `serial` group runs.
    fn wait_for_its_group(
        &mut self,
        index: usize,
        progress: &mut dyn Progress,
    ) -> Result<(), RunError> {
        while !self.group_is_free(index) {
            if let Some(signal) = signals::interrupted() {
                return Err(RunError::Interrupted(signal));
            }
            self.collect(progress);
        }
        Ok(())
    }

    /// Whether test `index` may start: no test of its `serial` group runs.
    fn group_is_free(&self, index: usize) -> bool {
        self.tests[index]
            .case
            .serial
            .is_none_or(|group| !self.busy_groups.iter().any(|(busy, _)| *busy == group))
    }

    /// A child of test `index`'s group starts.
    fn group_entered(&mut self, index: usize) {
        let Some(group) = self.tests[index].case.serial else {
            return;
        };
        match self.busy_groups.iter_mut().find(|(busy, _)| *busy == group) {
            Some((_, running)) => *running += 1,
            None => self.busy_groups.push((group, 1)),
        }
    }

    /// The child that reports under `key` ended.
    fn group_left(&mut self, key: usize) {
        let index = key % self.tests.len();
        let Some(group) = self.tests[index].case.serial else {
            return;
        };
        if let Some(at) = self.busy_groups.iter().position(|(busy, _)| *busy == group) {
            self.busy_groups[at].1 -= 1;
            if self.busy_groups[at].1 == 0 {
                self.busy_groups.swap_remove(at);
            }
        }
    }

    /// Starts the tracked run of a run that just ended, if it will need one: the verdict waits
    /// for it, so it runs beside the runs before that verdict rather than after them.
    fn track_early(&mut self, key: usize, outcome: &ChildOutcome) {
        if key >= self.tests.len() || self.tracking[key] || !self.group_is_free(key) {
            return;
        }
        if let Some(plan) = self.tracking_for(key, outcome) {
            // A fork that fails here is tried again when the verdict asks for the run.
            let _ = self.start_tracking(key, plan);
        }
    }

    fn start(&mut self, index: usize) -> Result<(), StartError> {
        let watch = Watch {
            timeout: self.tests[index].timeout,
            notice_slow: true,
            excuse_cpu_wait: false,
        };
        self.start_with(index, watch, |options| options)
    }

    fn start_with(
        &mut self,
        index: usize,
        watch: Watch,
        adjust: impl FnOnce(ChildOptions) -> ChildOptions,
    ) -> Result<(), StartError> {
        self.start_keyed(index, index, watch, adjust)
    }

    /// Forks a child for test `index`, whose outcome comes back under `key`.
    fn start_keyed(
        &mut self,
        index: usize,
        key: usize,
        watch: Watch,
        adjust: impl FnOnce(ChildOptions) -> ChildOptions,
    ) -> Result<(), StartError> {
        let test = &self.tests[index];
        let token = self.token_seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let options = adjust(ChildOptions {
            memory_limit: test.memory_limit,
            track_allocations: false,
            record_stacks: false,
            reachable_sites: false,
            judge_descriptors: false,
        });
        self.supervisor.start(
            key,
            (test.case, test.registered, test.setup),
            watch,
            options,
            token,
        )?;
        self.started[index] = true;
        self.group_entered(index);
        Ok(())
    }

    /// Starts upcoming tests while there is a free slot: the first whose `serial` group is free.
    /// A fork that fails here is retried when the test's turn comes, where its error becomes that
    /// test's failure.
    fn fill(&mut self) {
        while self.supervisor.running() < self.jobs
            && self.supervisor.running() + self.finished.len() < self.lookahead
        {
            while let Some(&front) = self.upcoming.front() {
                if !self.started[front] {
                    break;
                }
                self.upcoming.pop_front();
            }
            // The first, unless a test of its `serial` group runs: then the first that may start.
            let startable = |index: usize| !self.started[index] && self.group_is_free(index);
            let Some(at) = self.upcoming.iter().position(|&index| startable(index)) else {
                return;
            };
            let next = self.upcoming[at];
            if self.start(next).is_err() {
                return;
            }
            self.upcoming.remove(at);
        }
    }

    /// How many tests the run has yet to start.
    pub(crate) fn upcoming(&self) -> usize {
        self.upcoming.len()
    }

    /// The test's own frames where a timed-out child said it was stuck, named and located by
    /// the symboliser.
    pub(crate) fn stuck_frames(&mut self, addresses: &[u64]) -> Vec<Frame> {
        self.supervisor.test_frames(addresses)
    }

    /// Names the sites of the blocks a tracked run left, by the symboliser.
    pub(crate) fn name_sites(&mut self, leaks: &mut TrackedLeaks) {
        if leaks.lost.sites.is_empty() && leaks.reachable.sites.is_empty() {
            return;
        }
        leak_sites::name_sites(leaks, |address| self.supervisor.resolve(&[address]));
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

/// How long the run that tracks a leaking test's allocations may take, whatever the test's own
/// timeout: ten times the failing run's time, plus 50 µs for each allocation it made (recording
/// a call stack costs about 4 µs on an idle machine), in whole seconds from 2 to 30. Naming the
/// sites is the harness's work, after the run, and not counted.
fn tracking_timeout(first_took: Duration, allocations: u64) -> Duration {
    let needed = first_took
        .saturating_mul(10)
        .saturating_add(Duration::from_micros(allocations.saturating_mul(50)));
    Duration::from_secs(needed.as_secs_f64().ceil() as u64)
        .clamp(Duration::from_secs(2), Duration::from_secs(30))
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tracking_run_gets_whole_seconds_from_2_to_30() {
        let ms = Duration::from_millis;
        assert_eq!(tracking_timeout(ms(3), 10), Duration::from_secs(2));
        assert_eq!(tracking_timeout(ms(230), 240_000), Duration::from_secs(15));
        assert_eq!(tracking_timeout(ms(5_000), 0), Duration::from_secs(30));
        assert_eq!(tracking_timeout(ms(1), u64::MAX), Duration::from_secs(30));
    }
}
