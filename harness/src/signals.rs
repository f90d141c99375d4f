//! The harness's signal handlers: SIGCHLD wakes the supervisor's poll through a self-pipe;
//! SIGINT and SIGTERM kill every running child's process group before the harness dies, and so
//! does SIGPIPE (`--list | head`): the harness then ends quietly, as a Unix tool does.
//!
//! Handlers only touch atomics and make async-signal-safe calls (`write`, `kill`, `raise`).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering::Relaxed};

use nix::fcntl::OFlag;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::unistd;

/// Process groups of running children, for the SIGINT/SIGTERM handler. 0 marks a free slot.
static GROUPS: [AtomicI32; MAX_CHILDREN] = [const { AtomicI32::new(0) }; MAX_CHILDREN];
/// The most children that run at once, whatever `--test-threads` asks.
pub(crate) const MAX_CHILDREN: usize = 1024;

static WAKE_WRITE: AtomicI32 = AtomicI32::new(-1);

/// The read end of the self-pipe: readable after a child changed state.
pub(crate) struct WakePipe {
    read: OwnedFd,
    _write: OwnedFd,
}

impl WakePipe {
    pub(crate) fn fd(&self) -> i32 {
        self.read.as_raw_fd()
    }

    /// Both ends, for a child to close.
    pub(crate) fn fds(&self) -> [i32; 2] {
        [self.read.as_raw_fd(), self._write.as_raw_fd()]
    }

    /// Empties the pipe so the next poll waits for a new signal.
    pub(crate) fn drain(&self) {
        let mut buffer = [0u8; 64];
        while matches!(unistd::read(&self.read, &mut buffer), Ok(n) if n > 0) {}
    }
}

extern "C" fn on_child_exit(_: libc::c_int) {
    let fd = WAKE_WRITE.load(Relaxed);
    if fd >= 0 {
        // SAFETY: `write` is async-signal-safe; a full pipe already means "wake up".
        unsafe { libc::write(fd, [0u8].as_ptr().cast(), 1) };
    }
}

extern "C" fn on_termination(signal_number: libc::c_int) {
    kill_all_groups();
    // Reap them too, or they linger as zombies of whoever inherits them.
    for slot in &GROUPS {
        let leader = slot.load(Relaxed);
        if leader > 0 {
            // SAFETY: `waitpid` is async-signal-safe; the leader was just sent SIGKILL.
            unsafe { libc::waitpid(leader, std::ptr::null_mut(), 0) };
        }
    }
    // SAFETY: restoring the default disposition and re-raising are async-signal-safe; the
    // harness then ends as the signal asks.
    unsafe {
        libc::signal(signal_number, libc::SIG_DFL);
        libc::raise(signal_number);
    }
}

/// SIGKILLs every registered child process group.
pub(crate) fn kill_all_groups() {
    for slot in &GROUPS {
        let group = slot.load(Relaxed);
        if group > 0 {
            // SAFETY: `kill` is async-signal-safe; the group is one of our children's.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
    }
}

/// Installs the handlers and returns the wake-up pipe. Call once, before the first fork.
pub(crate) fn install() -> io::Result<WakePipe> {
    let (read, write) = unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
    WAKE_WRITE.store(write.as_raw_fd(), Relaxed);
    let wake = SigAction::new(
        SigHandler::Handler(on_child_exit),
        SaFlags::SA_RESTART | SaFlags::SA_NOCLDSTOP,
        SigSet::empty(),
    );
    let terminate = SigAction::new(
        SigHandler::Handler(on_termination),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handlers above only call async-signal-safe functions and touch atomics.
    unsafe {
        sigaction(Signal::SIGCHLD, &wake)?;
        sigaction(Signal::SIGINT, &terminate)?;
        sigaction(Signal::SIGTERM, &terminate)?;
        sigaction(Signal::SIGPIPE, &terminate)?;
    }
    Ok(WakePipe {
        read,
        _write: write,
    })
}

/// Until children exist, a closed stdout (`--list | head`) just ends the harness, quietly.
pub(crate) fn end_quietly_on_broken_pipe() {
    // SAFETY: the default disposition installs no handler.
    let _ = unsafe { nix::sys::signal::signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// A registered child's slot in the group table.
pub(crate) struct GroupSlot(usize);

/// Records `group` so a SIGINT or SIGTERM kills it.
pub(crate) fn register_group(group: i32) -> GroupSlot {
    let index = GROUPS
        .iter()
        .position(|slot| slot.compare_exchange(0, group, Relaxed, Relaxed).is_ok())
        .expect("the scheduler never runs more than MAX_CHILDREN children");
    GroupSlot(index)
}

impl Drop for GroupSlot {
    fn drop(&mut self) {
        GROUPS[self.0].store(0, Relaxed);
    }
}
