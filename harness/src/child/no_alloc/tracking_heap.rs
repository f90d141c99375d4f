//! Where the body of a run that tracks allocations allocates: fresh memory of its own, outside
//! the C library's heap. Must not allocate: it is the allocator.
//!
//! The heap the harness forked the child with is full of freed memory that still holds old
//! pointers; were the body's blocks carved from it, those stale words would point into them and
//! make lost blocks look reachable. Blocks here come from a region that was never used before, so
//! only words written since the body began can point into them, and the region itself (free
//! blocks included) is never a root.
//!
//! Power-of-two size classes, each with a free list threaded through its free blocks; fresh
//! blocks are cut from the region in order. One spin lock: the test's threads may allocate at
//! once, and a tracked run is the only user.

use std::alloc::Layout;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::spin;
use crate::sys;

/// Sizes tried for the region, largest first (a memory limit caps the address space).
const RESERVATIONS: [usize; 5] = [64 << 30, 16 << 30, 4 << 30, 1 << 30, 256 << 20];
const SMALLEST: usize = 16;
const CLASSES: usize = usize::BITS as usize;
/// Free blocks of this size or more give their pages back to the kernel.
const GIVE_BACK: usize = 64 << 10;
const PAGE: usize = 4096;

static START: AtomicUsize = AtomicUsize::new(0);
static END: AtomicUsize = AtomicUsize::new(0);
/// Where the next fresh block is cut.
static NEXT: AtomicUsize = AtomicUsize::new(0);
static LOCKED: AtomicBool = AtomicBool::new(false);
/// Per size class, the first free block (0 for none); each free block's first word is the next.
static FREE: [AtomicUsize; CLASSES] = [const { AtomicUsize::new(0) }; CLASSES];

/// Reserves the region; `false` if no size could be had. Call in the child, before the body.
pub(crate) fn start() -> bool {
    // Windows commits what it maps: gigabytes reserved up front would be charged in full, and
    // the blocks come from the system allocator there instead.
    if cfg!(windows) {
        return false;
    }
    for bytes in RESERVATIONS {
        // Reserved without swap: pages are had as blocks are cut.
        let start = sys::memory::map_zeroed(bytes, true);
        if !start.is_null() {
            let start = start as usize;
            START.store(start, Ordering::Relaxed);
            // Not at `START`, a root that would reach whatever block began there.
            NEXT.store(start + PAGE, Ordering::Relaxed);
            END.store(start + bytes, Ordering::Release);
            return true;
        }
    }
    false
}

/// The region, `(start, end)`: never a root of the scan.
pub(crate) fn region() -> (usize, usize) {
    (START.load(Ordering::Relaxed), END.load(Ordering::Acquire))
}

/// Whether `ptr` was handed out here.
#[inline]
pub(crate) fn contains(ptr: *mut u8) -> bool {
    let (start, end) = region();
    (start..end).contains(&(ptr as usize))
}

/// A block for `layout`, or null when the region is used up.
pub(crate) fn alloc(layout: Layout, zeroed: bool) -> *mut u8 {
    let Some((class, size)) = class_of(layout) else {
        return std::ptr::null_mut();
    };
    locked(|| {
        let free = FREE[class].load(Ordering::Relaxed);
        if free != 0 {
            // SAFETY: a free block of this class: its first word is the next free block.
            let next = unsafe { (free as *const usize).read() };
            FREE[class].store(next, Ordering::Relaxed);
            if zeroed {
                // SAFETY: the block is `size` bytes of the region, ours until freed again.
                unsafe { std::ptr::write_bytes(free as *mut u8, 0, size) };
            }
            return free as *mut u8;
        }
        // Fresh memory is zero: never used since it was mapped.
        let start = NEXT
            .load(Ordering::Relaxed)
            .next_multiple_of(size.min(PAGE).max(layout.align()));
        if start.saturating_add(size) > END.load(Ordering::Relaxed) {
            return std::ptr::null_mut();
        }
        NEXT.store(start + size, Ordering::Relaxed);
        start as *mut u8
    })
}

/// Takes back a block handed out for `layout`.
pub(crate) fn free(ptr: *mut u8, layout: Layout) {
    let Some((class, size)) = class_of(layout) else {
        return;
    };
    if size >= GIVE_BACK {
        // Its pages go back to the kernel, all but the first, which holds the free list's link.
        // SAFETY: the pages lie inside the block, which nothing uses any more.
        unsafe { sys::memory::discard(ptr.add(PAGE), size - PAGE) };
    }
    locked(|| {
        // SAFETY: the block is ours again; its first word links it into its class's list.
        unsafe { (ptr as *mut usize).write(FREE[class].load(Ordering::Relaxed)) };
        FREE[class].store(ptr as usize, Ordering::Relaxed);
    });
}

/// The size class of `layout` and its block size: the next power of two of its size and
/// alignment, at least [`SMALLEST`]; `None` past the largest.
fn class_of(layout: Layout) -> Option<(usize, usize)> {
    let size = layout
        .size()
        .max(layout.align())
        .max(SMALLEST)
        .checked_next_power_of_two()?;
    Some((size.trailing_zeros() as usize, size))
}

fn locked<T>(f: impl FnOnce() -> T) -> T {
    spin::lock(&LOCKED);
    let result = f();
    spin::unlock(&LOCKED);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_powers_of_two_that_hold_size_and_alignment() {
        let class = |size, align| class_of(Layout::from_size_align(size, align).unwrap()).unwrap();
        assert_eq!(class(1, 1), (4, 16));
        assert_eq!(class(17, 8), (5, 32));
        assert_eq!(class(64, 64), (6, 64));
        assert_eq!(class(8, 4096), (12, 4096));
        assert_eq!(class(100_000, 8), (17, 131_072));
    }
}
