//! Benchmark suite: 1,000 trivial tests: what running a test costs, and nothing else.
//!
//! Runner: rusty-fork (`rusty_fork_test!` around `#[test]`): libtest, with each test run again
//! in a spawned copy of this binary.
//!
//! Built and run by `cargo run --release -p isolated-test-bench` (see bench/src/main.rs), in the
//! debug test profile, as `cargo test` builds it.

#[macro_use]
mod stamp;

/// The suite's tests, one function per name given.
macro_rules! make {
    ($($name:ident)*) => {
        rusty_fork::rusty_fork_test! {
            #![rusty_fork(timeout_ms = 0)]
            $(
                #[test]
                fn $name() {}
            )*
        }
    };
}

stamp_a_thousand!(make);
