//! Signal handlers and ending this process: installing a handler, dying by a signal, `_exit`.
//! Raw because a handler and a forked child must not allocate or take a lock (std's exit runs
//! the exit handlers the child inherited), and because nix's `Signal` cannot name the real-time
//! signals the harness uses.

/// Installs `handler` for `signal`, restarting interrupted system calls.
///
/// # Safety
/// `handler` must be async-signal-safe: it may interrupt any code, the allocator's included.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) unsafe fn install_handler(signal: libc::c_int, handler: extern "C" fn(libc::c_int)) {
    // SAFETY: a zeroed sigaction with these fields set is valid; the caller vouches for the
    // handler.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigaction(signal, &action, std::ptr::null_mut());
    }
}

/// Ends this process by `signal`, as a process killed by it ends, without a core dump (the
/// harness's would tell nothing of the test that died so); where the signal does not end a
/// process, exits with 128 + its number, as a shell reports a signal.
pub(crate) fn die_by(signal: libc::c_int) -> ! {
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0);
    // SAFETY: the default disposition runs no handler; the set is built on our stack; `raise`
    // has no preconditions.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), signal);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, set.as_ptr(), std::ptr::null_mut());
        libc::raise(signal);
    }
    std::process::exit(128 + signal)
}

/// Ends this process at once, running none of the destructors or exit handlers it inherited.
/// Allocates nothing.
pub(crate) fn exit_now(status: i32) -> ! {
    // SAFETY: `_exit` has no preconditions.
    unsafe { libc::_exit(status) }
}

/// Asks the system to SIGKILL this process when its parent ends, even by SIGKILL: Linux's
/// `PR_SET_PDEATHSIG`, FreeBSD's `PROC_PDEATHSIG_CTL`. macOS has no such call: there a process
/// whose parent died learns it from its pipes' other ends closing, or by `getppid`.
pub(crate) fn die_with_parent() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    #[cfg(target_os = "freebsd")]
    {
        let mut signal = libc::SIGKILL;
        // SAFETY: `procctl` on this process (id 0) reads the signal number from our local.
        unsafe {
            libc::procctl(
                libc::P_PID,
                0,
                libc::PROC_PDEATHSIG_CTL,
                (&raw mut signal).cast(),
            )
        };
    }
}
