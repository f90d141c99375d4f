//! Benchmark suite: 1,000 tests that each allocate 1 MiB and write to every page of it: a
//! test's own fresh memory (page faults) on top of the cost of running it.
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
        use std::hint::black_box;

        $(
            #[test]
            fn $name() {
                let mut v = vec![0u8; 1 << 20];
                for i in (0..v.len()).step_by(4096) {
                    v[i] = 1;
                }
                black_box(&v);
            }
        )*
    };
}

stamp_a_thousand!(make);
