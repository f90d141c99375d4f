//! Benchmark suite: 200 tests that each make 100,000 small allocations and frees: a heavy
//! allocator user, which under isolated-test also pays for the counting allocator.
//!
//! Runner: isolated-test (`#[isolated_test]`, `harness = false`): one forked child per test.
//!
//! Built and run by `cargo run --release -p isolated-test-bench` (see bench/src/main.rs), in the
//! debug test profile, as `cargo test` builds it.

#[macro_use]
mod stamp;

/// The suite's tests, one function per name given.
macro_rules! make {
    ($($name:ident)*) => {
        use std::hint::black_box;

        $(
            #[isolated_test::isolated_test]
            fn $name() {
                for i in 0..100_000 {
                    black_box(Box::new(i));
                }
            }
        )*
    };
}

stamp_tests!(make; t_0 t_1);

isolated_test::main!();
