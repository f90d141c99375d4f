//! Windows: the harness has no signal handler there. Ctrl-C (or Ctrl-Break, or the console
//! closing) reaches the harness and every child alike, all in one console: each ends, and the
//! system kills whatever a child started with its Job Object once the harness's handles close.
//! So nothing outlives the run, though an interrupted run says no summary there. A child never
//! sends the harness a signal it would have to hold against a test.

use std::io;
use std::time::Duration;

use crate::outcome::SignalNumber;
use crate::sys::windows::pipe_reader;
use crate::sys::Signal;

/// The most children that run at once, whatever `--test-threads` asks.
pub(crate) const MAX_CHILDREN: usize = 1024;

/// What wakes the supervisor: the readers' and the children's news
/// ([`pipe_reader`](crate::sys::windows::pipe_reader)), with how much of it was seen.
pub(crate) struct WakePipe {
    seen: u64,
}

impl WakePipe {
    /// Sleeps until news not seen yet, or `timeout`; returns whether there was news.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> bool {
        pipe_reader::wait_for_news(&mut self.seen, timeout)
    }
}

/// Nothing to hold back while a child starts: no handler runs.
pub(crate) struct TerminationBlocked;

impl TerminationBlocked {
    pub(crate) fn new() -> Self {
        Self
    }
}

/// Never: the run ends with the harness on Ctrl-C.
pub(crate) fn interrupted() -> Option<Signal> {
    None
}

/// Never: Windows stops no process by a signal.
pub(crate) fn take_paused() -> Duration {
    Duration::ZERO
}

pub(crate) fn install() -> io::Result<WakePipe> {
    Ok(WakePipe { seen: 0 })
}

/// Nothing to note: Windows has no ignored signals to keep.
pub(crate) fn note_ignored_at_start() {}

/// A closed stdout ends a write with an error there, not a signal: nothing to set.
pub(crate) fn end_quietly_on_broken_pipe() {}

/// A child's place among the running ones: no signal is ever held against it here.
pub(crate) struct GroupSlot;

impl GroupSlot {
    pub(crate) fn reserve() -> Self {
        Self
    }

    pub(crate) fn set_group(&self, _group: i32) {}

    pub(crate) fn signal_sent_to_harness(&self) -> Option<SignalNumber> {
        None
    }

    pub(crate) fn said_all(&self) {}

    pub(crate) fn cut_short(&self) -> bool {
        false
    }
}
