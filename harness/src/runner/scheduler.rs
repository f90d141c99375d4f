//! Keeping up to `jobs` children in flight while the runner asks for one result at a time.
//!
//! The runner, on the main thread, asks for each test's outcome in turn, in the plan's order.
//! The scheduler knows that order, so while the runner waits for one test, the children of the
//! tests after it already run. Each test's run is judged as it finishes
//! ([`verdict::first_look`]): where the verdict needs a second run that tracks allocations, the
//! scheduler starts it then, beside the runs before that verdict rather than after them.

use std::collections::VecDeque;

use crate::sys::Signal;

use super::tracked_first::TrackedFirst;
use crate::child::ChildOptions;
use crate::outcome::{CapturedStream, ChildOutcome, Escapee, RecordedSite, TrackedLeaks};
use crate::parent::launch::StartError;
use crate::parent::supervisor::{Progress, RunKey, Supervisor, Watch};
use crate::parent::{leak_sites, signals};
use crate::plan::PlannedTest;
use crate::symbols::Frame;
use crate::verdict::{self, Judgement, TrackingPlan, TrackingPolicy};

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
    /// Tests in the order the runner will ask for them, not yet started.
    upcoming: VecDeque<usize>,
    started: Vec<bool>,
    /// Finished children whose outcome the runner has not asked for yet, bounded by what they
    /// hold (see [`FinishedRuns::has_room`]).
    finished: FinishedRuns,
    supervisor: Supervisor,
    jobs: usize,
    token_seed: u64,
    /// What the run asks of tracked runs, for the verdict's first look.
    tracking_policy: TrackingPolicy,
    /// Per test: a tracked run was started for its latest outcome, not yet taken.
    tracking: Vec<bool>,
    /// The `serial` groups with a child running, and how many: one at most, but counted.
    busy_groups: Vec<(&'static str, usize)>,
    /// Whether tests track their allocations from their own run on.
    tracked_first: TrackedFirst,
}

/// Finished runs the scheduler always may keep waiting for the runner, however much they hold.
const ALWAYS_HELD: usize = 24;
/// Beyond [`ALWAYS_HELD`], finished runs are kept only while they hold this much in all: their
/// memory is the harness's, copied into every fork (about 40 µs per MB).
const HELD_BYTES: usize = 1 << 20;
/// What a finished run is counted as holding besides its captured output.
const RUN_BYTES: usize = 1 << 10;
/// The most finished runs kept, however little they hold.
const MOST_HELD: usize = 1024;

/// Finished children, kept until the runner asks for them.
#[derive(Default)]
struct FinishedRuns {
    /// Runs of test `index`, each with the verdict's first look at it.
    tests: Vec<(usize, ChildOutcome, Judgement)>,
    /// Runs that tracked test `index`'s allocations: judged with the run they follow.
    tracked: Vec<(usize, ChildOutcome)>,
}

impl FinishedRuns {
    fn len(&self) -> usize {
        self.tests.len() + self.tracked.len()
    }

    /// Whether one more run may be started ahead of the runner: the runs kept are few, or hold
    /// little. A test far ahead of a slow one still starts while the slow one runs (libtest starts
    /// every test as a thread frees), yet a suite that prints much is not kept in the harness's
    /// memory.
    fn has_room(&self) -> bool {
        let len = self.len();
        if len < ALWAYS_HELD {
            return true;
        }
        let tests = self.tests.iter().map(|(_, outcome, _)| outcome);
        let tracked = self.tracked.iter().map(|(_, outcome)| outcome);
        let held: usize = tests
            .chain(tracked)
            .map(|outcome| RUN_BYTES + outcome.stdout.kept_bytes() + outcome.stderr.kept_bytes())
            .sum();
        len < MOST_HELD && held < HELD_BYTES
    }

    fn take_test(&mut self, index: usize) -> Option<(ChildOutcome, Judgement)> {
        let at = self.tests.iter().position(|(done, ..)| *done == index)?;
        let (_, outcome, judgement) = self.tests.swap_remove(at);
        Some((outcome, judgement))
    }

    fn take_tracked(&mut self, index: usize) -> Option<ChildOutcome> {
        let at = self.tracked.iter().position(|(done, _)| *done == index)?;
        Some(self.tracked.swap_remove(at).1)
    }
}

impl Scheduler {
    pub(crate) fn new(
        tests: Vec<PlannedTest>,
        order: Vec<usize>,
        supervisor: Supervisor,
        jobs: usize,
        tracking_policy: TrackingPolicy,
    ) -> Self {
        let started = vec![false; tests.len()];
        let tracking = vec![false; tests.len()];
        Self {
            tests,
            upcoming: order.into(),
            started,
            finished: FinishedRuns::default(),
            supervisor,
            jobs,
            token_seed: random_seed(),
            tracking_policy,
            tracking,
            busy_groups: Vec::new(),
            tracked_first: TrackedFirst::new(),
        }
    }

    pub(crate) fn test(&self, index: usize) -> &PlannedTest {
        &self.tests[index]
    }

    /// Runs test `index` (if it is not running already) and waits for its child's outcome, and
    /// the verdict's first look at it.
    pub(crate) fn outcome_of(
        &mut self,
        index: usize,
        progress: &mut dyn Progress,
    ) -> Result<(ChildOutcome, Judgement), RunError> {
        if !self.started[index] {
            self.wait_for_its_group(index, progress)?;
            self.start(index).map_err(RunError::NotStarted)?;
        }
        self.wait_for_test(index, progress)
    }

    /// Runs test `index` again in a fresh child, and waits for its outcome and the verdict's
    /// first look at it.
    pub(crate) fn retry(
        &mut self,
        index: usize,
        progress: &mut dyn Progress,
    ) -> Result<(ChildOutcome, Judgement), RunError> {
        self.wait_for_its_group(index, progress)?;
        self.start(index).map_err(RunError::NotStarted)?;
        self.wait_for_test(index, progress)
    }

    /// The outcome of the tracked run of test `index`, as `plan` says, started now if it was not
    /// started as soon as the run it follows ended.
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
        self.wait_for(RunKey::Tracked(index), progress, FinishedRuns::take_tracked)
    }

    fn start_tracking(&mut self, index: usize, plan: TrackingPlan) -> Result<(), StartError> {
        let watch = Watch {
            timeout: Some(plan.timeout),
            notice_slow: false,
            excuse_cpu_wait: true,
        };
        self.start_keyed(RunKey::Tracked(index), watch, |options| {
            options.tracking_allocations(plan.stacks, plan.reachable_sites, plan.descriptors)
        })?;
        self.tracking[index] = true;
        Ok(())
    }

    fn wait_for_test(
        &mut self,
        index: usize,
        progress: &mut dyn Progress,
    ) -> Result<(ChildOutcome, Judgement), RunError> {
        self.wait_for(RunKey::Test(index), progress, FinishedRuns::take_test)
    }

    /// Waits for the run under `key` to finish, and takes its result with `take`.
    fn wait_for<T>(
        &mut self,
        key: RunKey,
        progress: &mut dyn Progress,
        take: fn(&mut FinishedRuns, usize) -> Option<T>,
    ) -> Result<T, RunError> {
        loop {
            if let Some(signal) = signals::interrupted() {
                return self.outcome_despite(key, signal, take);
            }
            self.fill();
            if let Some(found) = take(&mut self.finished, key.test()) {
                self.fill();
                return Ok(found);
            }
            self.collect(progress);
        }
    }

    /// The run was interrupted while `key`'s outcome was awaited: that outcome still, if its
    /// child had said all it had to say before (the test ended; its child is reaped, within a
    /// bound); else the interruption.
    fn outcome_despite<T>(
        &mut self,
        key: RunKey,
        signal: Signal,
        take: fn(&mut FinishedRuns, usize) -> Option<T>,
    ) -> Result<T, RunError> {
        if let Some(found) = take(&mut self.finished, key.test()) {
            return Ok(found);
        }
        for (done, outcome) in self.supervisor.exited_after_last_word(key) {
            self.keep(done, outcome);
        }
        take(&mut self.finished, key.test()).ok_or(RunError::Interrupted(signal))
    }

    /// Keeps a child that ended under `key`, a test's own run with the verdict's first look at
    /// it; returns the tracked run that look asks for, if it asks for one.
    fn keep(&mut self, key: RunKey, outcome: ChildOutcome) -> Option<TrackingPlan> {
        match key {
            RunKey::Test(index) => {
                let expect = &self.tests[index].expect;
                let judgement = verdict::first_look(&outcome, expect, self.tracking_policy);
                let plan = match &judgement {
                    Judgement::NeedsTrackedRun(plan, _) => Some(*plan),
                    Judgement::Final(_) | Judgement::TrackedItself(_) => None,
                };
                let tracked = outcome.clues.tracked_leaks.is_some();
                let needed = !matches!(judgement, Judgement::Final(_));
                self.tracked_first.learn(needed, tracked);
                self.finished.tests.push((index, outcome, judgement));
                plan
            }
            RunKey::Tracked(index) => {
                self.finished.tracked.push((index, outcome));
                None
            }
        }
    }

    /// Waits for children to end, and keeps what they said; a test's tracked run starts as soon
    /// as its first look asks for it.
    fn collect(&mut self, progress: &mut dyn Progress) {
        for (done, mut outcome) in self.supervisor.wait(progress) {
            if self.tests[done.test()].expect.stderr.is_some() {
                // Its verdict reads its stderr as the user would. Any other test's is named
                // only where it is shown (see `Trial`): most panics are caught, or pass.
                self.supervisor.name_panic_backtraces(&mut outcome.stderr);
            }
            self.group_left(done);
            if let Some(plan) = self.keep(done, outcome) {
                self.track_early(done.test(), plan);
            }
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
    fn group_left(&mut self, key: RunKey) {
        let Some(group) = self.tests[key.test()].case.serial else {
            return;
        };
        if let Some(at) = self.busy_groups.iter().position(|(busy, _)| *busy == group) {
            self.busy_groups[at].1 -= 1;
            if self.busy_groups[at].1 == 0 {
                self.busy_groups.swap_remove(at);
            }
        }
    }

    /// Starts the tracked run the verdict asked for when test `index`'s run ended: the verdict
    /// waits for it, so it runs beside the runs before that verdict rather than after them.
    fn track_early(&mut self, index: usize, plan: TrackingPlan) {
        if self.tracking[index] || !self.group_is_free(index) {
            return;
        }
        // A fork that fails here is tried again when the runner asks for the run.
        let _ = self.start_tracking(index, plan);
    }

    fn start(&mut self, index: usize) -> Result<(), StartError> {
        let watch = Watch {
            timeout: self.tests[index].timeout,
            notice_slow: true,
            excuse_cpu_wait: false,
        };
        // Tracking from the start: no call stacks (each costs microseconds), no descriptors
        // (they would be numbered otherwise than the test sees them).
        let tracked = self.tracked_first.wanted();
        self.start_keyed(RunKey::Test(index), watch, |options| match tracked {
            true => options.tracking_allocations(false, false, false),
            false => options,
        })
    }

    /// Forks a child for the test `key` names, whose outcome comes back under `key`.
    fn start_keyed(
        &mut self,
        key: RunKey,
        watch: Watch,
        adjust: impl FnOnce(ChildOptions) -> ChildOptions,
    ) -> Result<(), StartError> {
        let index = key.test();
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
        while self.supervisor.running() < self.jobs && self.finished.has_room() {
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

    /// Names the frames of the panics' backtraces on a child's `stderr`, by the symboliser.
    pub(crate) fn name_panic_backtraces(&mut self, stderr: &mut CapturedStream) {
        self.supervisor.name_panic_backtraces(stderr);
    }

    /// Names the sites of the blocks a tracked run left, by the symboliser.
    pub(crate) fn name_sites(&mut self, leaks: TrackedLeaks<RecordedSite>) -> TrackedLeaks {
        leak_sites::name_sites(leaks, |address| self.supervisor.resolve(&[address]))
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::outcome::{CapturedStream, ChildEnd, Clues, ProtocolError};
    use crate::verdict::Verdict;

    /// A finished run whose stdout holds `printed` bytes.
    fn finished(printed: usize) -> (ChildOutcome, Judgement) {
        let mut stdout = CapturedStream::default();
        stdout.push(&vec![b'x'; printed]);
        let outcome = ChildOutcome {
            report: Err(ProtocolError::NoReport),
            clues: Clues::default(),
            end: ChildEnd::Exited(0),
            signalled_harness: None,
            timed_out: None,
            duration: Duration::ZERO,
            usage: None,
            stdout,
            stderr: CapturedStream::default(),
        };
        (outcome, Judgement::Final(Verdict::Pass(None)))
    }

    fn keeping(runs: impl IntoIterator<Item = usize>) -> FinishedRuns {
        let mut kept = FinishedRuns::default();
        for (index, printed) in runs.into_iter().enumerate() {
            let (outcome, judgement) = finished(printed);
            kept.tests.push((index, outcome, judgement));
        }
        kept
    }

    #[test]
    fn runs_far_ahead_start_while_what_is_kept_is_small_and_never_past_the_most() {
        // A few runs always, whatever they hold.
        assert!(keeping([HELD_BYTES; ALWAYS_HELD - 1]).has_room());
        // Beyond them, quiet runs by the hundred, up to the most kept.
        assert!(keeping([0; 500]).has_room());
        assert!(!keeping([0; MOST_HELD]).has_room());
        // But not past the bytes held, output and each run's own share counted.
        let per_run = HELD_BYTES / 100;
        assert!(keeping(vec![per_run - RUN_BYTES - 1; 100]).has_room());
        assert!(!keeping(vec![per_run; 100]).has_room());
    }
}
