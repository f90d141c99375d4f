//! Forking: a plain fork, and Linux's fork into a sibling (`CLONE_PARENT`) for zygotes. Unsafe
//! because a fork is sound only from a process with one thread (asserted with a `stat`, without
//! allocating); raw where nix has no call for it: `clone` as a fork, with no stack of its own.

use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering::SeqCst;

use nix::unistd::{ForkResult, Pid};

use super::threads::{thread_count, thread_count_in, PARKED_THREADS};

/// Forks this process, which must have one thread, besides threads parked for good: a fork from a
/// multi-threaded process can inherit a lock another thread held and hang the child. The thread
/// count is asserted in debug builds, through `task_dir` (this process's `/proc/self/task` opened
/// once) where given.
///
/// # Safety
/// The caller must be this process's only thread but parked ones (the harness starts none and
/// runs every test with one; a test's child has its parked main thread), so that the child may
/// allocate and print freely.
pub(crate) unsafe fn fork(task_dir: Option<&OwnedFd>) -> nix::Result<ForkResult> {
    if cfg!(debug_assertions) {
        let threads = task_dir.map_or_else(thread_count, thread_count_in);
        let parked = PARKED_THREADS.load(SeqCst);
        if let Some(threads) = threads.map(|threads| threads.saturating_sub(parked)) {
            assert_eq!(
                threads, 1,
                "isolated-test: refusing to fork from a process with {threads} threads"
            );
        }
    }
    // SAFETY: guaranteed by the caller.
    let forked = unsafe { nix::unistd::fork() }?;
    if let ForkResult::Child = forked {
        // The fork kept only the calling thread.
        PARKED_THREADS.store(0, SeqCst);
    }
    Ok(forked)
}

/// Forks this process as [`fork`] does, but the new process is a child of this process's parent
/// (Linux's `CLONE_PARENT`): a zygote hands the harness children it waits for and reaps itself.
/// `None` in the new process. Refuses, always, from a process with more than one thread.
///
/// # Safety
/// As for [`fork`]: the caller must be this process's only thread.
#[cfg(target_os = "linux")]
pub(crate) unsafe fn fork_sibling() -> std::io::Result<Option<Pid>> {
    if let Some(threads) = thread_count().filter(|&threads| threads != 1) {
        panic!("isolated-test: refusing to fork from a process with {threads} threads");
    }
    let flags = (libc::CLONE_PARENT | libc::SIGCHLD) as libc::c_long;
    let none: libc::c_long = 0;
    // SAFETY: with no stack, no thread-id pointers and no TLS, `clone` copies the process as
    // `fork` does, the new one running on a copy of this stack. glibc's fork bookkeeping is not
    // needed: in a single-threaded process no lock is held, and glibc asks the kernel for the
    // thread id when a thread signals itself (`raise`, `abort`).
    let pid = unsafe { libc::syscall(libc::SYS_clone, flags, none, none, none, none) };
    match pid {
        -1 => Err(std::io::Error::last_os_error()),
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as i32))),
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) unsafe fn fork_sibling() -> std::io::Result<Option<Pid>> {
    Err(std::io::ErrorKind::Unsupported.into())
}
