//! Benchmark suite: small_allocs_libtest's 200 tests (100,000 small allocations and frees each),
//! run by libtest in process, with a `#[global_allocator]` that forwards every call to `System`
//! and counts nothing: the allocator floor (see bench/src/allocator_floor.rs).
//!
//! Any `#[global_allocator]` is reached through functions compiled in the crate that declares it,
//! at that crate's opt-level: in the debug test profile, unoptimised code builds each `Layout`
//! (with its debug precondition check) and calls the allocator, where the default allocator's
//! path is precompiled, optimised std. Against small_allocs_libtest, this suite measures that
//! cost alone, which isolated-test's counting allocator pays before it counts anything.
//!
//! Runner: libtest in process (`#[test]`), as small_allocs_libtest.
//!
//! Built and run by `cargo run --release -p isolated-test-bench` (see bench/src/main.rs), in the
//! debug test profile, as `cargo test` builds it.

use std::alloc::{GlobalAlloc, Layout, System};

#[macro_use]
mod stamp;

/// Hands every call to `System` unchanged: the least a global allocator can do.
struct Forwarding;

// SAFETY: every method passes its arguments unchanged to `System`, whose implementation meets
// `GlobalAlloc`'s contract, and returns what it returns.
unsafe impl GlobalAlloc for Forwarding {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller gives `alloc`'s guarantees, which are `System::alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, so from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `dealloc`; our caller gives `realloc`'s guarantees about `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Forwarding = Forwarding;

/// The suite's tests, one function per name given: small_allocs_libtest's, the same names.
macro_rules! make {
    ($($name:ident)*) => {
        use std::hint::black_box;

        $(
            #[test]
            fn $name() {
                for i in 0..100_000 {
                    black_box(Box::new(i));
                }
            }
        )*
    };
}

stamp_tests!(make; t_0 t_1);
