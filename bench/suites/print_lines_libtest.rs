//! Benchmark suite: two tests that print a million short lines between them (see lines.rs),
//! captured, as a test that logs as it goes prints them.
//!
//! Runner: libtest in process (`#[test]`): the baseline. libtest captures a test's `println!` and
//! `eprintln!` in the process's memory, through a hook std keeps for it alone
//! (`set_output_capture`, unstable): no system call per line.
//!
//! Built and run by `cargo run --release -p isolated-test-bench` (see bench/src/print_lines.rs),
//! in the debug test profile, as `cargo test` builds it.

mod lines;

#[test]
fn prints_to_stdout() {
    lines::to_stdout();
}

#[test]
fn prints_to_stderr() {
    lines::to_stderr();
}
