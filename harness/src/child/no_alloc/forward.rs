//! The allocator `main!(allocator = &STATIC)` counts through: a suite's own global allocator,
//! kept in its own static (and its type, and whatever statistics it keeps), reached by reference.
//! `GlobalAlloc` cannot be implemented for `&A` here, so a small wrapper forwards every call.

use std::alloc::{GlobalAlloc, Layout};

/// Forwards every call to the allocator in a `static` of the suite's (its own
/// `#[global_allocator]` once, now wrapped by the counting allocator).
pub struct Forward(&'static (dyn GlobalAlloc + Sync));

impl Forward {
    /// Forwards to `allocator`, a reference to a static.
    pub const fn to(allocator: &'static (dyn GlobalAlloc + Sync)) -> Self {
        Self(allocator)
    }
}

// SAFETY: every method hands the caller's arguments, unchanged, to the allocator forwarded to,
// which upholds `GlobalAlloc`'s contract itself, and returns its result.
unsafe impl GlobalAlloc for Forward {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from our caller, who upholds `GlobalAlloc::alloc`'s contract.
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe { self.0.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from our caller, who got `ptr` from this allocator, so from ours.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; `new_size` is checked by our caller.
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}
