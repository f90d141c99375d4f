//! The counting global allocator behind the leak verdicts.
//!
//! Counters are process-global, split between one thread and the others ([`counter`]): a child
//! runs one test on the test's thread, so a snapshot taken there before and after the body
//! sees every allocation the body made (threads it spawned and joined included).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering::Relaxed};

use super::counter::{self, SplitCounter, COUNTERS};
use super::{channel, fast_path, table, tracking_heap};
use crate::outcome::HeapDelta;

const LIVE_BYTES: &SplitCounter = &COUNTERS.live_bytes;
const ALLOCATED_BLOCKS: &SplitCounter = &COUNTERS.allocated_blocks;
const FREED_BLOCKS: &SplitCounter = &COUNTERS.freed_blocks;
/// The highest `LIVE_BYTES` since [`begin_test`].
const PEAK_BYTES: &AtomicI64 = &COUNTERS.peak_bytes;
/// `LIVE_BYTES` and `EXCUSED_BYTES` when the test's body began.
static TEST_BASE_BYTES: AtomicI64 = AtomicI64::new(0);
static TEST_BASE_EXCUSED: AtomicI64 = AtomicI64::new(0);
/// Live heap that belongs to the harness though a test's body made it grow (std's panic hook
/// keeps its backtrace caches): left out of limits and peaks.
static EXCUSED_BYTES: AtomicI64 = AtomicI64::new(0);
/// The most `LIVE_BYTES` an allocation may bring about while [`LIMITED`].
static LIMIT_BYTES: AtomicI64 = AtomicI64::new(i64::MAX);

/// Set once a block came from a `CountingAllocator` that does not call `malloc` itself (one that
/// wraps a suite's own allocator): no test then tracks its allocations from its first run, which
/// would hand the body's blocks to the tracking heap instead of to that allocator.
static WRAPS_ANOTHER: AtomicBool = AtomicBool::new(false);

/// Whether the counting allocator wraps an allocator other than `System`'s `malloc` (see
/// [`WRAPS_ANOTHER`]). Call in the harness, which has allocated by then.
pub(crate) fn wraps_another_allocator() -> bool {
    WRAPS_ANOTHER.load(Relaxed)
}

/// What the allocator does beyond counting, as bits: one load tells the common case (none) apart.
const MODE: &AtomicU8 = &COUNTERS.mode;
/// A memory limit is set.
const LIMITED: u8 = 1;
/// New allocations are recorded for leak sites.
const RECORDING: u8 = 2;
/// Frees are looked up among the recorded allocations.
const TRACKED: u8 = 4;
/// The harness's panic hook runs: its allocations count for no peak, no limit and no site.
const PAUSED: u8 = 8;
/// A tracked run's heap of its own exists: frees look there first.
const OWN_HEAP: u8 = 16;

/// A [`GlobalAlloc`] that counts bytes and blocks, wrapping another allocator ([`System`] by
/// default).
///
/// [`main!`](crate::main) installs `CountingAllocator::system()` for you; name it yourself only to
/// wrap another allocator:
///
/// ```
/// use std::alloc::{GlobalAlloc, Layout, System};
/// use isolated_test::CountingAllocator;
///
/// /// An allocator of your own; here one that hands every request to `System`.
/// struct MyAllocator;
///
/// unsafe impl GlobalAlloc for MyAllocator {
///     unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
///         unsafe { System.alloc(layout) }
///     }
///     unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
///         unsafe { System.dealloc(ptr, layout) }
///     }
/// }
///
/// #[global_allocator]
/// static ALLOCATOR: CountingAllocator<MyAllocator> = CountingAllocator::new(MyAllocator);
/// # fn main() {}
/// ```
pub struct CountingAllocator<A = System> {
    inner: A,
    /// `inner` is `System`: the common case may call `malloc` and `free` itself ([`fast_path`]).
    calls_malloc: bool,
}

impl<A> CountingAllocator<A> {
    /// Wraps `inner`, counting every allocation that goes through it.
    pub const fn new(inner: A) -> Self {
        Self {
            inner,
            calls_malloc: false,
        }
    }
}

impl CountingAllocator<System> {
    /// Counts every allocation of [`System`], the common ones on a path written in assembly on
    /// x86-64 Linux, as cheap in a debug build as in a release one. What
    /// [`main!`](crate::main) installs; `CountingAllocator::new(System)` counts the same, more
    /// slowly.
    pub const fn system() -> Self {
        Self {
            inner: System,
            calls_malloc: true,
        }
    }
}

impl Default for CountingAllocator<System> {
    fn default() -> Self {
        Self::system()
    }
}

/// `MODE.load(Relaxed)`, written in place on x86-64 (see [`counter`]).
#[inline(always)]
fn mode() -> u8 {
    counter::load_byte(MODE)
}

/// Whether `growth` more bytes stay within the test's memory limit; if not, tells the parent,
/// without allocating, before the allocation fails.
#[inline(always)]
fn within_limit(mode: u8, growth: usize) -> bool {
    mode & (LIMITED | PAUSED) != LIMITED || admits(growth)
}

fn admits(growth: usize) -> bool {
    let (live, limit) = (LIVE_BYTES.total(), LIMIT_BYTES.load(Relaxed));
    if live.saturating_add(growth as i64) <= limit {
        return true;
    }
    let base = TEST_BASE_BYTES.load(Relaxed);
    let excused = EXCUSED_BYTES.load(Relaxed) - TEST_BASE_EXCUSED.load(Relaxed);
    channel::report_memory_limit(
        (limit - base - excused) as u64,
        growth as u64,
        (live - base - excused).max(0) as u64,
    );
    false
}

/// [`count_alloc`] with no mode bit set: one test fewer per step, in the hot path.
#[inline(always)]
fn count_plain_alloc(ptr: *mut u8, size: usize) {
    if ptr.is_null() {
        channel::report_failed_allocation(size);
        return;
    }
    LIVE_BYTES.add(size as i64);
    ALLOCATED_BLOCKS.add(1);
    let live = LIVE_BYTES.total();
    if live > counter::load(PEAK_BYTES) {
        PEAK_BYTES.fetch_max(live, Relaxed);
    }
}

#[inline(always)]
fn count_alloc(mode: u8, ptr: *mut u8, size: usize) {
    if ptr.is_null() {
        channel::report_failed_allocation(size);
        return;
    }
    LIVE_BYTES.add(size as i64);
    ALLOCATED_BLOCKS.add(1);
    let live = LIVE_BYTES.total();
    if live > PEAK_BYTES.load(Relaxed) && mode & PAUSED == 0 {
        PEAK_BYTES.fetch_max(live, Relaxed);
    }
    if mode & (RECORDING | PAUSED) == RECORDING {
        table::record_alloc(ptr as usize, size);
    }
}

#[inline(always)]
fn count_free(mode: u8, ptr: *mut u8, size: usize) {
    LIVE_BYTES.add(-(size as i64));
    FREED_BLOCKS.add(1);
    if mode & TRACKED != 0 {
        table::record_free(ptr as usize);
    }
}

/// Whether a new block comes from the tracked run's heap of its own: while the body runs.
#[inline(always)]
fn from_own_heap(mode: u8) -> bool {
    mode & (RECORDING | PAUSED | OWN_HEAP) == RECORDING | OWN_HEAP
}

/// Whether `ptr` was handed out by the tracked run's heap of its own.
#[inline(always)]
fn in_own_heap(mode: u8, ptr: *mut u8) -> bool {
    mode & OWN_HEAP != 0 && tracking_heap::contains(ptr)
}

/// Starts a test's measurements: its peak from here, its memory limit (bytes over the live heap
/// now), and, for a leak-site run, the recording of its allocations.
pub(crate) fn begin_test(memory_limit: Option<u64>, record: bool) {
    let base = LIVE_BYTES.total();
    TEST_BASE_BYTES.store(base, Relaxed);
    TEST_BASE_EXCUSED.store(EXCUSED_BYTES.load(Relaxed), Relaxed);
    PEAK_BYTES.store(base, Relaxed);
    let mut mode = 0;
    if let Some(limit) = memory_limit {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        LIMIT_BYTES.store(base.saturating_add(limit), Relaxed);
        mode |= LIMITED;
    }
    if record {
        mode |= RECORDING | TRACKED;
        if tracking_heap::start() {
            mode |= OWN_HEAP;
        }
    }
    MODE.fetch_or(mode, Relaxed);
}

/// Ends the test's limit and recording, so the harness can report freely; returns its peak over
/// the base, less what the harness was excused.
pub(crate) fn end_test() -> u64 {
    MODE.fetch_and(!(LIMITED | RECORDING), Relaxed);
    let excused = EXCUSED_BYTES.load(Relaxed) - TEST_BASE_EXCUSED.load(Relaxed);
    (PEAK_BYTES.load(Relaxed) - TEST_BASE_BYTES.load(Relaxed) - excused).max(0) as u64
}

/// Stops looking up frees among the recorded allocations: the tracked run's table is read.
pub(crate) fn stop_tracking() {
    MODE.fetch_and(!TRACKED, Relaxed);
}

/// Runs `f` (the harness's own panic reporting) without its allocations counting towards the
/// test's peak, limit or leak sites.
pub(crate) fn paused<T>(f: impl FnOnce() -> T) -> T {
    let was = MODE.fetch_or(PAUSED, Relaxed) & PAUSED;
    let result = f();
    if was == 0 {
        MODE.fetch_and(!PAUSED, Relaxed);
    }
    result
}

// SAFETY: every method forwards to the wrapped allocator with the caller's arguments unchanged and
// returns its result, except in a run that tracks allocations, where the body's blocks come from
// the tracking heap (valid, aligned blocks of at least the size asked) and are given back to it;
// a block moves between the two only by copying it whole into a new one. Counting has no effect
// on the memory handed out.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.calls_malloc {
            // SAFETY: `inner` is `System`, whose blocks of such a layout come from `malloc`; the
            // caller upholds `GlobalAlloc::alloc`'s contract.
            let block = unsafe { fast_path::alloc(layout) };
            if block as usize != 0 {
                return block;
            }
        } else if !WRAPS_ANOTHER.load(Relaxed) {
            WRAPS_ANOTHER.store(true, Relaxed);
        }
        let mode = mode();
        if mode == 0 {
            // The common case, with no limit, recording or tracking heap: counting only.
            // SAFETY: forwarded from our caller, who upholds `GlobalAlloc::alloc`'s contract.
            let ptr = unsafe { self.inner.alloc(layout) };
            count_plain_alloc(ptr, layout.size());
            return ptr;
        }
        if !within_limit(mode, layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded from our caller, who upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { self.fresh(mode, layout, false) };
        count_alloc(mode, ptr, layout.size());
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let mode = MODE.load(Relaxed);
        if !within_limit(mode, layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `alloc`.
        let ptr = unsafe { self.fresh(mode, layout, true) };
        count_alloc(mode, ptr, layout.size());
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `inner` is `System`, which gives every block back with `free`; the caller got
        // `ptr` from this allocator with `layout`.
        if self.calls_malloc && unsafe { fast_path::dealloc(ptr, layout) } {
            return;
        }
        let mode = mode();
        if mode == 0 {
            LIVE_BYTES.add(-(layout.size() as i64));
            FREED_BLOCKS.add(1);
            // SAFETY: `ptr` and `layout` come from our caller, who got `ptr` from this allocator.
            return unsafe { self.inner.dealloc(ptr, layout) };
        }
        count_free(mode, ptr, layout.size());
        // SAFETY: `ptr` and `layout` come from our caller, who got `ptr` from this allocator.
        unsafe { self.give_back(mode, ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let mode = MODE.load(Relaxed);
        if !within_limit(mode, new_size.saturating_sub(layout.size())) {
            return std::ptr::null_mut();
        }
        let new = if in_own_heap(mode, ptr) || from_own_heap(mode) {
            // SAFETY: as for `dealloc`; `new_size` is checked by our caller.
            unsafe { self.move_block(mode, ptr, layout, new_size) }
        } else {
            // SAFETY: as for `dealloc`; `new_size` is checked by our caller.
            unsafe { self.inner.realloc(ptr, layout, new_size) }
        };
        if !new.is_null() {
            // A successful realloc frees the old block and hands out a new one.
            count_free(mode, ptr, layout.size());
        }
        count_alloc(mode, new, new_size);
        new
    }
}

impl<A: GlobalAlloc> CountingAllocator<A> {
    /// A new block: from the tracking heap while a tracked body runs, else the wrapped
    /// allocator's.
    ///
    /// # Safety
    /// As `GlobalAlloc::alloc`.
    #[inline(always)]
    unsafe fn fresh(&self, mode: u8, layout: Layout, zeroed: bool) -> *mut u8 {
        if from_own_heap(mode) && !table::is_full() {
            let ptr = tracking_heap::alloc(layout, zeroed);
            if !ptr.is_null() {
                return ptr;
            }
        }
        // SAFETY: guaranteed by the caller.
        unsafe {
            if zeroed {
                self.inner.alloc_zeroed(layout)
            } else {
                self.inner.alloc(layout)
            }
        }
    }

    /// Gives a block back to whichever heap handed it out.
    ///
    /// # Safety
    /// As `GlobalAlloc::dealloc`.
    #[inline(always)]
    unsafe fn give_back(&self, mode: u8, ptr: *mut u8, layout: Layout) {
        if in_own_heap(mode, ptr) {
            tracking_heap::free(ptr, layout);
        } else {
            // SAFETY: guaranteed by the caller.
            unsafe { self.inner.dealloc(ptr, layout) }
        }
    }

    /// A realloc that involves the tracking heap: a new block, the old one's bytes copied over,
    /// the old one given back; null (the old block untouched) if no new block could be had.
    ///
    /// # Safety
    /// As `GlobalAlloc::realloc`.
    unsafe fn move_block(
        &self,
        mode: u8,
        ptr: *mut u8,
        layout: Layout,
        new_size: usize,
    ) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size`, rounded up to the alignment, fits `isize`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a valid layout of non-zero size (the caller's contract).
        let new = unsafe { self.fresh(mode, new_layout, false) };
        if !new.is_null() {
            // SAFETY: both blocks are live and distinct, each at least as long as the copy.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.give_back(mode, ptr, layout);
            }
        }
        new
    }
}

/// The allocator's counters at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct HeapSnapshot {
    live_bytes: i64,
    allocated_blocks: u64,
    freed_blocks: u64,
}

impl HeapSnapshot {
    pub(crate) fn now() -> Self {
        Self {
            live_bytes: LIVE_BYTES.total(),
            allocated_blocks: ALLOCATED_BLOCKS.total() as u64,
            freed_blocks: FREED_BLOCKS.total() as u64,
        }
    }

    /// What happened to the heap between `self` and `later`; `peak_bytes` is left at 0.
    pub(crate) fn delta_to(self, later: HeapSnapshot) -> HeapDelta {
        let live_blocks = |snapshot: HeapSnapshot| {
            snapshot.allocated_blocks as i64 - snapshot.freed_blocks as i64
        };
        HeapDelta {
            net_bytes: later.live_bytes - self.live_bytes,
            net_blocks: live_blocks(later) - live_blocks(self),
            allocations: later.allocated_blocks - self.allocated_blocks,
            peak_bytes: 0,
        }
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

    /// Charges `delta` to the harness: taken off the test's figures, and excused from its peak
    /// and limit.
    pub(crate) fn charge(&self, delta: HeapDelta) {
        EXCUSED_BYTES.fetch_add(delta.net_bytes, Relaxed);
        LIMIT_BYTES.fetch_add(delta.net_bytes, Relaxed);
        self.net_bytes.fetch_add(delta.net_bytes, Relaxed);
        self.net_blocks.fetch_add(delta.net_blocks, Relaxed);
        self.allocations.fetch_add(delta.allocations, Relaxed);
    }

    pub(crate) fn deduct_from(&self, delta: HeapDelta) -> HeapDelta {
        HeapDelta {
            net_bytes: delta.net_bytes - self.net_bytes.load(Relaxed),
            net_blocks: delta.net_blocks - self.net_blocks.load(Relaxed),
            // Saturating: a hook still running when the body's figures were taken (a detached
            // thread's panic) may have been charged allocations the delta does not hold.
            allocations: delta
                .allocations
                .saturating_sub(self.allocations.load(Relaxed)),
            peak_bytes: delta.peak_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_counts_net_growth() {
        let before = HeapSnapshot {
            live_bytes: 60,
            allocated_blocks: 2,
            freed_blocks: 1,
        };
        let after = HeapSnapshot {
            live_bytes: 92,
            allocated_blocks: 5,
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
            live_bytes: 10,
            allocated_blocks: 1,
            ..Default::default()
        };
        let after = HeapSnapshot {
            live_bytes: 0,
            freed_blocks: 1,
            ..before
        };
        assert_eq!(before.delta_to(after).net_bytes, -10);
    }
}
