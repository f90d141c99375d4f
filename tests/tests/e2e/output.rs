//! Captured output (fixtures/output.rs): shown under a failure, hidden for a pass unless
//! `--show-output`, never captured under `--nocapture`.

use std::sync::OnceLock;

use isolated_test_e2e::{fixture, Output, Run, TempDir};

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

/// What a test printed on stderr, then the line libtest prints for a test that returned its
/// `Err`.
fn with_error(stderr: &str) -> &str {
    Box::leak(format!("{stderr}\nError: \"failing to show the output\"").into_boxed_str())
}

#[test]
fn a_failure_shows_what_the_test_printed_to_stdout_and_stderr() {
    let failure = output().assert_failed(
        "prints_to_both_then_fails",
        r#"returned an error: "failing to show the output""#,
    );
    assert_eq!(failure.output, shown("to stdout", with_error("to stderr")));
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
    assert_eq!(
        failure.output,
        shown("from-sh", with_error("from-sh-on-stderr"))
    );
}

#[test]
fn output_written_straight_to_the_descriptors_is_captured() {
    let failure = output().assert_failed(
        "writes_to_raw_descriptors_then_fails",
        r#"returned an error: "failing to show the output""#,
    );
    assert_eq!(
        failure.output,
        shown("raw stdout", with_error("raw stderr"))
    );
}

#[test]
fn output_before_an_exit_or_a_crash_is_captured() {
    let run = output();
    let exited = run.assert_failed(
        "prints_without_newline_then_exits",
        "exited with status 3 before the test finished",
    );
    assert_eq!(exited.output.stdout.as_deref(), Some("no newline yet"));
    // How a crash reads is the system's: a signal on Unix, an exception on Windows.
    #[cfg(unix)]
    let crashed = run.assert_failed("prints_then_segfaults", "killed by signal 11 (SIGSEGV)");
    #[cfg(windows)]
    let crashed = run.assert_failed(
        "prints_then_segfaults",
        "crashed with exception 0xC0000005 (access violation) before the test finished",
    );
    assert_eq!(
        crashed.output,
        Output {
            stdout: Some("before the crash".to_owned()),
            stderr: None
        }
    );
}

/// The harness reads a test's output in batches, not as each line comes: a batch must lose or
/// reorder nothing, up to a crash (the fixture prints 20,000 lines to each stream, in turns).
#[test]
fn many_lines_to_both_streams_before_a_crash_are_all_shown_in_order() {
    #[cfg(unix)]
    let reason = "killed by signal 11 (SIGSEGV)";
    #[cfg(windows)]
    let reason = "crashed with exception 0xC0000005 (access violation) before the test finished";
    let crashed = output().assert_failed("prints_many_lines_to_both_then_segfaults", reason);
    let lines = |stream: &str| -> String {
        let lines: Vec<String> = (0..20_000)
            .map(|line| format!("{stream} line {line}"))
            .collect();
        lines.join("\n")
    };
    assert_eq!(crashed.output, shown(&lines("stdout"), &lines("stderr")));
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

/// libtest's layout (tests/tests/e2e/libtest.rs holds it against libtest's): the successes
/// before the summary, each test's output under `---- NAME stdout ----` (stdout, then stderr),
/// then every passing test's name.
#[test]
fn show_output_prints_a_passing_tests_output_before_the_summary() {
    let run = fixture!("output").args(["passes", "--show-output"]).run();
    run.assert_exit_code(0);
    run.assert_ok("passes_with_output");
    let summary = run.stdout.find("test result: ").expect("a summary");
    let successes = run
        .stdout
        .find("\nsuccesses:\n")
        .expect("a successes section");
    assert!(successes < summary, "{}", run.context());
    // The silent test has nothing to show.
    assert_eq!(
        run.report.successes.keys().collect::<Vec<_>>(),
        ["passes_with_output"]
    );
    assert_eq!(
        run.report.successes["passes_with_output"],
        "passing output\npassing error output"
    );
    assert!(
        run.stdout
            .contains("\nsuccesses:\n    passes_silently\n    passes_with_output\n"),
        "{}",
        run.context()
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

/// Under `--nocapture` a test makes its stdout non-blocking and fills the pipe; nothing reads it
/// until the harness waits to write its verdict (the kernel says it waits in `pipe_write`). The
/// harness must wait there, not fail with "would block": the test's flag is not the harness's.
// Unix-only: a non-blocking descriptor, and where the harness waits read from /proc.
#[cfg(unix)]
#[test]
fn nocapture_a_test_that_makes_stdout_nonblocking_cannot_break_the_harness() {
    use std::os::fd::AsRawFd;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    let mut child = isolated_test_e2e::with_backend_under_test(&mut Command::new(env!(
        "CARGO_BIN_EXE_nonblocking"
    )))
    .args(["--nocapture", "--test-threads=1", "--color", "never"])
    .env_remove("RUST_BACKTRACE")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("the fixture starts");
    let pid = child.id() as i32;
    let pidfd = isolated_test_e2e::pidfd_open(pid).expect("pidfd_open");
    let deadline = Instant::now() + std::time::Duration::from_secs(60);
    let waited_to_write = loop {
        let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
        if wchan.ends_with("pipe_write") {
            break true;
        }
        let mut ended = libc::pollfd {
            fd: pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one live pollfd; a millisecond between looks at where the harness waits.
        if unsafe { libc::poll(&mut ended, 1, 1) } == 1 {
            break false;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the harness neither ended nor waited to write within a minute");
        }
    };
    let output = child
        .wait_with_output()
        .expect("the fixture's output is read");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let context = format!(
        "exit status {:?}\n--- stderr ---\n{stderr}\n--- stdout (end) ---\n{}",
        output.status,
        &stdout[stdout.len().saturating_sub(500)..]
    );
    assert!(
        waited_to_write,
        "the harness ended without waiting to write\n{context}"
    );
    assert_eq!(output.status.code(), Some(0), "{context}");
    // The verdict's `ok` follows the flood on the line the console opened for the test.
    let flooded = stdout.bytes().filter(|&byte| byte == b'x').count();
    assert!(
        stdout.starts_with("\nrunning 1 test\ntest makes_stdout_nonblocking_and_fills_it ... x")
            && stdout.contains("xok\n\ntest result: ok. 1 passed; 0 failed;")
            && flooded >= 4096,
        "{context}"
    );
    assert!(!stderr.contains("panicked"), "{context}");
}

/// Each line of the run's stdout as a JSON event; panics at a line that is not one.
#[track_caller]
fn json_events(run: &Run) -> Vec<serde_json::Map<String, serde_json::Value>> {
    run.stdout
        .lines()
        .map(|line| match serde_json::from_str(line) {
            Ok(serde_json::Value::Object(event)) => event,
            _ => panic!("not a JSON event: {line:?}\n{}", run.context()),
        })
        .collect()
}

/// The `stdout` of `name`'s result event.
#[track_caller]
fn event_stdout(run: &Run, name: &str) -> String {
    let events = json_events(run);
    let event = events
        .iter()
        .find(|event| {
            event.get("name") == Some(&name.into())
                && event.contains_key("event")
                && event["event"] != "started"
        })
        .unwrap_or_else(|| panic!("no result event for {name}\n{}", run.context()));
    assert_eq!(event["event"], "ok", "{}", run.context());
    event
        .get("stdout")
        .and_then(|stdout| stdout.as_str())
        .unwrap_or_default()
        .to_owned()
}

fn json_args(args: &[&'static str]) -> Vec<&'static str> {
    ["-Zunstable-options", "--format", "json"]
        .iter()
        .chain(args)
        .copied()
        .collect()
}

/// `--format json`: what isolated-test says of a passing test (an allowed leak, a pass on a
/// retry) reaches the tool in the test's event, as the `stdout` an editor shows; the rest of
/// what it says after the run goes to stderr, so that stdout holds JSON only.
#[test]
fn json_carries_the_notes_on_a_passing_test_in_its_event() {
    let run = fixture!("leaks")
        .env("RUSTC_BOOTSTRAP", "1")
        .args(json_args(&["--exact", "leaks_allowed"]))
        .run();
    run.assert_exit_code(0);
    assert_eq!(
        event_stdout(&run, "leaks_allowed"),
        "note: leaks_allowed leaked 1024 bytes in 1 allocation (allowed)\n"
    );

    let dir = TempDir::new("json-flaky");
    let run = fixture!("retries")
        .env("RUSTC_BOOTSTRAP", "1")
        .env("ATTEMPTS_DIR", dir.path())
        .args(json_args(&[
            "--exact",
            "passes_on_the_second_attempt",
            "--show-output",
        ]))
        .run();
    run.assert_exit_code(0);
    let stdout = event_stdout(&run, "passes_on_the_second_attempt");
    assert!(
        stdout.starts_with(
            "attempt 2\nFLAKY passes_on_the_second_attempt passed on attempt 2 of 3\n    attempt 1: panicked at tests/fixtures/retries.rs:"
        ) && stdout.ends_with(": the first attempt fails\n"),
        "{}",
        run.context()
    );
    assert!(
        run.stderr
            .contains("flaky: 1 flaky test passed only on a retry\n"),
        "{}",
        run.context()
    );
}

/// A warning after the run (no counting allocator, so no leak check) goes to stderr under
/// `--format json` and `--format junit`: stdout holds the tool's format only.
#[test]
fn json_and_junit_write_warnings_after_the_run_to_stderr() {
    let warning = "warning: leak check unavailable for 2 tests: no counting allocator is installed";
    let run = fixture!("no_allocator")
        .env("RUSTC_BOOTSTRAP", "1")
        .args(json_args(&[]))
        .run();
    run.assert_exit_code(101);
    assert_eq!(json_events(&run).last().unwrap()["event"], "failed");
    assert!(run.stderr.contains(warning), "{}", run.context());
    let run = fixture!("no_allocator")
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["-Zunstable-options", "--format", "junit"])
        .run();
    run.assert_exit_code(101);
    assert!(
        run.stdout
            .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><testsuites>")
            && run.stdout.ends_with("</testsuites>\n")
            && run.stdout.lines().count() == 1,
        "{}",
        run.context()
    );
    assert!(run.stderr.contains(warning), "{}", run.context());
}

/// With `RUST_BACKTRACE=1`, a forked child's panics are written with their frames unnamed, and
/// the harness names them (fixtures/panic_backtraces.rs): what it shows must be what std's own
/// hook writes, as it does in a child executed afresh. Held byte for byte, but for the thread
/// ids (each run's own) and the children's resource use (naming frames in the child costs it
/// the debug info's memory).
#[cfg(target_os = "linux")]
#[test]
fn panic_backtraces_named_by_the_harness_are_the_ones_std_writes() {
    let run_under = |backend: &str| {
        isolated_test_e2e::fixture!("panic_backtraces")
            .env("ISOLATED_TEST_BACKEND", backend)
            .env("RUST_BACKTRACE", "1")
            .run()
    };
    let (forked, executed) = (run_under("fork"), run_under("exec"));
    let alike = |run: &Run| {
        let patterns = [
            (r"' \([0-9]+\) panicked at ", "' (TID) panicked at "),
            (r"(?m)^memory: .*\n", ""),
            (r"finished in [0-9.]+s", "finished in Ts"),
        ];
        patterns
            .iter()
            .fold(run.stdout.clone(), |text, (pattern, with)| {
                regex::Regex::new(pattern)
                    .unwrap()
                    .replace_all(&text, *with)
                    .into_owned()
            })
    };
    assert_eq!(alike(&forked), alike(&executed), "{}", forked.context());
    // What was compared is backtraces, each named: seven panics are shown (the expected one is
    // not), none left a marker behind.
    let stdout = &forked.stdout;
    assert_eq!(
        stdout.matches("\nstack backtrace:\n").count(),
        7,
        "{}",
        forked.context()
    );
    assert_eq!(
        stdout.matches("\nnote: Some details are omitted").count(),
        7
    );
    assert!(
        !stdout.contains("unnamed backtrace"),
        "{}",
        forked.context()
    );
    // And the frames were named by the harness: a child that names them itself loads the
    // binary's debug info (tens of MiB on this debug build), one forked from the harness
    // does not.
    let peaks = |run: &Run| -> Vec<f64> {
        regex::Regex::new(r"memory: max RSS ([0-9.]+) MiB")
            .unwrap()
            .captures_iter(&run.stdout)
            .map(|peak| peak[1].parse().unwrap())
            .collect()
    };
    let (forked_peaks, executed_peaks) = (peaks(&forked), peaks(&executed));
    assert_eq!(forked_peaks.len(), 5, "{}", forked.context());
    for (forked_peak, executed_peak) in forked_peaks.iter().zip(&executed_peaks) {
        assert!(
            forked_peak * 2.0 < *executed_peak,
            "{forked_peaks:?} {executed_peaks:?}"
        );
    }
    for shown in [
        "panic_backtraces::inner_helper\n             at ",
        "thread '<unnamed>' (",
        "thread 'worker' (",
        "\nBox<dyn Any>\nstack backtrace:\n",
    ] {
        assert!(stdout.contains(shown), "{shown:?}\n{}", forked.context());
    }
}
