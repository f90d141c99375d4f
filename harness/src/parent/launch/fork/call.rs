//! An isolated call's child: a fork of the calling process that runs the closure. Only a fork
//! can: the closure exists only in the caller's memory.

use std::io::{self, Write};
use std::os::fd::AsRawFd;

use nix::unistd::{self, ForkResult, Pid};

use crate::parent::launch::pipes::ChildPipes;
use crate::parent::launch::Launched;
use crate::sys;

/// Why an isolated call's child could not be started.
pub(crate) enum CallRefused {
    /// This process has other threads: forking it could hang the child.
    Threads(usize),
    Io(io::Error),
}

/// What an isolated call's child runs: `body`, which returns the call's value encoded, its heap
/// growth limited to `memory_limit`.
pub(crate) struct Call<'a> {
    pub(crate) body: &'a mut dyn FnMut() -> Result<Vec<u8>, String>,
    pub(crate) memory_limit: Option<u64>,
    /// The token its result frames carry.
    pub(crate) token: u64,
}

/// Forks a child that runs `call`, its stderr and result channel piped to the caller, its stdout
/// and stdin the caller's.
pub(crate) fn start_call(call: Call<'_>) -> Result<Launched, CallRefused> {
    // A test's child has its main thread parked for good, which holds no lock: as safe to fork as
    // a process of one thread.
    match sys::threads::running_thread_count() {
        Some(threads) if threads > 1 => return Err(CallRefused::Threads(threads)),
        _ => {}
    }
    let pipes = ChildPipes::capturing(false, true).map_err(CallRefused::Io)?;
    // A child inherits the stdout buffer: flushed here, it cannot print the caller's text again.
    let _ = io::stdout().flush();
    // SAFETY: this process has one thread but parked ones, checked above.
    match unsafe { sys::fork::fork(None) }.map_err(|error| CallRefused::Io(error.into()))? {
        ForkResult::Child => {
            let (result, _, stderr) = pipes.child_ends();
            let _ = unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
            if let Some(stderr) = stderr {
                sys::descriptors::move_to(stderr, 2);
                sys::descriptors::set_blocking(2);
            }
            sys::descriptors::set_blocking(result.as_raw_fd());
            let fd = result.as_raw_fd();
            // Its channel for good: written until the child exits.
            std::mem::forget(result);
            crate::child::isolated_call::run_call(fd, call.token, call.memory_limit, call.body)
        }
        ForkResult::Parent { child } => {
            // Also set by the child itself; whichever runs first wins the race against a kill.
            let _ = unistd::setpgid(child, child);
            Ok(pipes.parent_ends(child))
        }
    }
}
