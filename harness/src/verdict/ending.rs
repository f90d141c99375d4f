//! How a child ended: its report and its exit read together.

use crate::outcome::{ChildEnd, ChildOutcome, ChildReport, MemoryLimitHit, Mishaps};
use crate::outcome::{PanicRecord, ProtocolError, SignalNumber};
use crate::outcome::{CHANNEL_LOST_LINE, EXIT_CHANNEL_LOST};

/// How a child ended, read from its report and its exit together: the one classification that
/// both a failure and the "but it ..." of a death test that ended otherwise are told from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// It finished the body and exited normally; the report says how the body ended.
    Reported(ChildReport),
    Killed {
        signal: SignalNumber,
        core_dumped: bool,
        last_words: Option<LastWords>,
    },
    ExitedAfterReport {
        code: i32,
    },
    /// The test closed or replaced its result channel.
    ChannelLost,
    /// It exited before the test finished.
    ExitedEarly {
        code: i32,
        last_words: Option<LastWords>,
    },
    /// What it sent is not a valid report.
    InvalidReport(ProtocolError),
    /// It could not be reaped: its end is unknown.
    NotReaped,
}

/// What a child that died was doing, when it said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LastWords {
    MemoryLimit(MemoryLimitHit),
    FailedAllocation(u64),
    Panicked(PanicRecord),
}

impl Ending {
    pub(crate) fn of(outcome: &ChildOutcome) -> Self {
        let last_words = last_words(&outcome.clues.mishaps);
        match (&outcome.report, outcome.end) {
            (
                _,
                ChildEnd::Signaled {
                    signal,
                    core_dumped,
                },
            ) => Ending::Killed {
                signal,
                core_dumped,
                last_words,
            },
            (_, ChildEnd::NotReaped) => Ending::NotReaped,
            (Ok(report), ChildEnd::Exited(0)) => Ending::Reported(report.clone()),
            (Ok(_), ChildEnd::Exited(code)) => Ending::ExitedAfterReport { code },
            _ if lost_channel(outcome) => Ending::ChannelLost,
            (Err(ProtocolError::NoReport), ChildEnd::Exited(code)) => {
                Ending::ExitedEarly { code, last_words }
            }
            (Err(error), _) => Ending::InvalidReport(error.clone()),
        }
    }
}

/// Whether the child exited as it does when the test closed or replaced its result channel.
pub(super) fn lost_channel(outcome: &ChildOutcome) -> bool {
    matches!(
        (&outcome.report, outcome.end),
        (
            Err(ProtocolError::NoReport),
            ChildEnd::Exited(EXIT_CHANNEL_LOST)
        )
    ) && outcome.stderr.ends_with(CHANNEL_LOST_LINE.as_bytes())
}

fn last_words(mishaps: &Mishaps) -> Option<LastWords> {
    if let Some(hit) = mishaps.memory_limit {
        return Some(LastWords::MemoryLimit(hit));
    }
    if let Some(size) = mishaps.failed_allocation {
        return Some(LastWords::FailedAllocation(size));
    }
    mishaps.first_panic.clone().map(LastWords::Panicked)
}
