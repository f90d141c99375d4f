//! The counting global allocator behind the leak verdicts.
//!
//! Counters are process-global relaxed atomics: a child runs one test on one thread, so a snapshot
//! taken on that thread before and after the body sees every allocation the body made (threads it
//! spawned and joined included).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use serde::{Deserialize, Serialize};

static ALLOCATED_BYTES: AtomicU64 = AtomicU64::new(0);
static ALLOCATED_BLOCKS: AtomicU64 = AtomicU64::new(0);
static FREED_BYTES: AtomicU64 = AtomicU64::new(0);
static FREED_BLOCKS: AtomicU64 = AtomicU64::new(0);

/// A [`GlobalAlloc`] that counts bytes and blocks, wrapping another allocator ([`System`] by
/// default).
///
/// [`main!`](crate::main) installs it for you; name it yourself only to wrap another allocator:
///
/// ```
/// use isolated_test::CountingAllocator;
///
/// #[global_allocator]
/// static ALLOCATOR: CountingAllocator<std::alloc::System> =
///     CountingAllocator::new(std::alloc::System);
/// # fn main() {}
/// ```
pub struct CountingAllocator<A = System> {
    inner: A,
}

impl<A> CountingAllocator<A> {
    /// Wraps `inner`, counting every allocation that goes through it.
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }
}

fn count_alloc(ptr: *mut u8, size: usize) {
    if ptr.is_null() {
        crate::child::report_failed_allocation(size);
        return;
    }
    ALLOCATED_BYTES.fetch_add(size as u64, Relaxed);
    ALLOCATED_BLOCKS.fetch_add(1, Relaxed);
}

fn count_free(size: usize) {
    FREED_BYTES.fetch_add(size as u64, Relaxed);
    FREED_BLOCKS.fetch_add(1, Relaxed);
}

// SAFETY: every method forwards to the wrapped allocator with the caller's arguments unchanged and
// returns its result; counting has no effect on the memory handed out.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from our caller, who upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { self.inner.alloc(layout) };
        count_alloc(ptr, layout.size());
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        count_alloc(ptr, layout.size());
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count_free(layout.size());
        // SAFETY: `ptr` and `layout` come from our caller, who got `ptr` from this allocator.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; `new_size` is checked by our caller.
        let new = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // A successful realloc frees the old block and hands out a new one.
            count_free(layout.size());
        }
        count_alloc(new, new_size);
        new
    }
}

/// Whether the process's global allocator counts: one allocation must move the counters.
pub(crate) fn counting_is_installed() -> bool {
    let before = ALLOCATED_BLOCKS.load(Relaxed);
    drop(std::hint::black_box(Box::new(0u64)));
    ALLOCATED_BLOCKS.load(Relaxed) != before
}

/// The allocator's counters at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct HeapSnapshot {
    allocated_bytes: u64,
    allocated_blocks: u64,
    freed_bytes: u64,
    freed_blocks: u64,
}

impl HeapSnapshot {
    pub(crate) fn now() -> Self {
        Self {
            allocated_bytes: ALLOCATED_BYTES.load(Relaxed),
            allocated_blocks: ALLOCATED_BLOCKS.load(Relaxed),
            freed_bytes: FREED_BYTES.load(Relaxed),
            freed_blocks: FREED_BLOCKS.load(Relaxed),
        }
    }

    /// What happened to the heap between `self` and `later`.
    pub(crate) fn delta_to(self, later: HeapSnapshot) -> HeapDelta {
        let live = |alloc: u64, free: u64| alloc as i64 - free as i64;
        HeapDelta {
            net_bytes: live(later.allocated_bytes, later.freed_bytes)
                - live(self.allocated_bytes, self.freed_bytes),
            net_blocks: live(later.allocated_blocks, later.freed_blocks)
                - live(self.allocated_blocks, self.freed_blocks),
            allocations: later.allocated_blocks - self.allocated_blocks,
        }
    }
}

impl HeapDelta {
    /// Whether the heap holds more than before: bytes or blocks.
    pub(crate) fn holds_memory(&self) -> bool {
        self.net_bytes > 0 || self.net_blocks > 0
    }
}

/// Heap growth that happened during a test but belongs to the harness, to be taken off the test's.
pub(crate) struct HeapCharge {
    net_bytes: AtomicI64,
    net_blocks: AtomicI64,
    allocations: AtomicU64,
}

impl HeapCharge {
    pub(crate) const fn new() -> Self {
        Self {
            net_bytes: AtomicI64::new(0),
            net_blocks: AtomicI64::new(0),
            allocations: AtomicU64::new(0),
        }
    }

    pub(crate) fn charge(&self, delta: HeapDelta) {
        self.net_bytes.fetch_add(delta.net_bytes, Relaxed);
        self.net_blocks.fetch_add(delta.net_blocks, Relaxed);
        self.allocations.fetch_add(delta.allocations, Relaxed);
    }

    pub(crate) fn deduct_from(&self, delta: HeapDelta) -> HeapDelta {
        HeapDelta {
            net_bytes: delta.net_bytes - self.net_bytes.load(Relaxed),
            net_blocks: delta.net_blocks - self.net_blocks.load(Relaxed),
            allocations: delta.allocations - self.allocations.load(Relaxed),
        }
    }
}

/// The heap growth of one test body, as the counting allocator saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeapDelta {
    /// Bytes allocated and not freed (negative when the body freed more than it allocated).
    pub net_bytes: i64,
    /// Blocks allocated and not freed.
    pub net_blocks: i64,
    /// Every allocation the body made, freed or not.
    pub allocations: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_counts_net_growth() {
        let before = HeapSnapshot {
            allocated_bytes: 100,
            allocated_blocks: 2,
            freed_bytes: 40,
            freed_blocks: 1,
        };
        let after = HeapSnapshot {
            allocated_bytes: 164,
            allocated_blocks: 5,
            freed_bytes: 72,
            freed_blocks: 3,
        };
        let delta = before.delta_to(after);
        assert_eq!(delta.net_bytes, 32);
        assert_eq!(delta.net_blocks, 1);
        assert_eq!(delta.allocations, 3);
    }

    #[test]
    fn delta_can_shrink() {
        let before = HeapSnapshot {
            allocated_bytes: 10,
            allocated_blocks: 1,
            ..Default::default()
        };
        let after = HeapSnapshot {
            freed_bytes: 10,
            freed_blocks: 1,
            ..before
        };
        assert_eq!(before.delta_to(after).net_bytes, -10);
    }
}
