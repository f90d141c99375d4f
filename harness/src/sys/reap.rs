//! Killing and reaping children: SIGKILL to a child and its group, waiting for them with a time
//! limit, asking whether one has stopped or ended without reaping it. All of it allocates
//! nothing: the reaps run in a signal handler and while other threads are stopped. Kills go
//! through nix; the waits stay raw: a reap must return the child's resource usage (`wait4`, which
//! nix lacks), and nix's `waitpid` and `waitid` decode the status into its `Signal`, which fails
//! for a child a real-time signal ended.

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

/// The longest a reap waits: SIGKILL ends any process not stuck in the kernel at once, and one
/// that is must not hang the harness.
pub(crate) const REAP_LIMIT: Duration = Duration::from_secs(5);

/// Kills every process of the group `leader` leads. Allocates nothing.
pub(crate) fn kill_group(leader: Pid) {
    let _ = killpg(leader, Signal::SIGKILL);
}

/// Kills a process by its process group and by its pid: a test that moved itself into another
/// group (even the harness's) is still killed, and one still in its group takes the group's other
/// processes with it. Allocates nothing.
pub(crate) fn kill_process_and_group(pid: Pid) {
    let _ = killpg(pid, Signal::SIGKILL);
    let _ = kill(pid, Signal::SIGKILL);
}

/// Kills child `pid` (and its group) and reaps it.
pub(crate) fn kill_and_reap(pid: Pid) {
    kill_process_and_group(pid);
    reap(pid);
}

/// Reaps every child of this process in the group `leader` led, all sent SIGKILL: waits until
/// none is left, or [`REAP_LIMIT`] has passed.
pub(crate) fn reap_group(leader: Pid) {
    let deadline = Instant::now() + REAP_LIMIT;
    loop {
        let mut status = 0;
        // SAFETY: `waitpid` writes the status of one ended child of the group into our local.
        let reaped = unsafe { libc::waitpid(-leader.as_raw(), &mut status, libc::WNOHANG) };
        if reaped > 0 {
            continue;
        }
        let still_there = reaped == 0 || Errno::last() == Errno::EINTR;
        if !still_there || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits for child `pid` (ended, or sent SIGKILL) and returns its wait status and resource
/// usage; `None` if it is not this process's child, or is still there after [`REAP_LIMIT`].
pub(crate) fn reap(pid: Pid) -> Option<(libc::c_int, libc::rusage)> {
    reap_by(pid, Instant::now() + REAP_LIMIT)
}

/// [`reap`], giving up at `deadline`. Allocates nothing, and is async-signal-safe.
pub(crate) fn reap_by(pid: Pid, deadline: Instant) -> Option<(libc::c_int, libc::rusage)> {
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    loop {
        // SAFETY: `wait4` writes the child's status and usage into our locals.
        let reaped =
            unsafe { libc::wait4(pid.as_raw(), &mut status, libc::WNOHANG, usage.as_mut_ptr()) };
        if reaped == pid.as_raw() {
            // SAFETY: zeroed, then filled by the successful `wait4`.
            return Some((status, unsafe { usage.assume_init() }));
        }
        let still_there = reaped == 0 || Errno::last() == Errno::EINTR;
        if !still_there || Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The signal that has stopped child `pid`, if it is stopped now. Leaves the stop reportable.
pub(crate) fn stopped_by(pid: Pid) -> Option<i32> {
    let flags = libc::WSTOPPED | libc::WNOHANG | libc::WNOWAIT;
    let info = waitid(libc::P_PID, pid.as_raw() as libc::id_t, flags)?;
    // SAFETY: for a stopped child, `si_status` holds the signal that stopped it.
    (info.si_code == libc::CLD_STOPPED).then(|| unsafe { info.si_status() })
}

/// Lets go a thread of process group `group` (a test's child's) that made this process its
/// tracer (`PTRACE_TRACEME`) and waits in a ptrace stop (the harness traces nothing itself):
/// detached, it gets the signal it stopped on, as it would untraced, so an `abort` after it ends
/// its process by SIGABRT at once instead of waiting for its timeout. Looked for by the group's
/// traced threads, not taken from the SIGCHLD of the stop, which merges with other children's.
/// Allocates nothing.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn release_traced_in(group: Pid) {
    let flags = libc::WSTOPPED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL;
    let Some(info) = waitid(libc::P_PGID, group.as_raw() as libc::id_t, flags) else {
        return;
    };
    if info.si_code != libc::CLD_TRAPPED {
        return;
    }
    // SAFETY: for a trapped thread, `si_pid` is its id and `si_status` the signal it stopped
    // on; `PTRACE_DETACH` of a tracee of this process in a ptrace stop resumes it, given that
    // signal, traced no more.
    unsafe {
        libc::ptrace(
            libc::PTRACE_DETACH,
            info.si_pid(),
            std::ptr::null_mut::<libc::c_void>(),
            info.si_status() as usize as *mut libc::c_void,
        )
    };
}

/// Whether child `pid` has ended (and is not reaped yet); false for a process that is not an
/// unreaped child of this one. Allocates nothing, and is async-signal-safe.
pub(crate) fn has_ended(pid: Pid) -> bool {
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: `si_pid` is 0 in the zeroed siginfo unless `waitid` found the child ended.
    waitid(libc::P_PID, pid.as_raw() as libc::id_t, flags)
        .is_some_and(|info| unsafe { info.si_pid() } != 0)
}

/// As [`has_ended`], but also true for a pid that is no unreaped child of this process (the
/// `waitid` fails other than by `EINTR`): nix's `waitid`, which
/// [`ChildProcess::has_ended`](crate::parent::launch::ChildProcess::has_ended) uses elsewhere, is
/// not there on macOS. Allocates nothing.
#[cfg(target_vendor = "apple")]
pub(crate) fn has_ended_or_is_gone(pid: Pid) -> bool {
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
    // SAFETY: `waitid` writes a siginfo into our zeroed buffer; with WNOWAIT it leaves the child
    // as it is.
    if unsafe {
        libc::waitid(
            libc::P_PID,
            pid.as_raw() as libc::id_t,
            info.as_mut_ptr(),
            flags,
        )
    } != 0
    {
        return Errno::last() != Errno::EINTR;
    }
    // SAFETY: zeroed, then filled (or left zeroed: still running) by `waitid`.
    unsafe { info.assume_init().si_pid() != 0 }
}

/// Whether this process has any child, living or not yet reaped.
pub(crate) fn has_children() -> bool {
    waitid(
        libc::P_ALL,
        0,
        libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
    )
    .is_some()
}

fn waitid(kind: libc::idtype_t, id: libc::id_t, flags: libc::c_int) -> Option<libc::siginfo_t> {
    let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
    // SAFETY: `waitid` writes a siginfo into our zeroed buffer; with WNOWAIT it leaves every child
    // as it is.
    let ok = unsafe { libc::waitid(kind, id, info.as_mut_ptr(), flags) } == 0;
    // SAFETY: zeroed, then filled (or left zeroed) by `waitid`.
    ok.then(|| unsafe { info.assume_init() })
}
