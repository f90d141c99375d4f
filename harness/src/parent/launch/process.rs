//! A started child as the watcher holds it: its pid and process group, the kill of its whole
//! tree, and its reap into a typed end.

use std::time::Duration;

use nix::unistd::Pid;

use crate::outcome::{ChildEnd, SignalNumber, Usage};
use crate::sys;

/// A child process of this one that leads a process group of its own, not reaped yet. Every
/// backend on Unix hands the watcher one: it is how the watcher learns that the child ended,
/// kills it and whatever it started, and reaps it.
#[derive(Debug)]
pub(crate) struct ChildProcess {
    pid: Pid,
}

/// How a reaped child ended and what it used: the typed end every verdict, and every
/// [`Died`](crate::Died), is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reaped {
    pub(crate) end: ChildEnd,
    /// `None` where it could not be reaped.
    pub(crate) usage: Option<Usage>,
}

impl ChildProcess {
    /// Child `pid` of this process, which leads (or is about to lead: both sides call
    /// `setpgid`) its own process group.
    pub(crate) fn from_pid(pid: Pid) -> Self {
        Self { pid }
    }

    pub(crate) fn pid(&self) -> Pid {
        self.pid
    }

    /// Whether it has ended, its zombie left for [`reap`](Self::reap); also true for a pid that
    /// is not this process's child any more, which the reap says ([`ChildEnd::NotReaped`]).
    pub(crate) fn has_ended(&self) -> bool {
        // A thread of it that made the harness its tracer waits at each signal until let go.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        sys::reap::release_traced_in(self.pid);
        #[cfg(not(target_vendor = "apple"))]
        {
            use nix::errno::Errno;
            use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
            let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
            !matches!(
                waitid(Id::Pid(self.pid), flags),
                Ok(WaitStatus::StillAlive) | Err(Errno::EINTR)
            )
        }
        #[cfg(target_vendor = "apple")]
        sys::reap::has_ended_or_is_gone(self.pid)
    }

    /// Kills it and everything in its process group; by pid too, so that a test that moved
    /// itself into another group is still killed.
    pub(crate) fn kill_tree(&self) {
        sys::reap::kill_process_and_group(self.pid);
    }

    /// Kills what is left in its process group once it ended: while it is not reaped, the
    /// group's id cannot be reused, so this kill can only hit processes it left behind.
    pub(crate) fn kill_leftovers(&self) {
        sys::reap::kill_group(self.pid);
    }

    /// The signal that has stopped it (`SIGSTOP`, `SIGTSTP`), if it is stopped now.
    pub(crate) fn stopped_by(&self) -> Option<SignalNumber> {
        sys::reap::stopped_by(self.pid).map(SignalNumber)
    }

    /// The longest any of its threads has waited for a processor, where the kernel says.
    pub(crate) fn longest_cpu_wait(&self) -> Option<Duration> {
        sys::children::longest_cpu_wait(self.pid)
    }

    /// Reaps it, once it has ended or been sent SIGKILL: how it ended and what it used.
    pub(crate) fn reap(self) -> Reaped {
        let Some((status, usage)) = sys::reap::reap(self.pid) else {
            return Reaped {
                end: ChildEnd::NotReaped,
                usage: None,
            };
        };
        let time = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        let usage = Usage {
            // macOS counts it in bytes, the others in KiB.
            max_rss_bytes: (usage.ru_maxrss.max(0) as u64)
                * if cfg!(target_os = "macos") { 1 } else { 1024 },
            user: time(usage.ru_utime),
            system: time(usage.ru_stime),
        };
        let end = if libc::WIFSIGNALED(status) {
            ChildEnd::Signaled {
                signal: SignalNumber(libc::WTERMSIG(status)),
                core_dumped: libc::WCOREDUMP(status),
            }
        } else {
            ChildEnd::Exited(libc::WEXITSTATUS(status))
        };
        Reaped {
            end,
            usage: Some(usage),
        }
    }
}
