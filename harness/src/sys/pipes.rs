//! Pipes and descriptor copies that are close-on-exec (and non-blocking where asked) from the
//! start: one call on Linux and FreeBSD (`pipe2`, `dup3`); on macOS, which has neither, the plain
//! call and then `fcntl`. The two steps there are sound because no other thread can `exec` in
//! between: the harness is single-threaded whenever it makes them (it makes no thread), and a
//! test's child makes them before its body starts one.

use std::os::fd::{OwnedFd, RawFd};

/// A pipe whose ends are close-on-exec, and non-blocking if `nonblocking`: (read, write).
pub(crate) fn pipe(nonblocking: bool) -> nix::Result<(OwnedFd, OwnedFd)> {
    #[cfg(not(target_vendor = "apple"))]
    {
        use nix::fcntl::OFlag;
        let blocking = if nonblocking {
            OFlag::O_NONBLOCK
        } else {
            OFlag::empty()
        };
        nix::unistd::pipe2(OFlag::O_CLOEXEC | blocking)
    }
    #[cfg(target_vendor = "apple")]
    {
        use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
        let (read, write) = nix::unistd::pipe()?;
        for end in [&read, &write] {
            fcntl(end, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))?;
            if nonblocking {
                fcntl(end, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
            }
        }
        Ok((read, write))
    }
}

/// A close-on-exec pipe as two raw descriptors, (read, write), for code that owns them by
/// number; `None` where it cannot be made. Allocates nothing.
pub(crate) fn pipe_raw() -> Option<[RawFd; 2]> {
    let mut ends = [-1; 2];
    #[cfg(not(target_vendor = "apple"))]
    // SAFETY: `pipe2` fills the array we own.
    let made = unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) } == 0;
    #[cfg(target_vendor = "apple")]
    // SAFETY: `pipe` fills the array we own; `fcntl(F_SETFD)` changes the flags of the two
    // descriptors it just made, which nothing else owns.
    let made = unsafe {
        libc::pipe(ends.as_mut_ptr()) == 0
            && ends
                .iter()
                .all(|&end| libc::fcntl(end, libc::F_SETFD, libc::FD_CLOEXEC) == 0)
    };
    made.then_some(ends)
}

/// Makes descriptor `target` a close-on-exec copy of `fd`, as `dup3(fd, target, O_CLOEXEC)`
/// does; returns `target`, or -1. Allocates nothing.
///
/// # Safety
/// Whatever `target` referred to is closed: nothing may own it.
pub(crate) unsafe fn dup_onto(fd: RawFd, target: RawFd) -> RawFd {
    #[cfg(not(target_vendor = "apple"))]
    // SAFETY: guaranteed by the caller.
    return unsafe { libc::dup3(fd, target, libc::O_CLOEXEC) };
    #[cfg(target_vendor = "apple")]
    // SAFETY: guaranteed by the caller; `fcntl(F_SETFD)` only changes the new copy's flags.
    unsafe {
        if libc::dup2(fd, target) != target {
            return -1;
        }
        libc::fcntl(target, libc::F_SETFD, libc::FD_CLOEXEC);
        target
    }
}
