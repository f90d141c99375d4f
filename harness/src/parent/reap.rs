//! Reaping an ended child: how it ended and what it used, as the verdict reads them.

use std::time::Duration;

use nix::unistd::Pid;

use crate::outcome::{ChildEnd, SignalNumber, Usage};
use crate::sys;

/// Reaps `pid`, which has exited or been sent SIGKILL: how it ended and what it used.
pub(super) fn reap(pid: Pid) -> (ChildEnd, Option<Usage>) {
    let Some((status, usage)) = sys::reap::reap(pid) else {
        return (ChildEnd::NotReaped, None);
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
    (end, Some(usage))
}
