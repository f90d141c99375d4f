//! The child's end of its result channel: where frames go, from the test's process only, and
//! which process and thread that is. Clues are sent from inside the allocator and from signal
//! handlers.

use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};

use crate::sys;
use crate::wire::{self, Message};

/// No channel: this process is no test's child.
const NONE: u64 = u64::MAX;
/// The channel of the child this process is, if it is one: a descriptor's number, or on Windows
/// a handle's value.
static CHANNEL: AtomicU64 = AtomicU64::new(NONE);
static TOKEN: AtomicU64 = AtomicU64::new(0);
#[cfg(unix)]
/// The inode of the channel's pipe, to notice a test that put another file on its descriptor.
static INODE: AtomicU64 = AtomicU64::new(0);
/// The process the harness forked for the test.
static TEST_PID: AtomicI32 = AtomicI32::new(0);
static CLUE_FRAMES_SENT: AtomicU32 = AtomicU32::new(0);
/// The thread running the body: panics on other threads are the test's business.
static TEST_THREAD: AtomicUsize = AtomicUsize::new(0);

/// Makes `channel` this child's channel, its frames carrying `token`, and the calling thread the
/// test's. Call in the test's child, once.
pub(crate) fn open(channel: u64, token: u64) {
    CHANNEL.store(channel, Relaxed);
    TOKEN.store(token, Relaxed);
    #[cfg(unix)]
    INODE.store(
        sys::descriptor_table::inode_of(channel as i32).unwrap_or(0),
        Relaxed,
    );
    TEST_PID.store(process_id(), Relaxed);
    claim_test_thread();
}

/// This process's id. Allocates nothing.
fn process_id() -> i32 {
    #[cfg(unix)]
    return nix::unistd::getpid().as_raw();
    #[cfg(windows)]
    return std::process::id() as i32;
}

/// The calling thread, as a number. Allocates nothing.
fn this_thread() -> usize {
    // SAFETY: `pthread_self` has no preconditions.
    #[cfg(unix)]
    return unsafe { libc::pthread_self() } as usize;
    #[cfg(windows)]
    return sys::threads::current_thread_id() as usize;
}

/// Makes the calling thread the test's: the one whose panics are the test's and whose stack the
/// stuck signal unwinds. Allocates nothing.
pub(crate) fn claim_test_thread() {
    TEST_THREAD.store(this_thread(), Relaxed);
}

/// Closes the channel, once the final word is sent: the harness sees its end at once, not after
/// the kernel has torn this process down, and can start the next test meanwhile.
pub(crate) fn close() {
    let channel = CHANNEL.swap(NONE, Relaxed);
    if channel == NONE {
        return;
    }
    #[cfg(unix)]
    sys::descriptors::close_raw(channel as i32);
    #[cfg(windows)]
    sys::windows::handles::close(channel);
}

/// Whether this is the test's thread in the process the harness forked (a process the test
/// forks from its thread has a thread of the same id).
pub(crate) fn on_test_thread() -> bool {
    TEST_THREAD.load(Relaxed) == this_thread() && is_test_process()
}

/// The test's thread, for a signal that must reach it.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn test_thread() -> libc::pthread_t {
    TEST_THREAD.load(Relaxed) as libc::pthread_t
}

/// Whether this process is a child with a channel.
pub(crate) fn is_open() -> bool {
    CHANNEL.load(Relaxed) != NONE
}

/// Whether this is the process the harness forked, not a copy the test forked from it: only that
/// one speaks for the test.
pub(crate) fn is_test_process() -> bool {
    TEST_PID.load(Relaxed) == process_id()
}

/// Whether one more clue may be sent: past [`wire::MAX_CLUE_FRAMES`], none is.
pub(crate) fn take_clue_slot() -> bool {
    CLUE_FRAMES_SENT.fetch_add(1, Relaxed) < wire::MAX_CLUE_FRAMES
}

/// Whether the channel's descriptor is still the pipe it was (a test may close or replace it).
/// On Windows a test has no number to close it by: a write that fails tells.
pub(crate) fn is_intact() -> bool {
    #[cfg(unix)]
    return sys::descriptor_table::inode_of(CHANNEL.load(Relaxed) as i32)
        .is_some_and(|inode| inode == INODE.load(Relaxed));
    #[cfg(windows)]
    return is_open();
}

/// The token every frame of this child carries.
pub(crate) fn token() -> u64 {
    TOKEN.load(Relaxed)
}

/// Writes one encoded frame.
pub(crate) fn write_frame(frame: &[u8]) -> std::io::Result<()> {
    #[cfg(unix)]
    return sys::raw_io::write_all(CHANNEL.load(Relaxed) as i32, frame);
    #[cfg(windows)]
    return sys::windows::handles::write_all(CHANNEL.load(Relaxed), frame);
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
