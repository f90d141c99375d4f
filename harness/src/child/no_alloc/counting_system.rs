//! The allocator [`main!`](crate::main) installs: [`CountingAllocator::system()`] behind a type
//! that is not generic, so that its code is compiled once, here, at this crate's opt-level.
//!
//! A `#[global_allocator]`'s methods are compiled in the crate that declares it when they are
//! generic (`CountingAllocator<A>`'s are), at that crate's opt-level: 0 in a test build. This
//! type's are not, and are never inlined into the caller: they stay in the harness's code, which
//! `[profile.dev.package.isolated-test] opt-level = 3` optimises while the tests stay in debug
//! (what `cargo isolated-test adopt` writes). Only rustc's shim around them is the suite's.

use std::alloc::{GlobalAlloc, Layout, System};

use super::counting::CountingAllocator;

/// The counting allocator over `System`, reached through this crate's own code.
static COUNTING_SYSTEM: CountingAllocator<System> = CountingAllocator::system();

/// [`CountingAllocator::system()`] as a unit struct whose methods are the harness crate's own.
pub struct CountingSystem;

// SAFETY: every method forwards its arguments, unchanged, to `CountingAllocator<System>`, which
// upholds `GlobalAlloc`'s contract, and returns its result.
unsafe impl GlobalAlloc for CountingSystem {
    // `inline(never)`: an optimised harness would otherwise offer these small functions for
    // inlining, and the suite would compile its own copies at its own opt-level.
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from our caller, who upholds `GlobalAlloc::alloc`'s contract.
        unsafe { COUNTING_SYSTEM.alloc(layout) }
    }

    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe { COUNTING_SYSTEM.alloc_zeroed(layout) }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from our caller, who got `ptr` from this allocator, so from ours.
        unsafe { COUNTING_SYSTEM.dealloc(ptr, layout) }
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; `new_size` is checked by our caller.
        unsafe { COUNTING_SYSTEM.realloc(ptr, layout, new_size) }
    }
}
