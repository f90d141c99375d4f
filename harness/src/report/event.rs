//! The run's events, in the order they happen: the runner alone emits them, and every output of
//! the harness (libtest's console in its format, the JUnit file, the status line, the slow
//! notice, the notes after the run) is a [`Sink`] of them.

use std::time::{Duration, Instant};

use crate::sys::Signal;

use super::failure_text::FailureReport;
use super::memory::Captured;
use super::test_name::TestName;
use crate::outcome::LeakTally;
use crate::outcome::{CapturedStream, Escapee};
use crate::registry::TestCase;
use crate::symbols::Frame;
use crate::verdict::{Failure, Note};

/// One thing that happened in the run.
pub(crate) enum Event<'a> {
    /// The selection is known: `running N tests`.
    RunStarted(&'a RunStart),
    /// A test starts (libtest's pretty format opens its line at one test thread).
    TestStarted(TestName<'a>),
    /// While children run, every [`Sink::tick_every`]: the running tests, each with when it
    /// started.
    Tick(&'a [(&'static TestCase, Instant)]),
    /// A test has been running for longer than the run's `slow_after`; `at` is where its thread
    /// is, innermost first.
    Slow {
        case: &'static TestCase,
        at: &'a [Frame],
    },
    /// A child ended and left something behind.
    ChildLeft(LeftBehind<'a>),
    /// A run of a test failed and the test runs again, as its `retries` allow (why each run
    /// failed is in its result, when it passes).
    Retrying(TestName<'a>),
    /// A test's verdict, with its evidence.
    TestFinished(TestName<'a>, &'a TestResult),
    /// A signal from outside stopped the run; its children are dead.
    Interrupted(&'a Interruption),
    /// Every test the run reports finished.
    RunFinished(&'a RunEnd),
}

/// What is known when the run starts.
pub(crate) struct RunStart {
    pub(crate) total: usize,
    pub(crate) filtered_out: usize,
    pub(crate) shuffle_seed: Option<u64>,
    /// Every selected test that is reported as ignored, without running.
    pub(crate) ignored: Vec<String>,
}

/// What a finished child left: processes it said it left, processes that escaped a test's
/// process group (killed since), and the stderr it captured only to be checked.
pub(crate) struct LeftBehind<'a> {
    pub(crate) case: &'static TestCase,
    pub(crate) descendants: &'a [i32],
    pub(crate) escapees: Vec<Escapee>,
    pub(crate) checked_stderr: &'a CapturedStream,
}

/// A test's verdict, its time over every run, and what its last run printed and used.
pub(crate) struct TestResult {
    pub(crate) end: TestEnd,
    pub(crate) time: Duration,
    pub(crate) captured: Captured,
}

/// How a test ended.
pub(crate) enum TestEnd {
    Passed(Passed),
    Failed(Box<FailureReport>),
    /// Not run: ignored, and not asked to run ignored tests.
    Ignored,
}

impl TestResult {
    /// An ignored test's, which did not run.
    pub(crate) fn ignored() -> Self {
        Self {
            end: TestEnd::Ignored,
            time: Duration::ZERO,
            captured: Captured::default(),
        }
    }

    /// Whether the run counts it as failed: its verdict, or its time under `--ensure-time`.
    pub(crate) fn failed(&self) -> bool {
        match &self.end {
            TestEnd::Failed(_) => true,
            TestEnd::Passed(passed) => passed.over_time_limit,
            TestEnd::Ignored => false,
        }
    }
}

/// What a passing test's runs left to say.
pub(crate) struct Passed {
    pub(crate) note: Option<Note>,
    /// What it left still reachable, where a tracked run told.
    pub(crate) still_reachable: Option<LeakTally>,
    /// Why each earlier run failed, before the one that passed.
    pub(crate) earlier_failures: Vec<Failure>,
    /// How many runs it was allowed.
    pub(crate) attempts: usize,
    /// `--ensure-time`: it passed, but over its critical time, which libtest counts as failed.
    pub(crate) over_time_limit: bool,
}

/// How an interrupted run ended.
pub(crate) struct Interruption {
    pub(crate) signal: Signal,
    /// Ignored tests before the one interrupted.
    pub(crate) ignored: usize,
    /// Tests not finished, the interrupted one among them.
    pub(crate) unfinished: usize,
    /// Processes that escaped a test's process group, killed with the run's children.
    pub(crate) escapees: Vec<Escapee>,
    pub(crate) elapsed: Duration,
}

/// How the run ended, when it ran to its end.
pub(crate) struct RunEnd {
    /// Processes that escaped a test's process group, killed as the run shut down.
    pub(crate) escapees: Vec<Escapee>,
    pub(crate) elapsed: Duration,
}

/// An output of the run, fed its events in order.
pub(crate) trait Sink {
    fn event(&mut self, event: &Event<'_>);

    /// How often this sink wants [`Event::Tick`] while children run; `None` for never.
    fn tick_every(&self) -> Option<Duration> {
        None
    }

    /// Whether it shows what a passing test printed. A failing test's output is shown anyway;
    /// a panic's backtrace in it is named only where it is shown.
    fn shows_passing_output(&self) -> bool {
        false
    }
}
