//! Stopping every other thread of the child for the scan: each records its stack pointer and
//! waits until the scan is over. Nothing here allocates: a stopped thread may hold the C
//! library's heap lock.
//!
//! Linux only ([`linux`]: a real-time signal sent to each thread listed in `/proc/self/task`).
//! macOS has no real-time signal, and neither it nor FreeBSD lets the scan read memory without
//! risking a fault (`process_vm_readv`): there no thread is stopped,
//! [`StoppedThreads::stack_pointers`] is `None`, and the scan does not run (a leak is then noted,
//! not counted: see `child::leak_sites`).

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::SeqCst};

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux;

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use linux::stop_signal;

pub(crate) const MAX_STOPPED: usize = 1024;
static STACK_POINTERS: [AtomicUsize; MAX_STOPPED] = [const { AtomicUsize::new(0) }; MAX_STOPPED];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
static ARRIVED: AtomicUsize = AtomicUsize::new(0);
/// A futex word: 0 while the stopped threads must wait.
static RESUME: AtomicU32 = AtomicU32::new(0);

/// Installs the stop handler, for every child to inherit. Call once, in the harness.
pub(crate) fn install_stop_handler() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    linux::install_stop_handler();
}

/// Every other thread of this process, stopped until this is dropped.
pub(crate) struct StoppedThreads {
    signalled: usize,
    /// A thread blocks the stop signal, or threads cannot be stopped here: it runs on, where
    /// nobody knows.
    unstoppable: bool,
}

impl StoppedThreads {
    /// Stops every other thread; `tids` is room for their ids. Allocates nothing.
    pub(crate) fn stop(tids: &mut [libc::pid_t]) -> Self {
        RESUME.store(0, SeqCst);
        NEXT_SLOT.store(0, SeqCst);
        ARRIVED.store(0, SeqCst);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let (signalled, unstoppable) = linux::stop_others(tids);
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let (signalled, unstoppable) = {
            let _ = tids;
            (0, true)
        };
        Self {
            signalled,
            unstoppable,
        }
    }

    /// Where each stopped thread's stack is; `None` if some thread did not stop.
    pub(crate) fn stack_pointers(&self) -> Option<&'static [usize]> {
        let arrived = ARRIVED.load(SeqCst);
        if self.unstoppable || arrived < self.signalled || arrived > MAX_STOPPED {
            return None;
        }
        // SAFETY: `AtomicUsize` has the layout of `usize`; the first `arrived` slots were
        // written before `ARRIVED` counted them, and nothing writes them until the next stop.
        Some(unsafe { std::slice::from_raw_parts(STACK_POINTERS.as_ptr().cast(), arrived) })
    }
}

impl Drop for StoppedThreads {
    fn drop(&mut self) {
        RESUME.store(1, SeqCst);
        #[cfg(any(target_os = "linux", target_os = "android"))]
        linux::wake_stopped();
    }
}
