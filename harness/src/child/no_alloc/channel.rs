//! The child's end of its result channel: where frames go, from the test's process only, and
//! which process and thread that is. Clues are sent from inside the allocator and from signal
//! handlers.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};

use crate::sys;
use crate::wire::{self, Message};

/// The channel of the child this process is, if it is one.
static FD: AtomicI32 = AtomicI32::new(-1);
static TOKEN: AtomicU64 = AtomicU64::new(0);
/// The inode of the channel's pipe, to notice a test that put another file on its descriptor.
static INODE: AtomicU64 = AtomicU64::new(0);
/// The process the harness forked for the test.
static TEST_PID: AtomicI32 = AtomicI32::new(0);
static CLUE_FRAMES_SENT: AtomicU32 = AtomicU32::new(0);
/// The thread running the body: panics on other threads are the test's business.
static TEST_THREAD: AtomicUsize = AtomicUsize::new(0);

/// Makes `fd` this child's channel, its frames carrying `token`, and the calling thread the
/// test's. Call in the forked child, once.
pub(crate) fn open(fd: RawFd, token: u64) {
    FD.store(fd, Relaxed);
    TOKEN.store(token, Relaxed);
    INODE.store(sys::descriptor_table::inode_of(fd).unwrap_or(0), Relaxed);
    TEST_PID.store(nix::unistd::getpid().as_raw(), Relaxed);
    claim_test_thread();
}

/// Makes the calling thread the test's: the one whose panics are the test's and whose stack the
/// stuck signal unwinds. Allocates nothing.
pub(crate) fn claim_test_thread() {
    // SAFETY: `pthread_self` has no preconditions.
    TEST_THREAD.store(unsafe { libc::pthread_self() } as usize, Relaxed);
}

/// Closes the channel, once the final word is sent: the harness sees its end at once, not after
/// the kernel has torn this process down, and can start the next test meanwhile.
pub(crate) fn close() {
    let fd = FD.swap(-1, Relaxed);
    if fd >= 0 {
        sys::descriptors::close_raw(fd);
    }
}

/// Whether this is the test's thread in the process the harness forked (a process the test
/// forks from its thread has a thread of the same id).
pub(crate) fn on_test_thread() -> bool {
    // SAFETY: `pthread_self` has no preconditions.
    let me = unsafe { libc::pthread_self() } as usize;
    TEST_THREAD.load(Relaxed) == me && is_test_process()
}

/// The test's thread, for a signal that must reach it.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn test_thread() -> libc::pthread_t {
    TEST_THREAD.load(Relaxed) as libc::pthread_t
}

/// Whether this process is a child with a channel.
pub(crate) fn is_open() -> bool {
    FD.load(Relaxed) >= 0
}

/// Whether this is the process the harness forked, not a copy the test forked from it: only that
/// one speaks for the test.
pub(crate) fn is_test_process() -> bool {
    TEST_PID.load(Relaxed) == nix::unistd::getpid().as_raw()
}

/// Whether one more clue may be sent: past [`wire::MAX_CLUE_FRAMES`], none is.
pub(crate) fn take_clue_slot() -> bool {
    CLUE_FRAMES_SENT.fetch_add(1, Relaxed) < wire::MAX_CLUE_FRAMES
}

/// Whether the channel's descriptor is still the pipe it was (a test may close or replace it).
pub(crate) fn is_intact() -> bool {
    sys::descriptor_table::inode_of(FD.load(Relaxed))
        .is_some_and(|inode| inode == INODE.load(Relaxed))
}

/// The token every frame of this child carries.
pub(crate) fn token() -> u64 {
    TOKEN.load(Relaxed)
}

/// Writes one encoded frame.
pub(crate) fn write_frame(frame: &[u8]) -> std::io::Result<()> {
    sys::raw_io::write_all(FD.load(Relaxed), frame)
}

/// Sends a clue frame built on the stack: from inside the allocator or a signal handler, where
/// allocating could deadlock; from the test's process only. Clues past
/// [`wire::MAX_CLUE_FRAMES`] are dropped.
pub(crate) fn send_clue_without_allocating(message: Message) {
    if !is_open() || !is_test_process() || !take_clue_slot() {
        return;
    }
    let mut frame = [0u8; 512];
    if let Some(length) = wire::encode_into(&mut frame, TOKEN.load(Relaxed), message) {
        let _ = write_frame(&frame[..length]);
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
