//! Benchmark suite: 100 tests that each need a corpus whose setup takes 300 ms and builds 50 MB.
//!
//! Runner: rusty-fork under libtest: every test runs in a new copy of the binary, which builds
//! the corpus again.
//!
//! Built and run by `cargo run --release -p isolated-test-bench` (see bench/src/main.rs), in the
//! debug test profile, as `cargo test` builds it.

#[macro_use]
mod stamp;
mod corpus;

/// The suite's tests, one function per name given.
macro_rules! make {
    ($($name:ident)*) => {
        rusty_fork::rusty_fork_test! {
            #![rusty_fork(timeout_ms = 0)]
            $(
                #[test]
                fn $name() {
                    crate::corpus::check(line!() as u64);
                }
            )*
        }
    };
}

stamp_tests!(make; t_0);
