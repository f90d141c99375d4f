//! One trial: run test `index` (again after a failure, as often as its `retries` allow, and once
//! more tracking its allocations where the verdict asks), take its verdict, and return its
//! result; what happens on the way (a child left something behind, a run failed and is retried)
//! goes out as events. Each run comes with the verdict's first look at it; the trial only
//! completes that verdict with the tracked run it asked for, never judges a run again.

use std::time::{Duration, Instant};

use crate::sys::Signal;

use super::scheduler::{RunError, Scheduler};
use crate::outcome::{ChildOutcome, ChildReport, HeapDelta};
use crate::parent::launch::StartError;
use crate::report::TestName;
use crate::report::{
    Captured, Event, FailureReport, Interruption, LeftBehind, MemoryFigures, Passed, Reporter,
    RunEnd, TestEnd, TestResult,
};
use crate::verdict::{self, Death, Failure, Judgement, LeakSiteSearch};
use crate::verdict::{Provisional, SearchFailure, TrackingPlan, Verdict};

/// A signal from outside stopped the run.
#[derive(Clone, Copy, Debug)]
pub(super) struct Interrupted(pub(super) Signal);

/// The run in progress, driven from the main thread only: every fork happens there.
pub(super) struct Run {
    scheduler: Scheduler,
    /// Where the run's events go.
    reporter: Reporter,
    started: Instant,
    /// `--ensure-time`: a passing test that took this long or longer fails.
    critical_time: Option<Duration>,
    /// Per selected test, in the order they are reported (the scheduler's indices): whether it
    /// runs (an ignored one does not, unless asked).
    runs: Vec<bool>,
    /// The setups whose failure has been said in full, under the first test that needed them.
    setups_said: Vec<&'static str>,
    /// How the process of the test that failed last died on its own, if it did.
    last_death: Option<Death>,
}

/// One run of a test and what was made of it.
struct Judged {
    outcome: ChildOutcome,
    verdict: Verdict,
    heap: Option<HeapDelta>,
    leak_sites: Option<LeakSiteSearch>,
}

impl Run {
    pub(super) fn new(
        scheduler: Scheduler,
        reporter: Reporter,
        runs: Vec<bool>,
        critical_time: Option<Duration>,
    ) -> Self {
        Self {
            setups_said: Vec::new(),
            last_death: None,
            started: Instant::now(),
            critical_time,
            scheduler,
            reporter,
            runs,
        }
    }

    /// Hands `event` to every output.
    pub(super) fn emit(&mut self, event: &Event<'_>) {
        self.reporter.emit(event);
    }

    /// The selected tests that are reported as ignored, without running.
    pub(super) fn ignored_names(&self) -> Vec<String> {
        (self.runs.iter().enumerate())
            .filter(|(_, &runs)| !runs)
            .map(|(index, _)| self.scheduler.test(index).name())
            .collect()
    }

    /// Ends the run: every child killed and reaped, then the run's end told.
    pub(super) fn finish(mut self) {
        let escapees = self.scheduler.shut_down();
        let end = RunEnd {
            escapees,
            elapsed: self.started.elapsed(),
        };
        self.reporter.emit(&Event::RunFinished(&end));
    }

    /// A signal from outside stopped the run while the selection's `position`th test was
    /// running: its children are killed, and what finished is told.
    pub(super) fn interrupt(mut self, Interrupted(signal): Interrupted, position: usize) {
        let escapees = self.scheduler.kill_all();
        let interruption = Interruption {
            signal,
            ignored: self.runs[..position].iter().filter(|&&runs| !runs).count(),
            unfinished: self.runs[position..].iter().filter(|&&runs| runs).count(),
            escapees,
            elapsed: self.started.elapsed(),
        };
        self.reporter.emit(&Event::Interrupted(&interruption));
    }

    /// Runs `test`, the selection's `index`th (again after a failure, as often as its `retries`
    /// allow), and returns its result.
    pub(super) fn run_test(
        &mut self,
        index: usize,
        test: TestName<'_>,
    ) -> Result<TestResult, Interrupted> {
        let retries = self.scheduler.test(index).retries as usize;
        let mut earlier_failures = Vec::new();
        let mut time = Duration::ZERO;
        let mut next = self.scheduler.outcome_of(index, &mut self.reporter);
        loop {
            let (outcome, judgement) = match next {
                Ok(finished) => finished,
                Err(RunError::NotStarted(error)) => {
                    let failure = self.not_started(error);
                    return Ok(self.fail(index, failure, None, time));
                }
                Err(RunError::Interrupted(signal)) => return Err(Interrupted(signal)),
            };
            time += outcome.duration;
            let mut judged = self.verdict_on(index, outcome, judgement)?;
            match judged.verdict.clone() {
                Verdict::Fail(failure) if earlier_failures.len() < retries => {
                    self.reporter.emit(&Event::Retrying(test));
                    earlier_failures.push(failure);
                    next = self.scheduler.retry(index, &mut self.reporter);
                }
                Verdict::Fail(failure) => {
                    return Ok(self.fail(index, failure, Some(judged), time));
                }
                Verdict::Pass(note) => {
                    let still_reachable = match &judged.leak_sites {
                        Some(LeakSiteSearch::Found { leaks, .. }) => Some(leaks.reachable.clone()),
                        _ => None,
                    };
                    let passed = Passed {
                        note,
                        still_reachable,
                        earlier_failures,
                        attempts: 1 + retries,
                        over_time_limit: self.critical_time.is_some_and(|limit| time >= limit),
                    };
                    if self.reporter.shows_passing_output() {
                        self.scheduler
                            .name_panic_backtraces(&mut judged.outcome.stderr);
                    }
                    return Ok(TestResult {
                        end: TestEnd::Passed(passed),
                        time,
                        captured: captured(&mut judged),
                    });
                }
            }
        }
    }

    /// The verdict on one run of test `index`, given the verdict's first look at it. A run whose
    /// heap grew past its leak limit (or that left descriptors open) runs once more, tracking its
    /// allocations, where the first look asks: unless the test is strict about leaks, only the
    /// blocks that nothing reaches any more then count.
    fn verdict_on(
        &mut self,
        index: usize,
        mut outcome: ChildOutcome,
        judgement: Judgement,
    ) -> Result<Judged, Interrupted> {
        self.take_clues(index, &outcome);
        let heap = match &outcome.report {
            Ok(ChildReport::Returned { heap }) => *heap,
            _ => None,
        };
        let (verdict, leak_sites) = match judgement {
            Judgement::Final(verdict) => (verdict, None),
            Judgement::NeedsTrackedRun(plan, provisional) => match self.tracked_run(index, plan)? {
                Ok(mut tracked) => self.with_tracked_run(index, provisional, Ok(&mut tracked)),
                Err(failure) => self.with_tracked_run(index, provisional, Err(failure)),
            },
            Judgement::TrackedItself(provisional) => {
                self.with_tracked_run(index, provisional, Ok(&mut outcome))
            }
        };
        Ok(Judged {
            outcome,
            verdict,
            heap,
            leak_sites,
        })
    }

    /// The verdict on test `index`, `provisional` until `tracked`, the run that tracked its
    /// allocations (or why it could not be had), told which blocks are lost; and what it found.
    fn with_tracked_run(
        &mut self,
        index: usize,
        provisional: Provisional,
        tracked: Result<&mut ChildOutcome, SearchFailure>,
    ) -> (Verdict, Option<LeakSiteSearch>) {
        let expect = self.scheduler.test(index).expect;
        let scheduler = &mut self.scheduler;
        let (verdict, search) =
            verdict::with_tracked_run(provisional, tracked, &expect, |recorded| {
                scheduler.name_sites(recorded)
            });
        (verdict, Some(search))
    }

    /// The run of test `index` that tracks its allocations as `plan` says (with their call
    /// stacks, unless `ISOLATED_TEST_LEAK_SITES=0`), or why it could not be had.
    fn tracked_run(
        &mut self,
        index: usize,
        plan: TrackingPlan,
    ) -> Result<Result<ChildOutcome, SearchFailure>, Interrupted> {
        match self.scheduler.tracked(index, plan, &mut self.reporter) {
            Ok(outcome) => {
                self.take_clues(index, &outcome);
                Ok(Ok(outcome))
            }
            Err(RunError::Interrupted(signal)) => Err(Interrupted(signal)),
            Err(RunError::NotStarted(StartError::Spawn(error))) => {
                Ok(Err(SearchFailure::NotStarted(error.to_string())))
            }
            Err(RunError::NotStarted(error)) => {
                Ok(Err(SearchFailure::Failed(self.not_started(error))))
            }
        }
    }

    /// What a finished child said beyond its verdict: processes it left, stderr to pass through.
    fn take_clues(&mut self, index: usize, outcome: &ChildOutcome) {
        let left = LeftBehind {
            case: self.scheduler.test(index).case,
            descendants: &outcome.clues.left.descendants,
            escapees: self.scheduler.take_escapees(),
            checked_stderr: &outcome.stderr,
        };
        self.reporter.emit(&Event::ChildLeft(left));
    }

    /// How the process of the test that failed last died on its own (a signal, an early exit),
    /// if it did: a run of one test ends the same way.
    pub(super) fn last_death(&self) -> Option<Death> {
        self.last_death
    }

    /// Test `index`'s failure, with what backs it.
    fn fail(
        &mut self,
        index: usize,
        failure: Failure,
        judged: Option<Judged>,
        time: Duration,
    ) -> TestResult {
        self.last_death = failure.death();
        let test = self.scheduler.test(index);
        let (case, strict_leaks) = (test.case, test.expect.strict_leaks);
        let leak = failure.is_leak();
        let (stuck_at, leak_sites, captured) = match judged {
            Some(mut judged) => {
                // Where a test was stuck is its failure's evidence only at its timeout: a child
                // also says where it is for the notice that it runs long.
                let stuck_at = match failure {
                    Failure::TimedOut(_) => std::mem::take(&mut judged.outcome.clues.stuck_at),
                    _ => Vec::new(),
                };
                self.scheduler
                    .name_panic_backtraces(&mut judged.outcome.stderr);
                let captured = captured(&mut judged);
                // Where blocks came from is a leak's evidence; the run may have been made for
                // the descriptors a test left.
                (stuck_at, judged.leak_sites.filter(|_| leak), captured)
            }
            None => (Vec::new(), None, Captured::default()),
        };
        let report = FailureReport {
            failure,
            source: case.source,
            stuck_at: self.scheduler.stuck_frames(&stuck_at),
            leak_sites,
            strict_leaks,
        };
        TestResult {
            end: TestEnd::Failed(Box::new(report)),
            time,
            captured,
        }
    }

    /// The failure of a test whose child could not be had: a failed setup is said in full the
    /// first time only.
    fn not_started(&mut self, error: StartError) -> Failure {
        match error {
            StartError::Spawn(error) => Failure::NotStarted(error.to_string()),
            StartError::Setup(mut failure) => {
                failure.first = !self.setups_said.contains(&failure.setup);
                self.setups_said.push(failure.setup);
                Failure::Setup(failure)
            }
        }
    }
}

/// A judged run's captured output and memory figures, taken out of it.
fn captured(judged: &mut Judged) -> Captured {
    let still_reachable = match &judged.leak_sites {
        Some(LeakSiteSearch::Found { leaks, .. }) => Some(leaks.reachable.bytes),
        _ => None,
    };
    Captured {
        memory: MemoryFigures {
            heap: judged.heap,
            usage: judged.outcome.usage,
            still_reachable,
            foreign_heap: judged.outcome.clues.foreign_heap,
        },
        stdout: std::mem::take(&mut judged.outcome.stdout),
        stderr: std::mem::take(&mut judged.outcome.stderr),
    }
}
