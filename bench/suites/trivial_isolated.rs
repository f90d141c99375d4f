//! Benchmark suite: 1,000 trivial tests: what running a test costs, and nothing else.
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
        $(
            #[isolated_test::isolated_test]
            fn $name() {}
        )*
    };
}

stamp_a_thousand!(make);

isolated_test::main!();
