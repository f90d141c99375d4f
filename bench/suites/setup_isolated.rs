//! Benchmark suite: 100 tests that each need a corpus whose setup takes 300 ms and builds 50 MB.
//!
//! Runner: isolated-test with `main!(setup = warm_up)`: the corpus is built once, in a zygote
//! every test is forked from.
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
            #[isolated_test::isolated_test]
            fn $name() {
                crate::corpus::check(line!() as u64);
            }
        )*
    };
}

stamp_tests!(make; t_0);

/// Builds the corpus in the zygote, before any test is forked.
fn warm_up() {
    std::sync::LazyLock::force(&corpus::CORPUS);
}

isolated_test::main!(setup = warm_up);
