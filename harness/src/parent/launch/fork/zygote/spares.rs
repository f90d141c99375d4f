//! The harness's side of a ready zygote: the children it has forked ahead (*spares*), each
//! waiting on a socket of its own for the test it will run.
//!
//! The harness hands a test straight to a spare it holds, then asks the zygote for the next one,
//! which is forked while the test runs: no fork, and no round trip to the zygote, lies between
//! one test and the next. A spare is a child of the harness (`CLONE_PARENT`) in the zygote's
//! process group until it is handed a test, so killing that group kills the spares too.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::unistd::{self, Pid};

use super::Fork;
use crate::parent::launch::fork::spawn::ForkContext;
use crate::parent::launch::pipes::ChildPipes;
use crate::parent::launch::{Launched, TestToStart};
use crate::registry::TestCase;
use crate::sys;
use crate::wire::{decode_value, encode_value};

/// How long the harness waits for a ready zygote's answer: it forks at once.
const ANSWER_LIMIT: Duration = Duration::from_secs(10);

/// What the harness sends a zygote for each spare it wants; any other datagram would do.
const SPARE_PLEASE: &[u8] = b"spare";

/// How many dead spares in a row the harness passes over before it gives the zygote up.
const SPARE_ATTEMPTS: usize = 3;

/// A child forked ahead by the zygote, and the harness's end of its socket.
struct Spare {
    pid: Pid,
    socket: OwnedFd,
}

/// A zygote whose setup has run.
pub(super) struct Running {
    pub(super) pid: Pid,
    control: OwnedFd,
    spares: VecDeque<Spare>,
    /// Spares asked for and not yet received.
    asked: usize,
    /// How many spares to keep ready or on their way: one per test running at once.
    ahead: usize,
}

/// Why no child could be had.
pub(super) enum Asked {
    Spawn(io::Error),
    /// The zygote did not answer: it died, or hangs.
    ZygoteLost,
}

impl Running {
    /// A zygote at `pid`, asked at `control`; asks at once for `ahead` spares.
    pub(super) fn new(pid: Pid, control: OwnedFd, ahead: usize) -> Self {
        let mut running = Self {
            pid,
            control,
            spares: VecDeque::new(),
            asked: 0,
            ahead: ahead.max(1),
        };
        // Should the zygote be gone already, the first test's `ask` says so.
        let _ = running.top_up();
        running
    }

    /// The harness's ends of the zygote's socket and its spares': no test's child may keep them.
    pub(super) fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        std::iter::once(self.control.as_raw_fd())
            .chain(self.spares.iter().map(|spare| spare.socket.as_raw_fd()))
    }

    /// Hands `test` to a spare, with fresh pipes; its pid is the test's child's.
    pub(super) fn ask(
        &mut self,
        context: &ForkContext,
        test: &TestToStart,
    ) -> Result<Launched, Asked> {
        let pipes = ChildPipes::new(context.capture, test.case).map_err(Asked::Spawn)?;
        let request = Fork {
            registered: test.registered,
            address: test.case as *const TestCase as usize,
            token: test.token,
            options: test.options,
            stdout: pipes.captures_stdout(),
            stderr: pipes.captures_stderr(),
        };
        let bytes = encode_value(&request).map_err(|why| Asked::Spawn(io::Error::other(why)))?;
        let fds: Vec<RawFd> = pipes.write_ends().collect();
        let mut attempts = 0;
        let pid = loop {
            let spare = self.next_spare()?;
            if sys::fd_passing::send_with_fds(&spare.socket, &bytes, &fds).is_ok() {
                break spare.pid;
            }
            // It died waiting (killed from outside): the next one takes the test.
            sys::reap::kill_and_reap(spare.pid);
            attempts += 1;
            if attempts == SPARE_ATTEMPTS {
                return Err(Asked::ZygoteLost);
            }
        };
        // Also set by the child itself; whichever runs first wins the race against a kill.
        let _ = unistd::setpgid(pid, pid);
        // The next spare is forked while this test runs; a zygote gone by now is found out at
        // the next test.
        let _ = self.top_up();
        Ok(pipes.parent_ends(pid))
    }

    /// Asks for spares until [`Self::ahead`] are held or on their way.
    fn top_up(&mut self) -> Result<(), Asked> {
        while self.spares.len() + self.asked < self.ahead {
            sys::fd_passing::send_with_fds(&self.control, SPARE_PLEASE, &[])
                .map_err(|_| Asked::ZygoteLost)?;
            self.asked += 1;
        }
        Ok(())
    }

    /// A spare held, or else the zygote's next answer (asking first if nothing is on its way).
    fn next_spare(&mut self) -> Result<Spare, Asked> {
        if let Some(spare) = self.spares.pop_front() {
            return Ok(spare);
        }
        if self.asked == 0 {
            self.top_up()?;
        }
        let (bytes, fds) = receive_within(&self.control, ANSWER_LIMIT).ok_or(Asked::ZygoteLost)?;
        self.asked -= 1;
        match decode_value::<Result<i32, String>>(&bytes) {
            Ok(Ok(pid)) => {
                let socket = fds.into_iter().next().ok_or(Asked::ZygoteLost)?;
                Ok(Spare {
                    pid: Pid::from_raw(pid),
                    socket,
                })
            }
            Ok(Err(why)) => Err(Asked::Spawn(io::Error::other(why))),
            Err(_) => Err(Asked::ZygoteLost),
        }
    }
}

/// One datagram from `control` within `limit`, with the descriptors that came with it; `None` if
/// none came, or the other end closed.
pub(super) fn receive_within(
    control: &OwnedFd,
    limit: Duration,
) -> Option<(Vec<u8>, Vec<OwnedFd>)> {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let mut fds = [sys::raw_io::readable(control.as_raw_fd())];
        match sys::raw_io::poll(&mut fds, Some(left)) {
            Some(0) => return None,
            Some(_) => break,
            None => continue,
        }
    }
    let (bytes, fds) = sys::fd_passing::receive_with_fds(control).ok()?;
    (!bytes.is_empty()).then_some((bytes, fds))
}
