//! The signal a child past its timeout is sent before it is killed: its handler sends the test
//! thread's return addresses, so the harness can say where the test was stuck.
//!
//! Linux only: the signal is a real-time one, which a test cannot be using for itself, and macOS
//! and FreeBSD (as libc exposes it) have none. Elsewhere a timed-out test is killed without its
//! frames: a plain timeout verdict, and a slow notice without where the test is.

#[cfg(any(target_os = "linux", target_os = "android"))]
use super::{channel, harness_addresses};
#[cfg(any(target_os = "linux", target_os = "android"))]
use crate::wire::{self, Message};

/// The signal the harness sends a child at its timeout, before killing it, to learn where the
/// test's thread is.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn stuck_signal() -> libc::c_int {
    libc::SIGRTMIN() + 4
}

/// Installs the handler for [`stuck_signal`] in the harness, for every child to inherit, and
/// runs the unwinder once so that nothing in it is first set up inside a handler.
pub(crate) fn install_stuck_handler() {
    crate::stack::walk(|_| false);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: the handler only reads atomics, unwinds its own stack, and writes a frame built
    // on its stack with `write`.
    unsafe {
        crate::sys::signals::install_handler(stuck_signal(), on_stuck)
    };
}

/// Sends the test thread's return addresses on the channel. Allocates nothing: it may have
/// interrupted the allocator.
#[cfg(any(target_os = "linux", target_os = "android"))]
extern "C" fn on_stuck(signal: libc::c_int) {
    if !channel::is_open() {
        return;
    }
    if !channel::on_test_thread() {
        // SAFETY: the test's thread is alive (it runs the body this child exists for).
        unsafe { libc::pthread_kill(channel::test_thread(), signal) };
        return;
    }
    let mut frames = [0u64; wire::STUCK_FRAMES];
    let mut count = 0;
    // SAFETY: unsynchronised unwinding of this thread's own stack; no other thread of this
    // child unwinds with the backtrace crate, and libgcc's unwinder does not allocate.
    unsafe {
        crate::stack::walk_unsynchronized(|address| {
            frames[count] = address;
            count += 1;
            count < frames.len()
        });
    }
    let count = harness_addresses::translate_in_place(&mut frames, count);
    channel::send_clue_without_allocating(Message::Stuck {
        frames,
        count: count as u8,
    });
}
