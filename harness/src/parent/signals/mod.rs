//! The harness's signal handlers.
//!
//! - SIGCHLD wakes the supervisor's poll through a self-pipe.
//! - SIGINT, SIGTERM, SIGHUP and SIGQUIT from outside (Ctrl-C, a CI runner, a closed terminal,
//!   `Ctrl-\`) mark the run interrupted and kill every running child and its process group at
//!   once, noting which children were still running (their tests did not finish); the main loop
//!   reaps them and reports. A child that had closed every pipe (its test over, about to exit)
//!   is left to the main loop, which judges it once it has exited. From a test's own process group they are that test's misdeed:
//!   recorded against it, and ignored. One the harness was started with ignored (`nohup`) stays
//!   ignored, in the harness and in every child. A second one ends the harness at once.
//! - SIGPIPE (`... | head`) ends the run as an interruption does, quietly (its report has nowhere
//!   to go): every child killed, what escaped their groups swept, and the shell's status for it.
//! - The signals that ask for no end of the run (`SIGUSR1`, `SIGALRM`, `SIGTSTP`, a `SIGSEGV`
//!   sent with `kill`, ...) are a test's misdeed when it sent them, and otherwise do what they
//!   did: [`strays`].
//!
//! Handlers only touch atomics and make async-signal-safe calls (`write`, `kill`, `waitid`,
//! `waitpid`, `getpgid`, `raise`).

mod strays;
pub(crate) use strays::take_paused;

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering::Relaxed};
use std::time::{Duration, Instant};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::unistd::{self, Pid};

use crate::outcome::SignalNumber;
use crate::sys;

/// The most children that run at once, whatever `--test-threads` asks.
pub(crate) const MAX_CHILDREN: usize = 1024;

const FREE: i32 = 0;
const RESERVED: i32 = -1;
/// Process groups of running children (a child leads its own group). [`FREE`] or [`RESERVED`]
/// while no child is there.
static GROUPS: [AtomicI32; MAX_CHILDREN] = [const { AtomicI32::new(FREE) }; MAX_CHILDREN];
/// The signal a child's process group sent to the harness, per slot; 0 for none.
static CULPRITS: [AtomicI32; MAX_CHILDREN] = [const { AtomicI32::new(0) }; MAX_CHILDREN];
/// Per slot: the interruption killed this child while it still ran, so how it ended says
/// nothing of its test.
static CUT_SHORT: [AtomicBool; MAX_CHILDREN] = [const { AtomicBool::new(false) }; MAX_CHILDREN];
/// Per slot: the child has closed every pipe, its test over. An interruption leaves it to the
/// main loop, which waits a moment for it to exit and judges it (or kills it).
static SAID_ALL: [AtomicBool; MAX_CHILDREN] = [const { AtomicBool::new(false) }; MAX_CHILDREN];
/// The signal that interrupted the run; 0 while it goes on.
static INTERRUPTED: AtomicI32 = AtomicI32::new(0);

static WAKE_WRITE: AtomicI32 = AtomicI32::new(-1);

/// The read end of the self-pipe: readable after a child changed state or the run was interrupted.
pub(crate) struct WakePipe {
    read: OwnedFd,
    write: OwnedFd,
}

impl WakePipe {
    pub(crate) fn fd(&self) -> i32 {
        self.read.as_raw_fd()
    }

    /// Both ends, for a child to close.
    pub(crate) fn fds(&self) -> [i32; 2] {
        [self.read.as_raw_fd(), self.write.as_raw_fd()]
    }

    /// Empties the pipe so the next poll waits for a new signal.
    pub(crate) fn drain(&self) {
        let mut buffer = [0u8; 256];
        // A short read has emptied the pipe.
        while matches!(unistd::read(&self.read, &mut buffer), Ok(n) if n == buffer.len()) {}
    }
}

fn wake() {
    let fd = WAKE_WRITE.load(Relaxed);
    if fd >= 0 {
        // A full pipe already means "wake up".
        let _ = sys::raw_io::write_all(fd, &[0]);
    }
}

extern "C" fn on_child_exit(_: libc::c_int) {
    wake();
}

extern "C" fn on_termination(
    signal_number: libc::c_int,
    info: *mut libc::siginfo_t,
    _context: *mut libc::c_void,
) {
    if signal_number == libc::SIGPIPE {
        // Stdout is gone (`... | head`): the run ends as an interrupted one does, so that the
        // main loop kills every child and sweeps what escaped their groups (a daemon a test
        // started), then ends with the shell's status for SIGPIPE. Each later write to the
        // closed stdout raises it again, and changes nothing.
        if INTERRUPTED.load(Relaxed) == 0 {
            INTERRUPTED.store(signal_number, Relaxed);
            cut_short_all();
            wake();
        }
        return;
    }
    // SAFETY: the kernel hands a valid siginfo to an SA_SIGINFO handler.
    let sender = unsafe { sender_pid(info) };
    if let Some(slot) = slot_of(sender) {
        CULPRITS[slot].store(signal_number, Relaxed);
        return;
    }
    if INTERRUPTED.load(Relaxed) == 0 {
        INTERRUPTED.store(signal_number, Relaxed);
        // Not reaped here: the main loop must still learn how the children that had ended on
        // their own ended. It reaps every child before it reports.
        cut_short_all();
        wake();
        return;
    }
    // A second Ctrl-C while the first is being handled: end now.
    kill_and_reap_all();
    // One of `TERMINATION`, the signals this handler is installed for (and SIGPIPE): all have a
    // name.
    if let Ok(signal) = Signal::try_from(signal_number) {
        // SAFETY: restoring the default disposition is async-signal-safe and installs no handler;
        // the harness then ends as the signal asks.
        let _ = unsafe { nix::sys::signal::signal(signal, SigHandler::SigDfl) };
        let _ = nix::sys::signal::raise(signal);
    }
}

/// # Safety
/// `info` must point to the siginfo of a signal being handled.
unsafe fn sender_pid(info: *const libc::siginfo_t) -> libc::pid_t {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: guaranteed by the caller.
    return unsafe { (*info).si_pid() };
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    // SAFETY: guaranteed by the caller.
    return unsafe { (*info).si_pid };
}

/// The slot of the child whose process group `pid` is in.
fn slot_of(pid: libc::pid_t) -> Option<usize> {
    if pid <= 0 {
        return None;
    }
    let group = unistd::getpgid(Some(Pid::from_raw(pid))).map(Pid::as_raw);
    GROUPS.iter().position(|slot| {
        let leader = slot.load(Relaxed);
        leader > 0 && (leader == pid || group == Ok(leader))
    })
}

/// How long the handler waits, in all, for killed children to be reapable.
const REAP_WITHIN: Duration = Duration::from_secs(2);

/// The running children, by slot.
fn leaders() -> impl Iterator<Item = (usize, Pid)> {
    (GROUPS.iter().enumerate())
        .map(|(slot, leader)| (slot, leader.load(Relaxed)))
        .filter(|&(_, leader)| leader > 0)
        .map(|(slot, leader)| (slot, Pid::from_raw(leader)))
}

/// Kills every running child and its group (by pid too: a test may have moved itself out of its
/// group), first noting those that had not ended on their own; but for those that had said all
/// they will, and are about to exit.
fn cut_short_all() {
    for (slot, leader) in leaders() {
        if SAID_ALL[slot].load(Relaxed) {
            continue;
        }
        if !sys::reap::has_ended(leader) {
            CUT_SHORT[slot].store(true, Relaxed);
        }
        sys::reap::kill_process_and_group(leader);
    }
}

/// Kills every running child and its group, and reaps them: the harness is about to end.
fn kill_and_reap_all() {
    leaders().for_each(|(_, leader)| sys::reap::kill_process_and_group(leader));
    // Reap them too, or they linger as zombies of whoever inherits them.
    let deadline = Instant::now() + REAP_WITHIN;
    for (_, leader) in leaders() {
        sys::reap::reap_by(leader, deadline);
    }
}

/// The signal that interrupted the run, if one did.
pub(crate) fn interrupted() -> Option<Signal> {
    Signal::try_from(INTERRUPTED.load(Relaxed)).ok()
}

/// Installs the handlers and returns the wake-up pipe. Call once, before the first fork.
pub(crate) fn install() -> io::Result<WakePipe> {
    let (read, write) = crate::sys::pipes::pipe(true)?;
    WAKE_WRITE.store(write.as_raw_fd(), Relaxed);
    // Not SA_NOCLDSTOP: it would also keep back the SIGCHLD of a traced thread's stop, which
    // the main loop then lets go (`ChildProcess::has_ended`).
    let wake = SigAction::new(
        SigHandler::Handler(on_child_exit),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    let terminate = SigAction::new(
        SigHandler::SigAction(on_termination),
        SaFlags::SA_RESTART | SaFlags::SA_SIGINFO,
        SigSet::empty(),
    );
    // SAFETY: the handlers above only call async-signal-safe functions and touch atomics.
    unsafe {
        sigaction(Signal::SIGCHLD, &wake)?;
        sigaction(Signal::SIGPIPE, &terminate)?;
        for (index, &signal) in TERMINATION.iter().enumerate() {
            let previous = sigaction(signal, &terminate)?;
            if matches!(previous.handler(), SigHandler::SigIgn) {
                sigaction(signal, &previous)?;
                STARTED_IGNORED[index].store(true, Relaxed);
            }
        }
    }
    strays::install()?;
    Ok(WakePipe { read, write })
}

/// The signals that end the run when they come from outside.
const TERMINATION: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];
/// Per [`TERMINATION`] signal: the harness was started with it ignored.
static STARTED_IGNORED: [AtomicBool; 4] = [const { AtomicBool::new(false) }; 4];

/// Notes which termination signals the harness was started with ignored (`nohup`), before it
/// forks anything: a zygote forked before [`install`] keeps them ignored in its children too.
pub(crate) fn note_ignored_at_start() {
    for (index, &signal) in TERMINATION.iter().enumerate() {
        // Raw: nix's `sigaction` always installs a new action; this only reads the current one.
        let mut current = std::mem::MaybeUninit::<libc::sigaction>::zeroed();
        // SAFETY: with a null new action, `sigaction` only writes the current one into our
        // zeroed struct.
        let read = unsafe {
            libc::sigaction(
                signal as libc::c_int,
                std::ptr::null(),
                current.as_mut_ptr(),
            )
        };
        // SAFETY: zeroed, then filled by `sigaction` if it succeeded.
        let ignored = read == 0 && unsafe { current.assume_init() }.sa_sigaction == libc::SIG_IGN;
        STARTED_IGNORED[index].store(ignored, Relaxed);
    }
}

/// In a new child: the termination signals as the harness found them (default, or ignored),
/// not the harness's handler.
pub(crate) fn restore_termination_dispositions() {
    for (index, &signal) in TERMINATION.iter().enumerate() {
        let handler = if STARTED_IGNORED[index].load(Relaxed) {
            SigHandler::SigIgn
        } else {
            SigHandler::SigDfl
        };
        // SAFETY: a default or ignored disposition installs no handler.
        let _ = unsafe { nix::sys::signal::signal(signal, handler) };
    }
    strays::restore();
}

/// Until children exist, a closed stdout (`--list | head`) just ends the harness, quietly.
pub(crate) fn end_quietly_on_broken_pipe() {
    // SAFETY: the default disposition installs no handler.
    let _ = unsafe { nix::sys::signal::signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// The termination signals held back while a child is forked and registered, so that a child
/// that signals the harness at once is already known as the sender. Restores the mask when
/// dropped.
pub(crate) struct TerminationBlocked(SigSet);

fn termination_signals() -> SigSet {
    let mut set = SigSet::empty();
    for signal in TERMINATION {
        set.add(signal);
    }
    strays::add_to(&mut set);
    set
}

impl TerminationBlocked {
    pub(crate) fn new() -> Self {
        let mut previous = SigSet::empty();
        let _ = nix::sys::signal::pthread_sigmask(
            nix::sys::signal::SigmaskHow::SIG_BLOCK,
            Some(&termination_signals()),
            Some(&mut previous),
        );
        Self(previous)
    }
}

impl Drop for TerminationBlocked {
    fn drop(&mut self) {
        let _ = nix::sys::signal::pthread_sigmask(
            nix::sys::signal::SigmaskHow::SIG_SETMASK,
            Some(&self.0),
            None,
        );
    }
}

/// In a new child: take the signals [`TerminationBlocked`] held back.
pub(crate) fn unblock_termination() {
    let _ = nix::sys::signal::pthread_sigmask(
        nix::sys::signal::SigmaskHow::SIG_UNBLOCK,
        Some(&termination_signals()),
        None,
    );
}

/// A child's place in the handlers' tables, reserved before its fork.
pub(crate) struct GroupSlot(usize);

impl GroupSlot {
    /// Takes a free slot.
    pub(crate) fn reserve() -> Self {
        let index = GROUPS
            .iter()
            .position(|slot| {
                slot.compare_exchange(FREE, RESERVED, Relaxed, Relaxed)
                    .is_ok()
            })
            .expect("the scheduler never runs more than MAX_CHILDREN children");
        CULPRITS[index].store(0, Relaxed);
        CUT_SHORT[index].store(false, Relaxed);
        SAID_ALL[index].store(false, Relaxed);
        Self(index)
    }

    /// Records the forked child's group, so a SIGINT or SIGTERM kills it.
    pub(crate) fn set_group(&self, group: i32) {
        GROUPS[self.0].store(group, Relaxed);
    }

    /// The signal this child's process group sent to the harness, if any.
    pub(crate) fn signal_sent_to_harness(&self) -> Option<SignalNumber> {
        Some(CULPRITS[self.0].load(Relaxed))
            .filter(|&signal| signal != 0)
            .map(SignalNumber)
    }

    /// The child has closed every pipe: its test is over.
    pub(crate) fn said_all(&self) {
        SAID_ALL[self.0].store(true, Relaxed);
    }

    /// The run's interruption killed this child while it still ran: its test did not finish,
    /// whatever its exit status says.
    pub(crate) fn cut_short(&self) -> bool {
        CUT_SHORT[self.0].load(Relaxed)
    }
}

impl Drop for GroupSlot {
    fn drop(&mut self) {
        GROUPS[self.0].store(FREE, Relaxed);
    }
}
