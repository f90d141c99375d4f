//! The descriptors a test left open: which descriptor numbers are open, what each refers to,
//! how many a process may have. The census runs in the test's child after the test, where it
//! must not allocate (the test's heap is being judged) and must not touch `/proc` (its first use
//! in a freshly forked process costs about 100 µs). Its `poll` and `fstat` stay raw: they ask
//! about numbers that may not be open, which is the question, while nix's calls take a
//! `BorrowedFd`, which must be.

use std::os::fd::RawFd;

use nix::errno::Errno;

/// How many descriptors, from 0, a test's run looks at: a descriptor opened without a number
/// asked for takes the lowest free one, so one above this means hundreds open at once.
pub(crate) const WATCHED_DESCRIPTORS: usize = 256;

/// How many a run that judges the descriptors a test left open looks at: its test's new ones are
/// numbered from higher up (see `child::resources`).
pub(crate) const MOST_WATCHED_DESCRIPTORS: usize = 1024;

/// Descriptor numbers below [`MOST_WATCHED_DESCRIPTORS`], as bits.
pub(crate) type DescriptorSet = [u64; MOST_WATCHED_DESCRIPTORS / 64];

/// Which of descriptors 0 to `watched` - 1 (at most [`MOST_WATCHED_DESCRIPTORS`]) are open, as a
/// bit set: one `poll` of them all (a closed one reports `POLLNVAL`). No `/proc`: the first use
/// of it in a freshly forked process costs about 100 µs. Allocates nothing.
pub(crate) fn open_descriptors(watched: usize) -> DescriptorSet {
    let mut entries = [libc::pollfd {
        fd: 0,
        events: 0,
        revents: 0,
    }; MOST_WATCHED_DESCRIPTORS];
    // `poll` refuses more entries than the descriptor limit allows.
    let count = descriptor_limit()
        .min(watched)
        .min(MOST_WATCHED_DESCRIPTORS);
    for (fd, entry) in entries[..count].iter_mut().enumerate() {
        entry.fd = fd as libc::c_int;
    }
    loop {
        // SAFETY: `entries` is a live array of at least `count` pollfds; a zero timeout never
        // blocks, and no event is asked for.
        let ready = unsafe { libc::poll(entries.as_mut_ptr(), count as libc::nfds_t, 0) };
        if ready >= 0 || Errno::last() != Errno::EINTR {
            break;
        }
    }
    let mut open = [0u64; MOST_WATCHED_DESCRIPTORS / 64];
    for (fd, entry) in entries[..count].iter().enumerate() {
        if entry.revents & libc::POLLNVAL == 0 {
            open[fd / 64] |= 1 << (fd % 64);
        }
    }
    open
}

/// What file descriptor `fd` refers to, as its device and inode; `None` if it is not open.
/// Allocates nothing.
pub(crate) fn file_identity(fd: RawFd) -> Option<(u64, u64)> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fstat` writes a `stat` into the buffer we own, or fails and writes nothing we read.
    let ok = unsafe { libc::fstat(fd, stat.as_mut_ptr()) } == 0;
    // SAFETY: initialised by the successful `fstat` above.
    let stat = ok.then(|| unsafe { stat.assume_init() })?;
    #[allow(clippy::unnecessary_cast)] // not u64 everywhere
    Some((stat.st_dev as u64, stat.st_ino as u64))
}

/// How many descriptors this process may have open (`RLIMIT_NOFILE`'s soft limit). Allocates
/// nothing.
pub(crate) fn descriptor_limit() -> usize {
    match nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE) {
        Ok((soft, _)) => usize::try_from(soft).unwrap_or(usize::MAX),
        Err(_) => WATCHED_DESCRIPTORS,
    }
}

/// What descriptor `fd` refers to, as a person reads it: a path, `socket`, `pipe`, or the
/// kernel's name for it. Through `/proc/self/fd` on Linux; elsewhere macOS's `F_GETPATH` for a
/// file, and the file type for a socket or a pipe.
pub(crate) fn descriptor_target(fd: i32) -> String {
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    return path_or_kind(fd).unwrap_or_else(|| "unknown".to_owned());
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let target = std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .map(|target| target.display().to_string())
            .unwrap_or_else(|_| "unknown".to_owned());
        for kind in ["socket", "pipe"] {
            if target.starts_with(&format!("{kind}:[")) {
                return kind.to_owned();
            }
        }
        target
    }
}

/// [`descriptor_target`] without `/proc`: the path macOS keeps for a file, else `socket` or
/// `pipe` by the file's type.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn path_or_kind(fd: i32) -> Option<String> {
    #[cfg(target_vendor = "apple")]
    {
        let mut path = [0u8; libc::PATH_MAX as usize];
        // SAFETY: `F_GETPATH` writes a NUL-terminated path of at most `PATH_MAX` bytes into the
        // buffer we own, or fails and writes nothing we read.
        if unsafe { libc::fcntl(fd, libc::F_GETPATH, path.as_mut_ptr()) } == 0 {
            if let Ok(path) = std::ffi::CStr::from_bytes_until_nul(&path) {
                return Some(path.to_string_lossy().into_owned());
            }
        }
    }
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fstat` writes a `stat` into the buffer we own, or fails and writes nothing we read.
    if unsafe { libc::fstat(fd, stat.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: initialised by the successful `fstat` above.
    match unsafe { stat.assume_init() }.st_mode & libc::S_IFMT {
        libc::S_IFSOCK => Some("socket".to_owned()),
        libc::S_IFIFO => Some("pipe".to_owned()),
        _ => None,
    }
}

/// The inode of the file open on `fd`. Allocates nothing.
pub(crate) fn inode_of(fd: RawFd) -> Option<u64> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fstat` writes a `stat` into the buffer we own, or fails and writes nothing we read.
    let ok = unsafe { libc::fstat(fd, stat.as_mut_ptr()) } == 0;
    #[allow(clippy::unnecessary_cast)] // `st_ino` is not u64 everywhere
    // SAFETY: initialised by the successful `fstat` above.
    ok.then(|| unsafe { stat.assume_init() }.st_ino as u64)
}
