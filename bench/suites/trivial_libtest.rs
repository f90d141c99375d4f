//! Benchmark suite: 1,000 trivial tests: what running a test costs, and nothing else.
//!
//! Runner: libtest in process (`#[test]`): the baseline, no isolation.
//!
//! Built and run by `cargo run --release -p isolated-test-bench` (see bench/src/main.rs), in the
//! debug test profile, as `cargo test` builds it.

#[macro_use]
mod stamp;

/// The suite's tests, one function per name given.
macro_rules! make {
    ($($name:ident)*) => {
        $(
            #[test]
            fn $name() {}
        )*
    };
}

stamp_a_thousand!(make);
