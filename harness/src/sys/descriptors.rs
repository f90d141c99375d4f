//! Descriptor plumbing: closing, moving a descriptor onto a number, clearing `O_NONBLOCK`,
//! reopening a pipe or terminal. Raw because it runs in a freshly forked child on descriptor
//! numbers (0, 1, 2, the channel's) that no `OwnedFd` of this process owns.

use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};

/// Closes `fd` without the check std's debug builds make on every drop (an `fcntl` each: six a
/// test in the parent alone).
pub(crate) fn close(fd: OwnedFd) {
    // SAFETY: `into_raw_fd` hands our ownership of the descriptor to `close`.
    unsafe { libc::close(fd.into_raw_fd()) };
}

/// Closes descriptor `fd`, which nothing else owns.
pub(crate) fn close_raw(fd: RawFd) {
    // SAFETY: closing a descriptor number we were given to close.
    unsafe { libc::close(fd) };
}

/// Makes `fd` descriptor `target` (replacing what was there), closing `fd`.
pub(crate) fn move_to(fd: OwnedFd, target: RawFd) {
    // SAFETY: both are descriptor numbers; `target` is replaced, which only this process uses.
    unsafe { libc::dup2(fd.as_raw_fd(), target) };
    close(fd);
}

/// Clears `O_NONBLOCK` on `fd`'s open file description.
pub(crate) fn set_blocking(fd: RawFd) {
    // SAFETY: F_GETFL and F_SETFL only read and change the status flags of `fd`.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 && flags & libc::O_NONBLOCK != 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
}

/// Whether `fd` is a pipe or a character device (a terminal).
pub(crate) fn is_pipe_or_terminal(fd: RawFd) -> bool {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fstat` fills the buffer on success.
    if unsafe { libc::fstat(fd, stat.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: initialised by the successful `fstat` above.
    let kind = unsafe { stat.assume_init() }.st_mode & libc::S_IFMT;
    kind == libc::S_IFIFO || kind == libc::S_IFCHR
}

/// Opens `path` (the file on `fd`, through `/proc/self/fd`) again, with `fd`'s access mode and
/// append flag, and puts the new open file description on `fd`.
pub(crate) fn reopen(fd: RawFd, path: &std::ffi::CStr) {
    // SAFETY: `fcntl(F_GETFL)` only reads the flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return;
    }
    let keep = flags & (libc::O_ACCMODE | libc::O_APPEND);
    // Opened non-blocking, or a pipe nobody reads would block the open itself.
    // SAFETY: a NUL-terminated path; the new descriptor replaces `fd` and is closed.
    unsafe {
        let own = libc::open(
            path.as_ptr(),
            keep | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if own >= 0 {
            libc::dup2(own, fd);
            libc::close(own);
            libc::fcntl(fd, libc::F_SETFL, keep);
        }
    }
}
