//! All the text the harness prints and the files it writes, made from the run's typed
//! [`Event`]s: each output is a [`Sink`] the [`Reporter`] hands every event to, in order.
//!
//! | sink | module | what it writes |
//! |---|---|---|
//! | libtest's console, one formatter per format | `console` | stdout (and `--logfile`) |
//! | the live status line | `status` | stderr, on a terminal |
//! | the slow notice | `slow_notice` | stderr |
//! | the JUnit file | `junit_file` (rendered by `junit`) | `ISOLATED_TEST_JUNIT` |
//! | the notes after the run | `after_run` | stdout, or stderr beside JSON or XML |
//!
//! What the sinks share: the failure's text (`failure_text`, `reasons`), what is said of a pass
//! (`pass_notes`), the memory figures (`memory`), a test's name as libtest says it (`test_name`).

mod after_run;
pub(crate) mod console;
mod event;
mod failure_text;
mod junit;
mod junit_file;
mod memory;
mod pass_notes;
pub(crate) mod reasons;
mod slow_notice;
mod status;
mod test_name;

use std::time::{Duration, Instant};

use ::console::style;

pub(crate) use after_run::AfterRun;
pub(crate) use event::{
    Event, Interruption, LeftBehind, Passed, RunEnd, RunStart, Sink, TestEnd, TestResult,
};
pub(crate) use failure_text::FailureReport;
pub(crate) use junit_file::JunitFile;
pub(crate) use memory::{Captured, MemoryFigures};
pub(crate) use slow_notice::SlowNotice;
pub(crate) use status::StatusLine;
pub(crate) use test_name::{TestKind, TestName, TimeLimits};

use crate::parent::supervisor::Progress;
use crate::registry::TestCase;
use crate::symbols::Frame;

/// Hands each event to every sink, in the order they were added.
pub(crate) struct Reporter {
    sinks: Vec<Box<dyn Sink>>,
}

impl Reporter {
    pub(crate) fn new(sinks: Vec<Box<dyn Sink>>) -> Self {
        Self { sinks }
    }

    pub(crate) fn emit(&mut self, event: &Event<'_>) {
        for sink in &mut self.sinks {
            sink.event(event);
        }
    }

    /// Whether any sink shows what a passing test printed.
    pub(crate) fn shows_passing_output(&self) -> bool {
        self.sinks.iter().any(|sink| sink.shows_passing_output())
    }
}

impl Progress for Reporter {
    fn tick_every(&self) -> Option<Duration> {
        self.sinks.iter().filter_map(|sink| sink.tick_every()).min()
    }

    fn tick(&mut self, running: &mut dyn Iterator<Item = (&'static TestCase, Instant)>) {
        let running: Vec<(&'static TestCase, Instant)> = running.collect();
        self.emit(&Event::Tick(&running));
    }

    fn slow(&mut self, case: &'static TestCase, at: &[Frame]) {
        self.emit(&Event::Slow { case, at });
    }
}

/// Why the harness could not run the tests: one `error:` line on stderr, and its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HarnessError {
    /// A flag libtest refuses too: libtest's line, uncoloured, and its exit code, 101.
    RefusedFlag(String),
    /// A mistake in how the harness was invoked or set up: exit code 2.
    Config(String),
}

impl HarnessError {
    /// Says the error on stderr and returns the exit code it ends the run with.
    pub(crate) fn report(&self) -> i32 {
        match self {
            HarnessError::RefusedFlag(message) => {
                eprintln!("error: {message}");
                101
            }
            HarnessError::Config(message) => {
                eprintln!("{} {message}", style("error:").red().bold());
                2
            }
        }
    }
}
