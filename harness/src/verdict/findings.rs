//! What a verdict says: a pass (and what to note of it), or a failure and why.

use super::Ending;
use crate::outcome::TimedOut;
use crate::outcome::{LeftDescriptors, MemoryLimitHit, PanicRecord, SetupFailure, SignalNumber};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Passed; the note is said after the run.
    Pass(Option<Note>),
    Fail(Failure),
}

/// Something a passing test did that the user should still hear about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Note {
    /// `allow_leaks` let this leak pass.
    AllowedLeak { bytes: u64, blocks: u64 },
    /// No counting allocator is installed, so the leak check could not be done.
    LeakCheckUnavailable,
    /// The heap grew by this much, but not in a second run that tracked allocations: nothing to
    /// count.
    NotReproducible { bytes: u64, blocks: u64 },
    /// The heap grew by this much, but the second run could not tell lost blocks from still
    /// reachable ones (the scan did not run: always so but on Linux): not counted, never a
    /// false failure.
    LeakNotTold { bytes: u64, blocks: u64 },
    /// `allow_leaks` let these descriptors stay open.
    AllowedDescriptors(LeftDescriptors),
    /// It left these descriptors open, each held by what the body wrote (a registry, a static, a
    /// live thread): kept by state that outlives it, as still reachable memory is, no leak.
    HeldDescriptors(LeftDescriptors),
    /// It left these descriptors open, but a second run that tracked allocations left none: not
    /// reproducible, not counted.
    DescriptorsNotReproducible(LeftDescriptors),
    /// It left these descriptors open, but the second run could not tell whether what the body
    /// wrote holds them (the scan did not run: always so but on Linux): not counted, never a
    /// false failure.
    DescriptorsNotTold(LeftDescriptors),
    /// It returned while threads it started still ran.
    LeftThreads { threads: u32 },
}

/// Why a test failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Killed at its timeout.
    TimedOut(TimedOut),
    /// A process the test forked came back out of the body (`panicked`: by unwinding).
    ForkedCopyReturned { panicked: bool },
    /// The test's process group sent this signal to the harness.
    SignalledHarness(SignalNumber),
    /// A death test that ended otherwise.
    NotKilledBy {
        expected: SignalNumber,
        ending: Ending,
    },
    /// An exit test that ended otherwise.
    NotExitedWith { expected: i32, ending: Ending },
    /// Ended as expected, but its stderr does not match the test's regex.
    StderrMismatch { pattern: &'static str },
    /// The test's stderr regex does not compile.
    InvalidStderrRegex {
        pattern: &'static str,
        error: String,
    },
    /// An allocation over the memory limit was refused, and the child died of it.
    OverMemoryLimit(MemoryLimitHit),
    /// It ended in a way that is never a pass.
    Ended(Ending),
    /// It returned, but `should_panic` asked for a panic (with this text, if any).
    ShouldHavePanicked { expected: Option<&'static str> },
    /// It panicked without the text `should_panic` asked for.
    WrongPanic {
        panic: PanicRecord,
        expected: &'static str,
    },
    /// Its heap peaked above `max_peak`.
    PeakOverMax { peak: u64, max: u64 },
    /// It left more heap than its leak limit allows.
    Leaked { bytes: u64, blocks: u64, limit: u64 },
    /// It left descriptors open that were not open before its body.
    LeftDescriptors(LeftDescriptors),
    /// `strict_leaks`: it returned while threads it started still ran.
    LeftThreads { threads: u32 },
    /// Its child could not be started.
    NotStarted(String),
    /// Its setup failed: it never ran.
    Setup(SetupFailure),
}

impl Failure {
    /// Whether it failed for a leak: where the leaked blocks came from is worth finding out.
    pub(crate) fn is_leak(&self) -> bool {
        matches!(self, Failure::Leaked { .. })
    }

    /// How the test's process died, where it died on its own in a way libtest's process would
    /// have died too: by a signal, or exiting early with a status other than 0 (an early exit 0
    /// reads as a pass from outside, which it never is).
    pub(crate) fn death(&self) -> Option<Death> {
        let ending = match self {
            Failure::Ended(ending)
            | Failure::NotKilledBy { ending, .. }
            | Failure::NotExitedWith { ending, .. } => ending,
            _ => return None,
        };
        match *ending {
            Ending::Killed { signal, .. } => Some(Death::Signal(signal)),
            Ending::ExitedEarly { code, .. } if code != 0 => Some(Death::Exit(code)),
            _ => None,
        }
    }
}

/// How a test's process died on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Death {
    Signal(SignalNumber),
    Exit(i32),
}
