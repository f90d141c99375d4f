//! The child's end of its result channel: where frames go, from the test's process only. Must
//! not allocate: clues are sent from inside the allocator and from signal handlers.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering::Relaxed};

use crate::protocol::{self, Message};

/// The channel of the child this process is, if it is one.
static FD: AtomicI32 = AtomicI32::new(-1);
static TOKEN: AtomicU64 = AtomicU64::new(0);
/// The inode of the channel's pipe, to notice a test that put another file on its descriptor.
static INODE: AtomicU64 = AtomicU64::new(0);
/// The process the harness forked for the test.
static TEST_PID: AtomicI32 = AtomicI32::new(0);
static CLUE_FRAMES_SENT: AtomicU32 = AtomicU32::new(0);

/// Makes `fd` this child's channel, its frames carrying `token`. Call in the forked child, once.
pub(crate) fn open(fd: RawFd, token: u64) {
    FD.store(fd, Relaxed);
    TOKEN.store(token, Relaxed);
    INODE.store(inode_of(fd).unwrap_or(0), Relaxed);
    // SAFETY: `getpid` has no preconditions.
    TEST_PID.store(unsafe { libc::getpid() }, Relaxed);
}

/// Whether this process is a child with a channel.
pub(crate) fn is_open() -> bool {
    FD.load(Relaxed) >= 0
}

/// Whether this is the process the harness forked, not a copy the test forked from it: only that
/// one speaks for the test.
pub(crate) fn is_test_process() -> bool {
    // SAFETY: `getpid` has no preconditions.
    TEST_PID.load(Relaxed) == unsafe { libc::getpid() }
}

/// Whether one more clue may be sent: past [`protocol::MAX_CLUE_FRAMES`], none is.
pub(crate) fn take_clue_slot() -> bool {
    CLUE_FRAMES_SENT.fetch_add(1, Relaxed) < protocol::MAX_CLUE_FRAMES
}

/// Whether the channel's descriptor is still the pipe it was (a test may close or replace it).
pub(crate) fn is_intact() -> bool {
    inode_of(FD.load(Relaxed)).is_some_and(|inode| inode == INODE.load(Relaxed))
}

/// Writes one frame carrying `message`. Allocates.
pub(crate) fn write(message: Message) -> std::io::Result<()> {
    write_all(
        FD.load(Relaxed),
        &protocol::encode(TOKEN.load(Relaxed), message),
    )
}

/// Sends a clue frame built on the stack: from inside the allocator or a signal handler, where
/// allocating could deadlock; from the test's process only. Clues past
/// [`protocol::MAX_CLUE_FRAMES`] are dropped.
pub(crate) fn send_clue_without_allocating(message: Message) {
    if !is_open() || !is_test_process() || !take_clue_slot() {
        return;
    }
    let mut frame = [0u8; 512];
    if let Some(length) = protocol::encode_into(&mut frame, TOKEN.load(Relaxed), message) {
        let _ = write_all(FD.load(Relaxed), &frame[..length]);
    }
}

/// Called by the counting allocator when the allocator under it returned null: if the child then
/// aborts (`handle_alloc_error`), the parent knows why. Allocates nothing.
pub(crate) fn report_failed_allocation(size: usize) {
    send_clue_without_allocating(Message::AllocationFailed { size: size as u64 });
}

/// Called by the counting allocator when an allocation of `size` bytes would take the test's live
/// heap (`live` now) over its memory `limit`; the allocation then fails. Allocates nothing.
pub(crate) fn report_memory_limit(limit: u64, size: u64, live: u64) {
    send_clue_without_allocating(Message::MemoryLimit { limit, size, live });
}

fn inode_of(fd: RawFd) -> Option<u64> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fstat` writes a `stat` into the buffer we own, or fails and writes nothing we read.
    let ok = unsafe { libc::fstat(fd, stat.as_mut_ptr()) } == 0;
    // SAFETY: initialised by the successful `fstat` above.
    #[allow(clippy::unnecessary_cast)] // `st_ino` is not u64 everywhere
    ok.then(|| unsafe { stat.assume_init() }.st_ino as u64)
}

fn write_all(fd: RawFd, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a live buffer of the given length; `fd` is a plain descriptor number.
        let written = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if written < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        bytes = &bytes[written as usize..];
    }
    Ok(())
}
