//! libtest's command line and the `ISOLATED_TEST_*` environment (fixtures/flags.rs).

use std::collections::BTreeMap;

use isolated_test_e2e::{fixture, timed_out, Run};

/// Every test in fixtures/flags.rs, in the order listed and run, with its verdict in a plain run.
const ALL: [(&str, &str); 9] = [
    ("alpha", "ok"),
    ("alpha_beta", "ok"),
    ("beta", "ok"),
    ("fails_on_purpose", "FAILED"),
    ("ignored_plain", "ignored"),
    ("ignored_with_reason", "ignored, needs a database"),
    ("ignored_written_first", "ignored"),
    ("inner::alpha", "ok"),
    ("inner::gamma", "ok"),
];
const IGNORED: [&str; 3] = [
    "ignored_plain",
    "ignored_with_reason",
    "ignored_written_first",
];
const FAILS_ON_PURPOSE: &str = r#"returned an error: "this one fails""#;

fn flags(args: &[&str]) -> Run {
    fixture!("flags").args(args).run()
}

/// Asserts the run printed exactly these verdict lines, in this order.
#[track_caller]
fn assert_verdicts(run: &Run, expected: &[(&str, &str)]) {
    let printed: Vec<(&str, &str)> = run
        .report
        .verdicts
        .iter()
        .map(|(name, verdict)| (name.as_str(), verdict.as_str()))
        .collect();
    assert_eq!(printed, expected, "{}", run.context());
}

/// The failures section has `fails_on_purpose` with its reason.
#[track_caller]
fn assert_fails_on_purpose_reported(run: &Run) {
    let reason = &run.failure_entry("fails_on_purpose").reason;
    assert_eq!(reason, FAILS_ON_PURPOSE, "{}", run.context());
}

/// `NAME: test` lines, for `--list`.
/// What `--format terse --list` prints: a line per test, as libtest and cargo-nextest read it.
fn listed(names: &[&str]) -> String {
    names.iter().map(|name| format!("{name}: test\n")).collect()
}

/// What plain `--list` prints, byte for byte as libtest does: the lines, then a count.
fn listed_with_count(names: &[&str]) -> String {
    let tests = if names.len() == 1 { "test" } else { "tests" };
    let gap = if names.is_empty() { "" } else { "\n" };
    format!(
        "{}{gap}{} {tests}, 0 benchmarks\n",
        listed(names),
        names.len()
    )
}

#[test]
fn a_plain_run_runs_everything_but_the_ignored_in_name_order() {
    let run = flags(&[]);
    run.assert_exit_code(101);
    assert_verdicts(&run, &ALL);
    run.assert_failed("fails_on_purpose", FAILS_ON_PURPOSE);
    let summary = run.report.summary.unwrap();
    assert_eq!((summary.passed, summary.failed, summary.ignored), (5, 1, 3));
}

#[test]
fn the_exit_code_is_0_when_every_test_that_ran_passed() {
    let run = flags(&["--skip", "fails_on_purpose"]);
    run.assert_exit_code(0);
    assert!(run.report.summary.unwrap().ok);
}

#[test]
fn a_filter_runs_the_tests_whose_names_contain_it() {
    let run = flags(&["alpha"]);
    run.assert_exit_code(0);
    assert_verdicts(
        &run,
        &[
            ("alpha", "ok"),
            ("alpha_beta", "ok"),
            ("inner::alpha", "ok"),
        ],
    );
    assert_eq!(run.report.summary.unwrap().filtered_out, 6);
}

#[test]
fn exact_runs_only_the_test_with_that_name() {
    assert_verdicts(&flags(&["--exact", "alpha"]), &[("alpha", "ok")]);
    assert_verdicts(
        &flags(&["--exact", "inner::alpha"]),
        &[("inner::alpha", "ok")],
    );
    assert_verdicts(&flags(&["--exact", "alph"]), &[]);
}

#[test]
fn skip_leaves_out_the_tests_whose_names_contain_it() {
    let run = flags(&["--skip", "beta", "--skip", "inner"]);
    assert_verdicts(
        &run,
        &[
            ("alpha", "ok"),
            ("fails_on_purpose", "FAILED"),
            ("ignored_plain", "ignored"),
            ("ignored_with_reason", "ignored, needs a database"),
            ("ignored_written_first", "ignored"),
        ],
    );
    assert_eq!(run.report.summary.unwrap().filtered_out, 4);
}

#[test]
fn ignored_runs_only_the_ignored_tests() {
    let run = flags(&["--ignored"]);
    run.assert_exit_code(0);
    let expected: Vec<(&str, &str)> = IGNORED.iter().map(|name| (*name, "ok")).collect();
    assert_verdicts(&run, &expected);
}

#[test]
fn include_ignored_runs_everything() {
    let run = flags(&["--include-ignored"]);
    run.assert_exit_code(101);
    let expected: Vec<(&str, &str)> = ALL
        .iter()
        .map(|&(name, verdict)| {
            let ran = if verdict.starts_with("ignored") {
                "ok"
            } else {
                verdict
            };
            (name, ran)
        })
        .collect();
    assert_verdicts(&run, &expected);
}

#[test]
fn list_prints_every_test_and_runs_none() {
    let names: Vec<&str> = ALL.iter().map(|(name, _)| *name).collect();
    for (args, expected) in [
        (&["--list"][..], listed_with_count(&names)),
        (&["--list", "--format", "terse"], listed(&names)),
    ] {
        let run = flags(args);
        run.assert_exit_code(0);
        assert_eq!(run.stdout, expected, "{}", run.context());
        assert_eq!(run.stderr, "");
    }
}

#[test]
fn list_ignored_prints_only_the_ignored_tests() {
    // What cargo-nextest asks, to learn which tests are ignored.
    for (args, expected) in [
        (&["--list", "--ignored"][..], listed_with_count(&IGNORED)),
        (
            &["--list", "--format", "terse", "--ignored"],
            listed(&IGNORED),
        ),
    ] {
        let run = flags(args);
        run.assert_exit_code(0);
        assert_eq!(run.stdout, expected, "{}", run.context());
    }
}

#[test]
fn list_honours_a_filter() {
    let run = flags(&["--list", "gamma"]);
    assert_eq!(run.stdout, listed_with_count(&["inner::gamma"]));
    let none = flags(&["--list", "no_such_test"]);
    assert_eq!(none.stdout, "0 tests, 0 benchmarks\n");
}

#[test]
fn one_thread_and_eight_threads_give_the_same_verdicts() {
    let verdicts = |threads: &str| -> BTreeMap<String, String> {
        let run = flags(&["--include-ignored", threads]);
        run.assert_exit_code(101);
        run.report.verdicts.into_iter().collect()
    };
    assert_eq!(verdicts("--test-threads=1"), verdicts("--test-threads=8"));
}

#[test]
fn quiet_prints_one_character_per_test() {
    let run = flags(&["-q"]);
    run.assert_exit_code(101);
    // libtest's: a failure on a line of its own, named, after the count so far.
    assert_eq!(
        run.terse_marks().as_deref(),
        Some("... 3/9\nfails_on_purpose --- FAILED\niii.."),
        "{}",
        run.context()
    );
    assert!(run.report.verdicts.is_empty());
    assert_fails_on_purpose_reported(&run);

    let run = flags(&["-q", "--skip", "fails"]);
    run.assert_exit_code(0);
    assert_eq!(
        run.terse_marks().as_deref(),
        Some("...iii.."),
        "{}",
        run.context()
    );
}

#[test]
fn exact_name_with_nocapture_runs_that_one_test() {
    // How cargo-nextest runs each test: `BIN --exact NAME --nocapture`.
    let run = flags(&["--exact", "inner::gamma", "--nocapture"]);
    run.assert_exit_code(0);
    assert_verdicts(&run, &[("inner::gamma", "ok")]);
    let summary = run.report.summary.unwrap();
    assert_eq!((summary.passed, summary.filtered_out), (1, 8));

    let run = flags(&["--exact", "fails_on_purpose", "--nocapture"]);
    run.assert_exit_code(101);
    assert_verdicts(&run, &[("fails_on_purpose", "FAILED")]);
    assert_fails_on_purpose_reported(&run);
}

#[test]
fn an_editors_run_test_command_runs_exactly_that_test() {
    // rust-analyzer's and RustRover's "Run test":
    // `cargo test --package P --test T -- NAME --exact --nocapture`, of which the binary gets
    // what follows `--`. A name that is a prefix of others must still run that one test alone.
    let run = flags(&["alpha", "--exact", "--nocapture"]);
    run.assert_exit_code(0);
    assert_verdicts(&run, &[("alpha", "ok")]);
    let summary = run.report.summary.unwrap();
    assert_eq!((summary.passed, summary.filtered_out), (1, 8));
}

/// Asserts the run was refused with exit code `code`, nothing on stdout and exactly one stderr
/// line, and returns that line.
#[track_caller]
fn refused_with(run: &Run, code: i32) -> &str {
    run.assert_exit_code(code);
    assert_eq!(run.stdout, "", "{}", run.context());
    match run.stderr_lines()[..] {
        [line] => line,
        _ => panic!("expected one line on stderr\n{}", run.context()),
    }
}

/// A mistake in isolated-test's environment: one `error:` line and exit code 2.
#[track_caller]
fn refused(run: &Run) -> &str {
    refused_with(run, 2)
}

/// A flag libtest refuses too: libtest's line and exit code (tests/tests/e2e/libtest.rs holds
/// them against libtest's).
#[test]
fn a_bad_flag_is_refused_as_libtest_refuses_it() {
    let run = flags(&["--test-threads=0"]);
    assert_eq!(
        refused_with(&run, 101),
        "error: argument for --test-threads must not be 0"
    );
    let run = flags(&["--frobnicate"]);
    assert_eq!(
        refused_with(&run, 101),
        "error: Unrecognized option: 'frobnicate'"
    );
}

#[test]
fn a_bad_timeout_in_the_environment_is_refused_in_one_line() {
    let run = fixture!("flags").env("ISOLATED_TEST_TIMEOUT", "soon").run();
    let line = refused(&run);
    assert!(
        line.starts_with(r#"error: ISOLATED_TEST_TIMEOUT="soon" is not a duration: "#),
        "{}",
        run.context()
    );
    assert!(
        line.ends_with(r#" (try "30s", "2m", or "0" for none)"#),
        "{}",
        run.context()
    );
}

#[test]
fn a_bad_leak_limit_in_the_environment_is_refused_in_one_line() {
    let run = fixture!("flags")
        .env("ISOLATED_TEST_LEAK_LIMIT", "-1")
        .run();
    assert_eq!(
        refused(&run),
        r#"error: ISOLATED_TEST_LEAK_LIMIT="-1" is not a number of bytes (try "0" or "4096")"#
    );
}

#[test]
fn a_bad_rust_test_threads_is_refused_in_one_line() {
    let run = fixture!("flags").env("RUST_TEST_THREADS", "zero").run();
    assert_eq!(
        refused(&run),
        r#"error: RUST_TEST_THREADS must be a whole number of at least 1 (got "zero")"#
    );
}

/// `main!(timeout = "300ms", leak_limit = 64)` (fixtures/suite_defaults.rs): the suite's
/// defaults apply where a test names none; a test's attribute wins over them; the environment
/// over both.
#[test]
fn main_sets_the_suites_defaults_under_the_tests_own_and_the_environment() {
    let run = fixture!("suite_defaults").run();
    run.assert_failed("hangs_past_the_suites_timeout", &timed_out("300ms"));
    run.assert_failed("hangs_past_its_own_timeout", &timed_out("400ms"));
    run.assert_ok("loses_32_bytes_under_the_suites_limit");
    // Unix-only: on Windows a leak over the limit is a note, not a failure (the scan that tells
    // lost memory from still reachable runs on Linux only).
    #[cfg(unix)]
    run.assert_failed(
        "loses_32_bytes_over_its_own_limit",
        "leaked 32 bytes in 1 allocation (limit: 0 bytes); allow it with #[isolated_test(leak_limit = 32)] or #[isolated_test(allow_leaks)]",
    );

    let run = fixture!("suite_defaults")
        .env("ISOLATED_TEST_TIMEOUT", "200ms")
        .env("ISOLATED_TEST_LEAK_LIMIT", "0")
        .args(["suites_"])
        .run();
    run.assert_failed("hangs_past_the_suites_timeout", &timed_out("200ms"));
    #[cfg(unix)]
    run.assert_failed(
        "loses_32_bytes_under_the_suites_limit",
        "leaked 32 bytes in 1 allocation (limit: 0 bytes); allow it with #[isolated_test(leak_limit = 32)] or #[isolated_test(allow_leaks)]",
    );
}
