//! The allocator's counters, cheap on the thread that runs the test.
//!
//! A child runs its test's body on the test's thread, which makes most of the allocations (the
//! harness runs on its main thread). A counter is split in two: that one thread's share, which no
//! other thread writes, so that it adds with a plain `add` (no `lock` prefix, no bus lock); and
//! every other thread's share, added atomically. Its value is the sum of the two. A reader on any thread sees each share whole (an
//! aligned 8-byte store is atomic on x86-64).
//!
//! These run at the user's opt-level, 0 in a debug test build, where `fetch_add` is a chain of
//! calls that are never inlined; on x86-64 each step is written in place with `asm!`. Elsewhere
//! every thread adds to the atomic share with `fetch_add`.

use std::sync::atomic::{AtomicI64, AtomicU8, Ordering::Relaxed};

/// The allocator's counters and mode, in one static so that the fast path's assembly reaches
/// every field through one pointer (`repr(C)`: its offsets are fixed).
#[repr(C)]
pub(crate) struct Counters {
    pub(crate) live_bytes: SplitCounter,
    pub(crate) allocated_blocks: SplitCounter,
    pub(crate) freed_blocks: SplitCounter,
    /// The highest `live_bytes` since the test began.
    pub(crate) peak_bytes: AtomicI64,
    /// The thread pointer of the thread whose share is added without a lock: the harness's main
    /// thread, in a child the test's thread ([`claim_unlocked_share`]); 0: none.
    pub(crate) unlocked_thread: AtomicI64,
    /// What the allocator does beyond counting, as the bits `counting` defines; 0: counting only.
    pub(crate) mode: AtomicU8,
}

pub(crate) static COUNTERS: Counters = Counters {
    live_bytes: SplitCounter::new(),
    allocated_blocks: SplitCounter::new(),
    freed_blocks: SplitCounter::new(),
    peak_bytes: AtomicI64::new(0),
    unlocked_thread: AtomicI64::new(0),
    mode: AtomicU8::new(0),
};

/// Makes the calling thread the one whose share is added without a lock: the harness's `main`
/// before it starts any thread or forks, a child's test thread before its body. Until then every
/// thread adds atomically.
pub(crate) fn claim_unlocked_share() {
    COUNTERS
        .unlocked_thread
        .store(thread_pointer() as i64, Relaxed);
}

/// From now on every thread adds atomically: a child's main thread gives its share up before it
/// starts the test's thread, which claims it ([`claim_unlocked_share`]). The shares are still
/// summed: only who writes the unlocked one changes.
pub(crate) fn release_unlocked_share() {
    COUNTERS.unlocked_thread.store(0, Relaxed);
}

/// Whether the calling thread adds without a lock.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn on_unlocked_thread() -> bool {
    let owner = load(&COUNTERS.unlocked_thread);
    owner != 0 && owner == thread_pointer() as i64
}

/// The calling thread's thread pointer: on x86-64 Linux the first word of its thread control
/// block, which points to itself (glibc's and musl's `pthread_self()`); distinct for each live
/// thread.
#[inline(always)]
fn thread_pointer() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let pointer: usize;
        // SAFETY: reads the word at offset 0 of the thread's TLS segment, which the x86-64 TLS ABI
        // defines as the thread control block's pointer to itself.
        unsafe {
            std::arch::asm!(
                "mov {pointer}, qword ptr fs:[0]",
                pointer = out(reg) pointer,
                options(nostack, readonly, preserves_flags),
            );
        }
        pointer
    }
    #[cfg(not(target_arch = "x86_64"))]
    0
}

/// A count split between the thread that adds without a lock and the others; see the module's
/// docs. `repr(C)`: the unlocked share first, the others' 8 bytes on.
#[repr(C)]
pub(crate) struct SplitCounter {
    unlocked: AtomicI64,
    others: AtomicI64,
}

impl SplitCounter {
    /// Where the unlocked share is, in bytes from the counter's start: for the fast path's
    /// assembly, which exists on x86-64 Linux alone.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    pub(crate) const UNLOCKED_SHARE: usize = std::mem::offset_of!(SplitCounter, unlocked);
    /// Where the other threads' share is.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    pub(crate) const OTHERS_SHARE: usize = std::mem::offset_of!(SplitCounter, others);

    pub(crate) const fn new() -> Self {
        Self {
            unlocked: AtomicI64::new(0),
            others: AtomicI64::new(0),
        }
    }

    /// Adds `value`: without a lock on the thread that owns the unlocked share, atomically on any
    /// other.
    #[inline(always)]
    pub(crate) fn add(&self, value: i64) {
        #[cfg(target_arch = "x86_64")]
        {
            if on_unlocked_thread() {
                // SAFETY: an unlocked add to the unlocked share's own 8 aligned bytes, which only this
                // thread writes: a relaxed load and store that no other write can come between.
                // A signal handler on this thread runs before or after the one instruction.
                unsafe {
                    std::arch::asm!(
                        "add qword ptr [{counter}], {value}",
                        counter = in(reg) &self.unlocked as *const AtomicI64,
                        value = in(reg) value,
                        options(nostack),
                    );
                }
            } else {
                // SAFETY: a locked add to the other threads' share's own 8 aligned bytes:
                // `fetch_add`'s atomic read-modify-write (`AtomicI64` has `i64`'s layout).
                unsafe {
                    std::arch::asm!(
                        "lock add qword ptr [{counter}], {value}",
                        counter = in(reg) &self.others as *const AtomicI64,
                        value = in(reg) value,
                        options(nostack),
                    );
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.others.fetch_add(value, Relaxed);
    }

    /// The count: both shares.
    #[inline(always)]
    pub(crate) fn total(&self) -> i64 {
        load(&self.unlocked).wrapping_add(load(&self.others))
    }
}

/// `load(Relaxed)`, written in place on x86-64.
#[inline(always)]
pub(crate) fn load(counter: &AtomicI64) -> i64 {
    #[cfg(target_arch = "x86_64")]
    {
        let value: i64;
        // SAFETY: an aligned 8-byte load is atomic on x86-64: a relaxed load.
        unsafe {
            std::arch::asm!(
                "mov {value}, qword ptr [{counter}]",
                counter = in(reg) counter as *const AtomicI64,
                value = out(reg) value,
                options(nostack, readonly, preserves_flags),
            );
        }
        value
    }
    #[cfg(not(target_arch = "x86_64"))]
    counter.load(Relaxed)
}

/// [`load`] of a byte.
#[inline(always)]
pub(crate) fn load_byte(byte: &AtomicU8) -> u8 {
    #[cfg(target_arch = "x86_64")]
    {
        let value: u8;
        // SAFETY: a byte load is atomic: a relaxed load.
        unsafe {
            std::arch::asm!(
                "mov {value}, byte ptr [{byte}]",
                byte = in(reg) byte as *const AtomicU8,
                value = out(reg_byte) value,
                options(nostack, readonly, preserves_flags),
            );
        }
        value
    }
    #[cfg(not(target_arch = "x86_64"))]
    byte.load(Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_thread_counts_and_the_sum_is_the_count() {
        static COUNTER: SplitCounter = SplitCounter::new();
        claim_unlocked_share();
        for _ in 0..1000 {
            COUNTER.add(3);
        }
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..1000 {
                        COUNTER.add(-1);
                    }
                });
            }
        });
        assert_eq!(COUNTER.total(), 3000 - 4000);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            (COUNTER.unlocked.load(Relaxed), COUNTER.others.load(Relaxed)),
            (3000, -4000)
        );
    }
}
