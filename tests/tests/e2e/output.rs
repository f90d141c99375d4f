//! Captured output (fixtures/output.rs): shown under a failure, hidden for a pass unless
//! `--show-output`, never captured under `--nocapture`.

use std::sync::OnceLock;

use isolated_test_e2e::{fixture, Output, Run};

/// The whole suite with default flags, run once and shared.
fn output() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| fixture!("output").run())
}

fn shown(stdout: &str, stderr: &str) -> Output {
    Output {
        stdout: Some(stdout.to_owned()),
        stderr: Some(stderr.to_owned()),
    }
}

#[test]
fn a_failure_shows_what_the_test_printed_to_stdout_and_stderr() {
    let failure = output().assert_failed(
        "prints_to_both_then_fails",
        r#"returned an error: "failing to show the output""#,
    );
    assert_eq!(failure.output, shown("to stdout", "to stderr"));
}

#[test]
fn a_panic_shows_the_output_and_the_panic_message() {
    let run = output();
    let failure = run.failure("prints_to_both_then_panics");
    assert!(failure.reason.ends_with(": panicking to show the output"));
    assert_eq!(
        failure.output.stdout.as_deref(),
        Some("to stdout before the panic")
    );
    let stderr = failure.output.stderr.as_deref().unwrap_or_default();
    assert!(
        stderr.starts_with("to stderr before the panic\n"),
        "{}",
        run.context()
    );
    assert!(stderr.contains("panicking to show the output"));
}

#[test]
fn output_of_a_subprocess_is_captured() {
    let failure = output().assert_failed(
        "subprocess_prints_then_fails",
        r#"returned an error: "failing to show the output""#,
    );
    assert_eq!(failure.output, shown("from-sh", "from-sh-on-stderr"));
}

#[test]
fn output_written_straight_to_the_descriptors_is_captured() {
    let failure = output().assert_failed(
        "writes_to_raw_descriptors_then_fails",
        r#"returned an error: "failing to show the output""#,
    );
    assert_eq!(failure.output, shown("raw stdout", "raw stderr"));
}

#[test]
fn output_before_an_exit_or_a_crash_is_captured() {
    let run = output();
    let exited = run.assert_failed(
        "prints_without_newline_then_exits",
        "exited with status 3 before the test finished",
    );
    assert_eq!(exited.output.stdout.as_deref(), Some("no newline yet"));
    let crashed = run.assert_failed("prints_then_segfaults", "killed by signal 11 (SIGSEGV)");
    assert_eq!(
        crashed.output,
        Output {
            stdout: Some("before the crash".to_owned()),
            stderr: None
        }
    );
}

#[test]
fn a_flood_of_output_keeps_its_first_256_kib_and_last_768_kib() {
    let run = output();
    let failure = run.assert_failed(
        "floods_stdout_then_fails",
        r#"returned an error: "failing to show the output""#,
    );
    let stdout = failure.output.stdout.as_deref().unwrap_or_default();
    let line = "x".repeat(63);
    let lines: Vec<&str> = stdout.lines().collect();
    // 256 KiB of 64-byte lines, the note on a line of its own, then 768 KiB of lines.
    let (head, rest) = lines.split_at(4096);
    assert!(head.iter().all(|text| *text == line), "{}", run.context());
    assert_eq!(rest[..2], ["", "[... 1048576 bytes omitted ...]"]);
    assert_eq!(rest[2..].len(), 12288);
    assert!(rest[2..].iter().all(|text| *text == line));
}

#[test]
fn a_passing_tests_output_is_hidden_by_default() {
    let run = output();
    run.assert_ok("passes_with_output");
    run.assert_ok("passes_silently");
    assert!(!run.stdout.contains("passing output"), "{}", run.context());
    assert!(!run.stderr.contains("passing"), "{}", run.context());
    assert!(run.report.successes.is_empty());
}

#[test]
fn show_output_prints_a_passing_tests_output_after_the_summary() {
    let run = fixture!("output").args(["passes", "--show-output"]).run();
    run.assert_exit_code(0);
    run.assert_ok("passes_with_output");
    let summary = run.stdout.find("test result: ").expect("a summary");
    let successes = run
        .stdout
        .find("\nsuccesses:\n")
        .expect("a successes section");
    assert!(summary < successes, "{}", run.context());
    // The silent test has nothing to show.
    assert_eq!(
        run.report.successes.keys().collect::<Vec<_>>(),
        ["passes_with_output"]
    );
    assert_eq!(
        run.report.successes["passes_with_output"],
        shown("passing output", "passing error output")
    );
}

#[test]
fn nocapture_lets_a_passing_tests_output_through() {
    let run = fixture!("output")
        .args(["--exact", "passes_with_output", "--nocapture"])
        .run();
    run.assert_exit_code(0);
    assert!(run.stdout.contains("passing output\n"), "{}", run.context());
    assert!(
        run.stderr.contains("passing error output\n"),
        "{}",
        run.context()
    );
    assert!(run.report.successes.is_empty());
    assert_eq!(run.report.summary.map(|summary| summary.passed), Some(1));
}

#[test]
fn nocapture_lets_a_failing_tests_output_through_instead_of_under_the_failure() {
    let run = fixture!("output")
        .args(["--exact", "prints_to_both_then_fails", "--nocapture"])
        .run();
    run.assert_exit_code(101);
    // The test's output may land between `... ` and `FAILED`: read the failures section.
    let failure = run.failure_entry("prints_to_both_then_fails");
    assert_eq!(
        failure.reason,
        r#"returned an error: "failing to show the output""#
    );
    assert_eq!(failure.output, Output::default(), "{}", run.context());
    assert!(run.stdout.contains("to stdout\n"), "{}", run.context());
    assert!(run.stderr.contains("to stderr\n"), "{}", run.context());
}
