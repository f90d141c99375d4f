//! Benchmark suite: 200 tests that each pass 5,000 boxed items between eight threads through a
//! queue behind a `Mutex` and `Condvar`s: what threads that park and wake one another cost.
//!
//! Runner: isolated-test (`#[isolated_test]`, `harness = false`): one forked child per test.
//!
//! Built and run by `cargo run --release -p isolated-test-bench` (see bench/src/main.rs), in the
//! debug test profile, as `cargo test` builds it.

#[macro_use]
mod stamp;
mod condvar_threads_body;

/// The suite's tests, one function per name given.
macro_rules! make {
    ($($name:ident)*) => {
        $(
            #[isolated_test::isolated_test]
            fn $name() {
                crate::condvar_threads_body::pass_items_between_threads();
            }
        )*
    };
}

stamp_tests!(make; t_0 t_1);

isolated_test::main!();
