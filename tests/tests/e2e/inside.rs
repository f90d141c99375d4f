//! What a test sees of its harness from inside, held against libtest's on twin suites: the same
//! tests (fixtures/inside_tests.rs) under `#[isolated_test]` (fixtures/inside.rs) and under
//! libtest's `#[test]` (fixtures/inside_libtest.rs, built with this toolchain's libtest).

use std::process::{Command, Output};

use isolated_test_e2e::strip_ansi;

fn run(binary: &std::path::Path) -> Output {
    isolated_test_e2e::with_backend_under_test(&mut Command::new(binary))
        .args(["--test-threads", "1", "--color", "never"])
        .env("RUST_BACKTRACE", "0")
        .env_remove("RUST_TEST_THREADS")
        .output()
        .expect("the twin runs")
}

/// `test NAME ... VERDICT` lines, and each panic's `thread 'NAME' (TID) panicked at PLACE:`
/// header without its thread id.
fn verdicts_and_panic_headers(output: &Output) -> (Vec<String>, Vec<String>) {
    let stdout = strip_ansi(&String::from_utf8_lossy(&output.stdout));
    let verdicts = stdout
        .lines()
        .filter(|line| line.starts_with("test ") && line.contains(" ... "))
        .map(str::to_owned)
        .collect();
    let thread_id = regex::Regex::new(r" \(\d+\) panicked at ").unwrap();
    let headers = stdout
        .lines()
        .filter(|line| line.starts_with("thread '"))
        .map(|line| thread_id.replace(line, " panicked at ").into_owned())
        .collect();
    (verdicts, headers)
}

#[test]
fn every_test_runs_on_a_thread_named_after_it_as_under_libtest() {
    let libtest = run(&crate::libtest_twin("inside_libtest"));
    let isolated = run(env!("CARGO_BIN_EXE_inside").as_ref());
    let (libtest_verdicts, libtest_headers) = verdicts_and_panic_headers(&libtest);
    let (verdicts, headers) = verdicts_and_panic_headers(&isolated);
    assert_eq!(
        libtest_verdicts,
        [
            "test nested::runs_on_a_thread_named_with_its_module_path ... ok",
            "test panics_on_its_named_thread ... FAILED",
            "test runs_on_a_thread_named_after_itself ... ok",
            "test spawns_threads_that_are_not_named_after_it ... ok",
        ],
        "libtest's own verdicts"
    );
    assert_eq!(verdicts, libtest_verdicts);
    assert_eq!(
        libtest_headers,
        ["thread 'panics_on_its_named_thread' panicked at tests/fixtures/inside_tests.rs:25:5:"]
    );
    assert_eq!(headers, libtest_headers);
    assert_eq!(
        (isolated.status.code(), libtest.status.code()),
        (Some(101), Some(101))
    );
}
