//! Signals a test may send the harness that ask for no end of the run: `SIGUSR1`, `SIGUSR2`,
//! `SIGALRM`, `SIGVTALRM`, the stops `SIGTSTP`, `SIGTTIN`, `SIGTTOU`, and the faults (`SIGSEGV`,
//! `SIGBUS`, `SIGILL`, `SIGFPE`, `SIGTRAP`, `SIGSYS`, `SIGABRT`) sent with `kill`. Left to their
//! default, each stopped or ended the harness, with no summary and no test named.
//!
//! From a test's process group, each is that test's misdeed: recorded against it, as a
//! termination signal from there is, and ignored. From anywhere else each does what it did
//! before: a stop stops the harness and every test with it (Ctrl-Z still stops the run, and
//! `fg` goes on with it); the others end it, its children killed first; and a fault the harness itself made goes to the handler it had (std's,
//! which tells a stack overflow).

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

use super::{kill_and_reap_all, leaders, sender_pid, slot_of, CULPRITS};
use crate::sys;

/// The signals handled here.
pub(super) const STRAYS: [Signal; 14] = [
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGVTALRM,
    Signal::SIGTSTP,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGILL,
    Signal::SIGFPE,
    Signal::SIGTRAP,
    Signal::SIGSYS,
    Signal::SIGABRT,
];

/// Per [`STRAYS`] signal, the action the harness had before [`install`]: what a fault of its own
/// goes back to, and what each child gets back.
static PREVIOUS: [OnceLock<SigAction>; 14] = [const { OnceLock::new() }; 14];

/// Installs the handler for every stray signal, keeping the action each had. One ignored from
/// the start stays ignored.
pub(super) fn install() -> nix::Result<()> {
    let action = SigAction::new(
        SigHandler::SigAction(on_stray),
        SaFlags::SA_RESTART | SaFlags::SA_SIGINFO,
        SigSet::empty(),
    );
    for (index, &signal) in STRAYS.iter().enumerate() {
        // SAFETY: the handler only touches atomics and makes async-signal-safe calls.
        let previous = unsafe { sigaction(signal, &action)? };
        let _ = PREVIOUS[index].set(previous);
        if matches!(previous.handler(), SigHandler::SigIgn) {
            // SAFETY: puts back the action just read.
            unsafe { sigaction(signal, &previous)? };
        }
    }
    Ok(())
}

/// In a new child: each stray signal's action as the harness found it.
pub(super) fn restore() {
    for (index, &signal) in STRAYS.iter().enumerate() {
        if let Some(previous) = PREVIOUS[index].get() {
            // SAFETY: the action the process had before `install`, std's or the default.
            let _ = unsafe { sigaction(signal, previous) };
        }
    }
}

/// The signals held back while a child is started, with the termination ones.
pub(super) fn add_to(set: &mut SigSet) {
    for signal in STRAYS {
        set.add(signal);
    }
}

extern "C" fn on_stray(
    signal_number: libc::c_int,
    info: *mut libc::siginfo_t,
    _context: *mut libc::c_void,
) {
    // SAFETY: the kernel hands a valid siginfo to an SA_SIGINFO handler.
    let (code, sender) = unsafe { ((*info).si_code, sender_pid(info)) };
    // Sent by a process (`kill`, `tgkill`, `sigqueue`), not made by the kernel.
    let sent = code <= 0;
    if sent {
        if let Some(slot) = slot_of(sender) {
            CULPRITS[slot].store(signal_number, Relaxed);
            return;
        }
    }
    let Ok(signal) = Signal::try_from(signal_number) else {
        return;
    };
    let index = STRAYS.iter().position(|&stray| stray == signal);
    match signal {
        Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU => stop_the_run(),
        _ if !sent => {
            // A fault of the harness's own: back to the handler it had, which the faulting
            // instruction meets again on return.
            if let Some(previous) = index.and_then(|index| PREVIOUS[index].get()) {
                // SAFETY: the action the process had before `install`.
                let _ = unsafe { sigaction(signal, previous) };
            }
        }
        _ => {
            // From outside the run: it ends the harness, as before, its children killed first.
            kill_and_reap_all();
            // SAFETY: the default disposition installs no handler; the harness then ends as
            // the signal asks.
            let _ = unsafe { nix::sys::signal::signal(signal, SigHandler::SigDfl) };
            let _ = nix::sys::signal::raise(signal);
        }
    }
}

/// How long a stop of the run waits for the tests' processes to stop before the harness stops.
const STOP_WITHIN: Duration = Duration::from_secs(1);

/// Nanoseconds the run has spent stopped, not yet taken by [`take_paused`].
static PAUSED_NANOS: AtomicU64 = AtomicU64::new(0);

/// As a stop's default action, for the whole run: a test's process group is not the terminal's
/// foreground group, so Ctrl-Z reaches the harness alone, which stops every test's group first,
/// then itself, until `SIGCONT` (the shell's `fg`); then the tests go on too. The time stopped
/// is kept for the supervisor, which does not count it against the tests' timeouts.
fn stop_the_run() {
    let stopped_at = Instant::now();
    signal_every_child(Signal::SIGSTOP);
    // Stopped before the harness is: whoever sees the harness stopped sees the tests stopped.
    let give_up = stopped_at + STOP_WITHIN;
    for (_, leader) in leaders() {
        while sys::reap::stopped_by(leader).is_none()
            && !sys::reap::has_ended(leader)
            && Instant::now() < give_up
        {
            // SAFETY: `sched_yield` has no preconditions, and is async-signal-safe.
            unsafe { libc::sched_yield() };
        }
    }
    let _ = nix::sys::signal::raise(Signal::SIGSTOP);
    signal_every_child(Signal::SIGCONT);
    let paused = u64::try_from(stopped_at.elapsed().as_nanos()).unwrap_or(u64::MAX);
    PAUSED_NANOS.fetch_add(paused, Relaxed);
}

/// Sends `signal` to every running child's process group, and to the child by pid (a test may
/// have left its group).
fn signal_every_child(signal: Signal) {
    for (_, leader) in leaders() {
        let _ = nix::sys::signal::killpg(leader, signal);
        let _ = nix::sys::signal::kill(leader, signal);
    }
}

/// How long the run has been stopped (Ctrl-Z) since the last call.
pub(crate) fn take_paused() -> Duration {
    Duration::from_nanos(PAUSED_NANOS.swap(0, Relaxed))
}
