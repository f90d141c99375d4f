//! Benchmark suite: 10,000 trivial tests, `s0::t_0::t00` to `s9::t_9::t99`, run once at
//! `--test-threads=2` to see whether a test costs the same at the end of a long run as at its
//! start, and how much memory the harness holds.
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

/// Ten modules of a thousand tests each.
macro_rules! ten_thousand {
    ($($group:ident)*) => {
        $(
            mod $group {
                stamp_a_thousand!(make);
            }
        )*
    };
}

ten_thousand!(s0 s1 s2 s3 s4 s5 s6 s7 s8 s9);

isolated_test::main!();
