//! Descriptor plumbing: closing, moving a descriptor onto a number, clearing `O_NONBLOCK`,
//! reopening a pipe or terminal. Through nix, on descriptor numbers: they run in a freshly forked
//! child on numbers (0, 1, 2, the channel's) that no `OwnedFd` of this process owns.

use std::os::fd::{BorrowedFd, IntoRawFd, OwnedFd, RawFd};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::stat::{fstat, Mode};

/// Closes `fd` without the check std's debug builds make on every drop (an `fcntl` each: six a
/// test in the parent alone).
pub(crate) fn close(fd: OwnedFd) {
    let _ = nix::unistd::close(fd);
}

/// Closes descriptor `fd`, which nothing else owns.
pub(crate) fn close_raw(fd: RawFd) {
    let _ = nix::unistd::close(fd);
}

/// Makes `fd` descriptor `target` (replacing what was there), closing `fd`.
pub(crate) fn move_to(fd: OwnedFd, target: RawFd) {
    // SAFETY: the `OwnedFd` `dup2_raw` returns for `target` is given up at once (`into_raw_fd`),
    // so it never closes `target` under whoever uses that number (a std stream, the channel).
    let moved = unsafe { nix::unistd::dup2_raw(&fd, target) };
    let _ = moved.map(IntoRawFd::into_raw_fd);
    close(fd);
}

/// Clears `O_NONBLOCK` on `fd`'s open file description.
pub(crate) fn set_blocking(fd: RawFd) {
    // SAFETY: borrowed for these two calls only, which read and change status flags; were `fd`
    // not open, they would fail with `EBADF` and touch nothing.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let Ok(flags) = fcntl(fd, FcntlArg::F_GETFL).map(OFlag::from_bits_retain) else {
        return;
    };
    if flags.contains(OFlag::O_NONBLOCK) {
        let _ = fcntl(fd, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK));
    }
}

/// Whether `fd` is a pipe or a character device (a terminal).
pub(crate) fn is_pipe_or_terminal(fd: RawFd) -> bool {
    // SAFETY: borrowed for one `fstat`, which only reads; were `fd` not open, it would fail with
    // `EBADF`.
    let Ok(stat) = fstat(unsafe { BorrowedFd::borrow_raw(fd) }) else {
        return false;
    };
    let kind = stat.st_mode & libc::S_IFMT;
    kind == libc::S_IFIFO || kind == libc::S_IFCHR
}

/// Opens `path` (the file on `fd`, through `/proc/self/fd`) again, with `fd`'s access mode and
/// append flag, and puts the new open file description on `fd`.
pub(crate) fn reopen(fd: RawFd, path: &std::ffi::CStr) {
    // SAFETY: borrowed for the calls below only, which read and change its status flags; were
    // `fd` not open, the first would fail with `EBADF` and end this.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let Ok(flags) = fcntl(borrowed, FcntlArg::F_GETFL).map(OFlag::from_bits_retain) else {
        return;
    };
    let keep = flags & (OFlag::O_ACCMODE | OFlag::O_APPEND);
    // Opened non-blocking, or a pipe nobody reads would block the open itself.
    let flags = keep | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let Ok(own) = nix::fcntl::open(path, flags, Mode::empty()) else {
        return;
    };
    move_to(own, fd);
    let _ = fcntl(borrowed, FcntlArg::F_SETFL(keep));
}

/// Closes every descriptor from `first` up: one call on Linux (`close_range`) and FreeBSD
/// (`closefrom`), a loop up to the descriptor limit elsewhere.
///
/// # Safety
/// Nothing may use those descriptors again.
pub(crate) unsafe fn close_from(first: RawFd) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: guaranteed by the caller.
    if unsafe { libc::syscall(libc::SYS_close_range, first as u32, u32::MAX, 0u32) } == 0 {
        return;
    }
    #[cfg(target_os = "freebsd")]
    // SAFETY: guaranteed by the caller.
    return unsafe { libc::closefrom(first) };
    // Where `close_range` is not there (a Linux before 5.9), the numbers a process commonly has.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let last = 1024;
    // The whole table, as far as a loop of `close` calls stays quick.
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let last = super::descriptor_table::descriptor_limit().min(1 << 16) as RawFd;
    #[cfg(not(target_os = "freebsd"))]
    for fd in first..last {
        let _ = nix::unistd::close(fd);
    }
}
