//! Benchmark suite: 100 tests that each need a corpus whose setup takes 300 ms and builds 50 MB.
//!
//! Runner: libtest in process (`#[test]`): the corpus is built once and shared by every test,
//! which isolates nothing.
//!
//! Built and run by `cargo run --release -p isolated-test-bench` (see bench/src/main.rs), in the
//! debug test profile, as `cargo test` builds it.

#[macro_use]
mod stamp;
mod corpus;

/// The suite's tests, one function per name given.
macro_rules! make {
    ($($name:ident)*) => {
        $(
            #[test]
            fn $name() {
                crate::corpus::check(line!() as u64);
            }
        )*
    };
}

stamp_tests!(make; t_0);
