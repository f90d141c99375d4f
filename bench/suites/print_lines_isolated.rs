//! Benchmark suite: two tests that print a million short lines between them (see lines.rs),
//! captured, as a test that logs as it goes prints them.
//!
//! Runner: isolated-test (`#[isolated_test]`, `harness = false`): one forked child per test, its
//! stdout and stderr pipes to the harness.
//!
//! Built and run by `cargo run --release -p isolated-test-bench` (see bench/src/print_lines.rs),
//! in the debug test profile, as `cargo test` builds it.

mod lines;

#[isolated_test::isolated_test]
fn prints_to_stdout() {
    lines::to_stdout();
}

#[isolated_test::isolated_test]
fn prints_to_stderr() {
    lines::to_stderr();
}

isolated_test::main!();
