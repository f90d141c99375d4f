//! A child the supervisor watches: its pipes and what came through them, its deadline, and where
//! it stands with its timeout and its notice.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::unistd;

use super::launch::ChildProcess;
use super::signals::GroupSlot;
use super::slow_notice::Notice;
use crate::outcome::{CapturedStream, SignalNumber, TimedOut};
use crate::registry::TestCase;
use crate::sys::close;
use crate::wire;

/// How many times its timeout a run that is excused its waits for a processor may take.
const MAX_EXCUSED: u32 = 4;

pub(super) struct RunningChild {
    pub(super) key: usize,
    /// Its test: named only if it runs long enough for a notice.
    pub(super) case: &'static TestCase,
    /// Where it stands with libtest's "has been running for over" notice.
    pub(super) notice: Notice,
    pub(super) process: ChildProcess,
    pub(super) token: u64,
    /// It writes to the harness's own stdout or stderr: they are made blocking again after it.
    pub(super) shares_harness_output: bool,
    pub(super) stdout: Option<OwnedFd>,
    pub(super) stderr: Option<OwnedFd>,
    pub(super) result: Option<OwnedFd>,
    pub(super) captured_stdout: CapturedStream,
    pub(super) captured_stderr: CapturedStream,
    pub(super) result_bytes: Vec<u8>,
    pub(super) started: Instant,
    pub(super) timeout: Option<Duration>,
    /// Its deadline moves back by the time it waited for a processor (see [`Watch`]).
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

/// One of a child's pipes.
#[derive(Clone, Copy)]
pub(super) enum Stream {
    Stdout,
    Stderr,
    Result,
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

    pub(super) fn pipe(&mut self, stream: Stream) -> &mut Option<OwnedFd> {
        match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
            Stream::Result => &mut self.result,
        }
    }

    pub(super) fn close(&mut self, stream: Stream) {
        if let Some(fd) = self.pipe(stream).take() {
            close(fd);
            if self.open_pipes().next().is_none() {
                self.group.said_all();
            }
        }
    }

    pub(super) fn keep(&mut self, stream: Stream, bytes: &[u8]) {
        match stream {
            Stream::Stdout => self.captured_stdout.push(bytes),
            Stream::Stderr => self.captured_stderr.push(bytes),
            Stream::Result => {
                // Never more than the channel's limit and a byte: enough to tell it was exceeded.
                let room = (wire::MAX_CHANNEL_BYTES + 1).saturating_sub(self.result_bytes.len());
                self.result_bytes
                    .extend_from_slice(&bytes[..bytes.len().min(room)]);
            }
        }
    }

    /// Reads what `stream` holds now, up to `max_reads` chunks; closes it at end of file.
    pub(super) fn drain(&mut self, stream: Stream, buffer: &mut [u8], max_reads: usize) {
        for _ in 0..max_reads {
            let Some(fd) = self.pipe(stream).as_ref() else {
                return;
            };
            match unistd::read(fd, buffer) {
                Ok(0) => {
                    self.close(stream);
                    return;
                }
                Ok(n) => {
                    self.keep(stream, &buffer[..n]);
                    if n < buffer.len() {
                        // A pipe hands over all it holds: it is empty now, and another read
                        // would only say so.
                        return;
                    }
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return,
                Err(_) => {
                    self.close(stream);
                    return;
                }
            }
        }
    }

    pub(super) fn open_pipes(&self) -> impl Iterator<Item = (Stream, RawFd)> + '_ {
        [
            (Stream::Stdout, &self.stdout),
            (Stream::Stderr, &self.stderr),
            (Stream::Result, &self.result),
        ]
        .into_iter()
        .filter_map(|(stream, fd)| fd.as_ref().map(|fd| (stream, fd.as_raw_fd())))
    }
}
