//! The caller's side of an isolated call: fork a child that runs the function, drain its result
//! channel and stderr, enforce the timeout, reap it, and say how it ended.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::unistd::{self, ForkResult, Pid};

use super::launch::{ChildProcess, Reaped};
use crate::outcome::{CapturedStream, ChildEnd, ChildReport};
use crate::sys::{self, close};
use crate::wire::{self, ChannelContents, MemoryLimitHit, PanicRecord};

/// How an isolated call's child ended.
pub(crate) struct CallEnd {
    pub(crate) contents: ChannelContents,
    pub(crate) end: ChildEnd,
    pub(crate) timed_out: bool,
    pub(crate) stderr: String,
}

impl CallEnd {
    /// The value the call returned, encoded, if it returned.
    pub(crate) fn value(&mut self) -> Option<Vec<u8>> {
        match (&self.contents.report, self.end) {
            (Ok(ChildReport::Returned { .. }), ChildEnd::Exited(0)) => {
                self.contents.clues.value.take()
            }
            _ => None,
        }
    }

    /// The panic that ended the call, if one did.
    pub(crate) fn panic(&self) -> Option<&PanicRecord> {
        match &self.contents.report {
            Ok(ChildReport::Panicked(record)) => Some(record),
            _ => self.contents.clues.first_panic.as_ref(),
        }
    }

    /// The allocation the memory limit refused, if one was.
    pub(crate) fn memory_limit(&self) -> Option<MemoryLimitHit> {
        self.contents.clues.memory_limit
    }
}

/// Why the call could not be made.
pub(crate) enum NotMade {
    /// This process has other threads: forking it could hang the child.
    Threads(usize),
    Io(std::io::Error),
}

/// Forks a child that runs `body` (returning its value encoded), and waits for it at most
/// `timeout`.
pub(crate) fn call(
    timeout: Option<Duration>,
    memory_limit: Option<u64>,
    body: &mut dyn FnMut() -> Result<Vec<u8>, String>,
) -> Result<CallEnd, NotMade> {
    // A test's child has its main thread parked for good, which holds no lock: as safe to fork as
    // a process of one thread.
    match sys::running_thread_count() {
        Some(threads) if threads > 1 => return Err(NotMade::Threads(threads)),
        _ => {}
    }
    let pipe =
        || unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).map_err(|e| NotMade::Io(e.into()));
    let (result_read, result_write) = pipe()?;
    let (stderr_read, stderr_write) = pipe()?;
    let token = std::process::id() as u64 ^ 0x5EED_15A7_0000_0000;
    let _ = std::io::Write::flush(&mut std::io::stdout());
    // SAFETY: this process has one thread but parked ones, checked above.
    match unsafe { sys::fork(None) }.map_err(|e| NotMade::Io(e.into()))? {
        ForkResult::Child => {
            close(result_read);
            close(stderr_read);
            let _ = unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
            sys::move_to(stderr_write, 2);
            sys::set_blocking(2);
            sys::set_blocking(result_write.as_raw_fd());
            let fd = result_write.as_raw_fd();
            std::mem::forget(result_write);
            crate::child::isolated_call::run_call(fd, token, memory_limit, body)
        }
        ForkResult::Parent { child } => {
            let _ = unistd::setpgid(child, child);
            close(result_write);
            close(stderr_write);
            let child = ChildProcess::from_pid(child);
            Ok(watch(child, token, result_read, stderr_read, timeout))
        }
    }
}

/// Reads the child's channel and stderr until it ends (or its time is up, when its group is
/// killed), then reaps it.
fn watch(
    child: ChildProcess,
    token: u64,
    result: OwnedFd,
    stderr: OwnedFd,
    timeout: Option<Duration>,
) -> CallEnd {
    let deadline = timeout.map(|timeout| Instant::now() + timeout);
    let (mut result_bytes, mut stderr_text) = (Vec::new(), CapturedStream::default());
    let mut timed_out = false;
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        let wait = deadline.map_or(Duration::from_millis(50), |deadline| {
            deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(50))
        });
        let mut fds = [
            sys::readable(result.as_raw_fd()),
            sys::readable(stderr.as_raw_fd()),
        ];
        sys::poll(&mut fds, Some(wait));
        drain(&result, &mut buffer, |bytes| {
            result_bytes.extend_from_slice(bytes)
        });
        drain(&stderr, &mut buffer, |bytes| stderr_text.push(bytes));
        if child.has_ended() {
            break;
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            timed_out = true;
            child.kill_tree();
            break;
        }
    }
    child.kill_leftovers();
    drain(&result, &mut buffer, |bytes| {
        result_bytes.extend_from_slice(bytes)
    });
    drain(&stderr, &mut buffer, |bytes| stderr_text.push(bytes));
    close(result);
    close(stderr);
    let Reaped { end, .. } = child.reap();
    CallEnd {
        contents: wire::decode(token, &result_bytes),
        end,
        timed_out,
        stderr: stderr_text.text(),
    }
}

/// Reads all `fd` holds now.
fn drain(fd: &OwnedFd, buffer: &mut [u8], mut keep: impl FnMut(&[u8])) {
    while let Ok(read @ 1..) = unistd::read(fd, buffer) {
        keep(&buffer[..read]);
    }
}
