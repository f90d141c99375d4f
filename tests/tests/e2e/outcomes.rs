//! Every way a test can end (fixtures/outcomes.rs): its verdict and its exact reason line.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use isolated_test_e2e::{fixture, Output, Run};

const SOURCE: &str = include_str!("../../fixtures/outcomes.rs");
/// The path rustc records in panic locations: relative to the workspace root.
const FILE: &str = "tests/fixtures/outcomes.rs";

/// The whole suite, run once and shared by the tests below: every outcome side by side in one
/// run, as in a user's suite.
fn outcomes() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| fixture!("outcomes").run())
}

/// Where `needle` (a panicking expression) is in the fixture.
fn at(needle: &str) -> String {
    crate::location_of(SOURCE, FILE, needle)
}

#[test]
fn the_run_reports_every_test_once_in_name_order_and_exits_101() {
    let run = outcomes();
    run.assert_exit_code(101);
    let names = run.names();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        names,
        sorted,
        "not sorted, or listed twice\n{}",
        run.context()
    );

    let listed = fixture!("outcomes")
        .args(["--list", "--format", "terse"])
        .run();
    let listed: Vec<&str> = listed
        .stdout
        .lines()
        .map(|line| line.strip_suffix(": test").unwrap_or(line))
        .collect();
    assert_eq!(names, listed, "the run and --list disagree");

    // Exactly the failed tests have a failures entry, and the summary adds up.
    let failed: BTreeSet<&str> = run
        .report
        .verdicts
        .iter()
        .filter(|(_, verdict)| verdict == "FAILED")
        .map(|(name, _)| name.as_str())
        .collect();
    let entries: BTreeSet<&str> = run.report.failures.keys().map(String::as_str).collect();
    assert_eq!(failed, entries);
    let summary = run.report.summary.expect("a summary line");
    assert!(!summary.ok);
    assert_eq!(summary.failed, failed.len());
    assert_eq!(summary.passed + summary.failed, names.len());
    assert_eq!(run.report.running, Some(names.len()));
}

#[test]
fn returning_passes() {
    outcomes().assert_ok("returns_normally");
    outcomes().assert_ok("returns_ok");
}

#[test]
fn returning_an_error_fails_with_its_debug_text() {
    let failure =
        outcomes().assert_failed("returns_err", r#"returned an error: "the disk is full""#);
    // As libtest does, the error is printed on the test's stderr.
    assert_eq!(
        failure.output,
        Output {
            stdout: None,
            stderr: Some(r#"Error: "the disk is full""#.to_owned()),
        }
    );
}

#[test]
fn a_panic_fails_with_its_location_and_message() {
    let run = outcomes();
    let failure = run.assert_failed(
        "panics",
        &format!("panicked at {}: kaboom", at(r#"panic!("kaboom")"#)),
    );
    let stderr = failure.output.stderr.as_deref().unwrap_or_default();
    assert!(stderr.contains("kaboom"), "{}", run.context());
    run.assert_failed(
        "panics_with_a_formatted_message",
        &format!(
            "panicked at {}: 3 apples are too many",
            at(r#"panic!("{apples} apples are too many")"#)
        ),
    );
    run.assert_failed(
        "panics_with_a_non_string_payload",
        &format!(
            "panicked at {} with a payload that is not a string",
            at("std::panic::panic_any(42_u32)")
        ),
    );
}

// Unix-only: death by signal (a Windows process ends with an exit code only).
#[cfg(unix)]
#[test]
fn a_panic_while_panicking_is_an_abort_that_names_the_first_panic() {
    outcomes().assert_failed(
        "panics_while_panicking",
        &format!(
            "killed by signal 6 (SIGABRT) after it panicked at {}: first panic",
            at(r#"panic!("first panic")"#)
        ),
    );
}

#[test]
fn should_panic_with_a_message() {
    let run = outcomes();
    run.assert_ok("should_panic_with_message_and_does");
    run.assert_failed(
        "should_panic_with_message_but_returns",
        r#"returned normally, but should have panicked with a message containing "boom""#,
    );
    run.assert_failed(
        "should_panic_with_message_but_another_panics",
        &format!(
            r#"panicked at {}: bang, but should have panicked with a message containing "boom""#,
            at(r#"panic!("bang")"#)
        ),
    );
}

#[test]
fn plain_should_panic() {
    let run = outcomes();
    run.assert_ok("should_panic_plain_and_does");
    run.assert_failed(
        "should_panic_plain_but_returns",
        "returned normally, but should have panicked",
    );
    // A crash is not a panic. How it reads is the system's: a signal on Unix, an exception on
    // Windows.
    #[cfg(unix)]
    run.assert_failed(
        "should_panic_plain_but_aborts",
        "killed by signal 6 (SIGABRT)",
    );
    #[cfg(windows)]
    run.assert_failed(
        "should_panic_plain_but_aborts",
        "crashed with exception 0xC0000409 (fail-fast: abort) before the test finished",
    );
}

#[test]
fn should_panic_written_before_the_attribute_works_the_same() {
    let run = outcomes();
    run.assert_ok("should_panic_first_with_message_and_does");
    run.assert_failed(
        "should_panic_first_with_message_but_returns",
        r#"returned normally, but should have panicked with a message containing "boom""#,
    );
    run.assert_failed(
        "should_panic_first_with_message_but_another_panics",
        &format!(
            r#"panicked at {}: bang, said first, but should have panicked with a message containing "boom""#,
            at(r#"panic!("bang, said first")"#)
        ),
    );
}

// Unix-only: death by signal (a Windows process ends with an exit code only).
#[cfg(unix)]
#[test]
fn crashes_name_the_signal() {
    let run = outcomes();
    run.assert_failed("segfaults", "killed by signal 11 (SIGSEGV)");
    run.assert_failed("aborts", "killed by signal 6 (SIGABRT)");
    let overflow = run.assert_failed("overflows_its_stack", "killed by signal 6 (SIGABRT)");
    let stderr = overflow.output.stderr.as_deref().unwrap_or_default();
    assert!(
        stderr.contains("has overflowed its stack"),
        "{}",
        run.context()
    );
}

/// On Windows a crash ends the process with its exception's status, which the reason names.
#[cfg(windows)]
#[test]
fn crashes_name_the_exception() {
    let run = outcomes();
    let crashed = |name: &str, exception: &str| {
        let reason = format!("crashed with exception {exception} before the test finished");
        run.assert_failed(name, &reason)
    };
    crashed("segfaults", "0xC0000005 (access violation)");
    crashed("aborts", "0xC0000409 (fail-fast: abort)");
    let overflow = crashed("overflows_its_stack", "0xC00000FD (stack overflow)");
    let stderr = overflow.output.stderr.as_deref().unwrap_or_default();
    assert!(
        stderr.contains("has overflowed its stack"),
        "{}",
        run.context()
    );
}

/// A run of one test ends as that test's process ended, once the report is printed, as a libtest
/// binary running that one test would: cargo-nextest (a process per test) and a test that runs
/// its own binary on one test read a crash from it.
#[test]
fn a_run_of_one_test_ends_as_its_test_ended() {
    let lone = |name: &str| {
        let run = fixture!("outcomes").args(["--exact", name]).run();
        assert_eq!(
            run.report.summary.map(|s| s.failed),
            Some(1),
            "{}",
            run.context()
        );
        run
    };
    // Unix-only: death by signal, which a Windows process cannot die of.
    #[cfg(unix)]
    for (name, signal) in [
        ("segfaults", libc::SIGSEGV),
        ("aborts", libc::SIGABRT),
        ("overflows_its_stack", libc::SIGABRT),
    ] {
        let run = lone(name);
        assert_eq!(
            (run.code, run.signal),
            (None, Some(signal)),
            "{}",
            run.context()
        );
    }
    // On Windows, with the exception's status.
    #[cfg(windows)]
    for (name, exception) in [
        ("segfaults", 0xC000_0005_u32),
        ("aborts", 0xC000_0409),
        ("overflows_its_stack", 0xC000_00FD),
    ] {
        lone(name).assert_exit_code(exception as i32);
    }
    lone("exits_three").assert_exit_code(3);
    // Exit 0 would read as a pass from outside; a panic is libtest's 101.
    lone("exits_zero").assert_exit_code(101);
    lone("panics").assert_exit_code(101);
    // With two tests, the run is the judge, as libtest's is.
    let two = fixture!("outcomes")
        .args(["--exact", "segfaults", "returns_ok"])
        .run();
    two.assert_exit_code(101);
}

#[test]
fn exiting_is_never_a_pass() {
    let run = outcomes();
    run.assert_failed(
        "exits_zero",
        "exited with status 0 before the test finished (exiting is never a pass)",
    );
    run.assert_failed(
        "exits_three",
        "exited with status 3 before the test finished",
    );
    run.assert_failed(
        "underscore_exits_zero",
        "exited with status 0 before the test finished (exiting is never a pass)",
    );
}

#[test]
fn exiting_with_status_199_is_not_mistaken_for_a_lost_result_channel() {
    // The harness's child code exits 199 when it cannot send its result; a test may exit 199
    // too, and then it has not lost anything.
    outcomes().assert_failed(
        "exits_199",
        "exited with status 199 before the test finished",
    );
}

// Unix-only: the result channel is a descriptor there, which the test reaches for.
#[cfg(unix)]
#[test]
fn a_lost_result_channel_is_reported() {
    let run = outcomes();
    run.assert_failed(
        "closes_its_result_channel",
        "sent no result: the test closed or replaced its result channel",
    );
    run.assert_failed(
        "replaces_its_result_channel",
        "sent no result: the test closed or replaced its result channel",
    );
}

// Unix-only: the result channel is a descriptor there, which the test reaches for.
#[cfg(unix)]
#[test]
fn garbage_in_the_result_channel_is_never_a_pass() {
    let run = outcomes();
    let failure = run.failure("writes_garbage_into_its_result_channel");
    assert!(
        failure.reason.starts_with("sent no valid result: "),
        "{}",
        run.context()
    );
}

#[test]
fn tests_in_modules_are_named_by_their_path() {
    outcomes().assert_ok("inner::nested");
    outcomes().assert_ok("inner::deeper::nested_twice");
}

#[test]
fn one_thread_and_eight_threads_give_the_same_verdicts_and_reasons() {
    let one = fixture!("outcomes").args(["--test-threads=1"]).run();
    let eight = fixture!("outcomes").args(["--test-threads=8"]).run();
    one.assert_exit_code(101);
    eight.assert_exit_code(101);
    let reasons = |run: &Run| -> Vec<(String, String)> {
        run.report
            .failures
            .iter()
            .map(|(name, failure)| (name.clone(), failure.reason.clone()))
            .collect()
    };
    assert_eq!(one.report.verdicts, eight.report.verdicts);
    assert_eq!(reasons(&one), reasons(&eight));
    assert_eq!(one.report.verdicts, outcomes().report.verdicts);
}
