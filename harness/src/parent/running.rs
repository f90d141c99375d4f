//! A child the supervisor watches: its process and pipes, its deadline, and where it stands with
//! its timeout and its notice.

use std::time::{Duration, Instant};

use super::launch::{ChildProcess, ReadEnd};
#[cfg(unix)]
use super::output_rest::OutputRests;
use super::signals::GroupSlot;
use super::slow_notice::Notice;
use super::streams::{ChildStreams, Stream};
use crate::outcome::{SignalNumber, TimedOut};
use crate::registry::TestCase;

/// Which run a child is, by which its outcome comes back: a test's own run, or the run that
/// tracks its allocations; each holds the test's place in the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunKey {
    Test(usize),
    Tracked(usize),
}

impl RunKey {
    /// The test's place in the plan, whichever run this is.
    pub(crate) fn test(self) -> usize {
        match self {
            RunKey::Test(index) | RunKey::Tracked(index) => index,
        }
    }
}

/// How many times its timeout a run that is excused its waits for a processor may take.
const MAX_EXCUSED: u32 = 4;

pub(super) struct RunningChild {
    pub(super) key: RunKey,
    /// Its test: named only if it runs long enough for a notice.
    pub(super) case: &'static TestCase,
    /// Where it stands with libtest's "has been running for over" notice.
    pub(super) notice: Notice,
    pub(super) process: ChildProcess,
    pub(super) token: u64,
    /// It writes to the harness's own stdout or stderr: they are made blocking again after it.
    pub(super) shares_harness_output: bool,
    pub(super) streams: ChildStreams,
    /// Until when its captured streams are left out of the poll.
    #[cfg(unix)]
    pub(super) rests: OutputRests,
    pub(super) started: Instant,
    pub(super) timeout: Option<Duration>,
    /// Its deadline moves back by the time it waited for a processor (where the supervisor's
    /// `Watch` asks for it).
    pub(super) excuse_cpu_wait: bool,
    pub(super) timeout_state: TimeoutState,
    pub(super) group: GroupSlot,
}

/// Where a child stands with its timeout.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum TimeoutState {
    Running,
    /// Past its deadline and asked where it is, at `at`, when its result channel held
    /// `result_bytes`.
    Asked {
        at: Instant,
        result_bytes: usize,
    },
    /// Killed; `stopped_by` is the signal that had stopped it at its deadline, if one had.
    Killed {
        stopped_by: Option<SignalNumber>,
    },
}

impl RunningChild {
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.timeout.map(|timeout| self.started + timeout)
    }

    /// When a child past `deadline` is to be killed, if its waits for a processor are excused
    /// and it waited: `deadline` pushed back by its longest-waiting thread's waits, within
    /// [`MAX_EXCUSED`] times its timeout.
    pub(super) fn excused_until(&self, deadline: Instant) -> Option<Instant> {
        let timeout = self.timeout.filter(|_| self.excuse_cpu_wait)?;
        let waited = self.process.longest_cpu_wait()?;
        Some((deadline + waited).min(self.started + timeout * MAX_EXCUSED))
    }

    /// The run was stopped (Ctrl-Z) for `paused`, and this child with it: that time counts
    /// neither against its timeout nor in its time.
    pub(super) fn resumed_after(&mut self, paused: Duration) {
        self.started += paused;
        if let TimeoutState::Asked { at, .. } = &mut self.timeout_state {
            *at += paused;
        }
        if let Notice::AskedWhere { at, .. } = &mut self.notice {
            *at += paused;
        }
    }

    pub(super) fn kill_for_timeout(&mut self, stopped_by: Option<SignalNumber>) {
        self.timeout_state = TimeoutState::Killed { stopped_by };
        self.process.kill_tree();
    }

    /// What the verdict needs of a timeout, if the child was killed for one.
    pub(super) fn timed_out(&self) -> Option<TimedOut> {
        let after = self.timeout?;
        match self.timeout_state {
            TimeoutState::Running => None,
            TimeoutState::Asked { .. } => Some(TimedOut {
                after,
                stopped_by: None,
            }),
            TimeoutState::Killed { stopped_by } => Some(TimedOut { after, stopped_by }),
        }
    }

    /// Closes `stream`; the child has said all it will once every pipe is closed.
    #[cfg(unix)]
    pub(super) fn close(&mut self, stream: Stream) {
        self.streams.close(stream);
        self.note_if_said_all();
    }

    /// Reads what `stream` holds now, up to `max_reads` chunks; closes it at end of file.
    pub(super) fn drain(&mut self, stream: Stream, buffer: &mut [u8], max_reads: usize) {
        let _taken = self.streams.drain(stream, buffer, max_reads);
        #[cfg(unix)]
        self.rests.drained(stream, _taken, Instant::now());
        self.note_if_said_all();
    }

    /// Tells the signal handlers once every pipe is closed: an interruption leaves a child that
    /// has said all it will to the main loop. Once its result channel is closed, its output is
    /// watched without rest: it is about to close that too.
    fn note_if_said_all(&mut self) {
        #[cfg(unix)]
        if !self.streams.is_open(Stream::Result) {
            self.rests.end_all();
        }
        if self.streams.all_closed() {
            self.group.said_all();
        }
    }

    pub(super) fn open_pipes(&self) -> impl Iterator<Item = (Stream, &ReadEnd)> + '_ {
        self.streams.open_pipes()
    }

    /// Its open pipes that a poll made at `now` watches: all but the captured streams at rest.
    #[cfg(unix)]
    pub(super) fn watched_pipes(
        &self,
        now: Instant,
    ) -> impl Iterator<Item = (Stream, &ReadEnd)> + '_ {
        self.open_pipes()
            .filter(move |&(stream, _)| !self.rests.resting(stream, now))
    }
}
