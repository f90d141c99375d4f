//! What the harness learned about one finished child: plain data, made by the child and the
//! supervisor and read by the verdict and the report. The result channel (`wire`) carries it;
//! nothing here knows how.

mod body;
mod capture;
mod clues;
mod heap;
mod leaks;
mod left;

use std::time::Duration;

pub(crate) use body::{ChildReport, PanicLocation, PanicRecord, ProtocolError};
pub(crate) use capture::CapturedStream;
pub(crate) use clues::{Clues, MemoryLimitHit, Mishaps};
pub(crate) use heap::HeapDelta;
pub(crate) use leaks::{LeakSite, LeakTally, RecordedSite, TrackedLeaks};
pub(crate) use left::{LeftDescriptors, Leftovers};

/// The exit status of a child that could not send its report because the test closed or replaced
/// the result channel; [`CHANNEL_LOST_LINE`] is then the last line on its stderr, which tells it
/// from a test that exits with the same status.
pub(crate) const EXIT_CHANNEL_LOST: i32 = 199;
pub(crate) const CHANNEL_LOST_LINE: &str =
    "isolated-test: the test closed or replaced its result channel; no result was sent\n";

/// Everything the harness learned about one finished child.
#[derive(Debug)]
pub(crate) struct ChildOutcome {
    pub(crate) report: Result<ChildReport, ProtocolError>,
    /// What the child said besides its report (panics, failed allocations, what it left).
    pub(crate) clues: Clues,
    pub(crate) end: ChildEnd,
    /// The signal the test's process group sent to the harness itself.
    pub(crate) signalled_harness: Option<SignalNumber>,
    /// The timeout the child ran past, when the harness killed it for that.
    pub(crate) timed_out: Option<TimedOut>,
    /// From the fork to the reap.
    pub(crate) duration: Duration,
    /// What the child used, as the kernel counted it.
    pub(crate) usage: Option<Usage>,
    pub(crate) stdout: CapturedStream,
    pub(crate) stderr: CapturedStream,
}

/// How the child process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChildEnd {
    Exited(i32),
    /// Never on Windows, where no process ends by a signal: a crash ends it with the exception's
    /// status (an [`Exited`](Self::Exited)).
    #[cfg_attr(windows, allow(dead_code))]
    Signaled {
        signal: SignalNumber,
        core_dumped: bool,
    },
    /// It could not be reaped: not the harness's child any more, or stuck in the kernel past
    /// the reap's limit.
    NotReaped,
}

/// A signal's number, as the kernel reports it: real-time signals have no name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SignalNumber(pub(crate) i32);

impl SignalNumber {
    /// `SIGSEGV`, where the signal has a name.
    pub(crate) fn name(self) -> Option<&'static str> {
        #[cfg(unix)]
        return nix::sys::signal::Signal::try_from(self.0)
            .ok()
            .map(|signal| signal.as_str());
        // The C runtime's numbers: no process ends by a signal there, but a test may name one.
        #[cfg(windows)]
        return match self.0 {
            libc::SIGINT => Some("SIGINT"),
            libc::SIGILL => Some("SIGILL"),
            libc::SIGFPE => Some("SIGFPE"),
            libc::SIGSEGV => Some("SIGSEGV"),
            libc::SIGTERM => Some("SIGTERM"),
            libc::SIGABRT => Some("SIGABRT"),
            _ => None,
        };
    }
}

/// A child the harness killed at its timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimedOut {
    pub(crate) after: Duration,
    /// The signal that had stopped it (`SIGSTOP`, `SIGTSTP`), if it was stopped at the deadline.
    pub(crate) stopped_by: Option<SignalNumber>,
}

/// A finished child's resource usage (`getrusage` of the child, from `wait4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) max_rss_bytes: u64,
    pub(crate) user: Duration,
    pub(crate) system: Duration,
}

/// A process a test left running outside its process group; killed when found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Escapee {
    pub(crate) pid: i32,
    /// The kernel's name for it (`/proc/PID/comm`: at most 15 bytes).
    pub(crate) command: String,
}

/// Why the process a test was to be forked from, after its setup ran, could not give one: the
/// test fails without running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SetupFailure {
    /// The setup's path as written: `warm_up`.
    pub(crate) setup: &'static str,
    pub(crate) why: SetupFailed,
    /// Whether this is the first test to fail for it: only that one says all of it.
    pub(crate) first: bool,
}

/// How a setup failed. Only a zygote's setup fails apart from a test: on Windows, where a
/// test's setup runs in its own child, none is made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(windows, allow(dead_code))]
pub(crate) enum SetupFailed {
    Panicked {
        /// `src/lib.rs:3:5`, where the panic said.
        location: Option<String>,
        message: Option<String>,
    },
    /// It returned with threads of its own still running: forking from there is unsafe.
    LeftThreads(usize),
    /// It ran past `ISOLATED_TEST_SETUP_TIMEOUT`.
    TimedOut(Duration),
    /// Its process ended, with this wait status, without saying how the setup went; or later,
    /// while tests were being forked from it.
    Died(ChildEnd),
    /// Its process could not be started or spoken to.
    NotStarted(String),
}
