//! Reaping a child that has exited or was just sent SIGKILL, never waiting forever: SIGKILL ends
//! any process not stuck in the kernel at once, and one that is must not hang the harness.

use std::time::{Duration, Instant};

use nix::errno::Errno;

/// The longest a reap waits.
pub(crate) const REAP_LIMIT: Duration = Duration::from_secs(5);

/// Waits for child `pid` (ended, or sent SIGKILL) and returns its wait status and resource
/// usage; `None` if it is not this process's child, or is still there after [`REAP_LIMIT`].
pub(crate) fn reap(pid: libc::pid_t) -> Option<(libc::c_int, libc::rusage)> {
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    let started = Instant::now();
    loop {
        // SAFETY: `wait4` writes the child's status and usage into our locals.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, usage.as_mut_ptr()) };
        if reaped == pid {
            // SAFETY: zeroed, then filled by the successful `wait4`.
            return Some((status, unsafe { usage.assume_init() }));
        }
        let still_there = reaped == 0 || Errno::last() == Errno::EINTR;
        if !still_there || started.elapsed() > REAP_LIMIT {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
