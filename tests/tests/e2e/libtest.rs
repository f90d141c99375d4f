//! isolated-test's output held against libtest's, byte for byte, on twin suites: the same tests
//! (fixtures/twin_tests.rs) under `#[isolated_test]` (fixtures/twin.rs) and under libtest's
//! `#[test]` (fixtures/twin_libtest.rs, built here with this toolchain's libtest). libtest's
//! unstable options are on through `RUSTC_BOOTSTRAP=1`, as editors and CI tools switch them on.
//!
//! What differs by design is left out of a comparison and said where: a failure's `message`
//! carries isolated-test's reason; a panic's output names the child's thread (`main`) and says
//! `RUST_BACKTRACE` in every child, where libtest says it once per process; times differ.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

#[cfg(unix)]
use isolated_test_e2e::cargo;
use isolated_test_e2e::TempDir;

/// The tests whose output is the same, byte for byte, under both: none fails or panics.
const QUIET_TESTS: [&str; 6] = [
    "--skip",
    "fails",
    "--skip",
    "returns_err",
    "--skip",
    "should_panic",
];

/// The libtest twin, built once with this toolchain's libtest.
fn libtest_twin() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| crate::libtest_twin("twin_libtest"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a twin with `args` and the environment every comparison shares.
fn run(binary: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary);
    isolated_test_e2e::with_backend_under_test(&mut command)
        .args(args)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUST_BACKTRACE", "0")
        .env_remove("RUST_TEST_THREADS")
        .env_remove("ISOLATED_TEST_JUNIT");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("the twin runs")
}

/// Both twins' stdout for `args` (libtest held to one thread, so that its order is the run's),
/// with the times made alike.
fn both(args: &[&str]) -> (String, String) {
    both_with(args, &[])
}

fn both_with(args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let libtest_args: Vec<&str> = ["--test-threads", "1"]
        .iter()
        .chain(args)
        .copied()
        .collect();
    let libtest = run(libtest_twin(), &libtest_args, env);
    let isolated = run(env!("CARGO_BIN_EXE_twin").as_ref(), args, env);
    (
        without_times(&text(&libtest.stdout)),
        without_times(&text(&isolated.stdout)),
    )
}

/// Both twins' stdout for `args`, each given them as they are (a thread count among them).
fn both_as_given(args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let libtest = run(libtest_twin(), args, env);
    let isolated = run(env!("CARGO_BIN_EXE_twin").as_ref(), args, env);
    (
        without_times(&text(&libtest.stdout)),
        without_times(&text(&isolated.stdout)),
    )
}

/// Times in every format made alike (`T`, or 0 in JSON): they are measured, so never the same.
fn without_times(output: &str) -> String {
    let patterns = [
        (r"finished in [0-9.]+s", "finished in Ts"),
        (r"<[0-9.]+s>", "<Ts>"),
        (r#""exec_time": [0-9.e-]+"#, r#""exec_time": 0"#),
        (r#"time="[0-9.e-]+""#, r#"time="T""#),
    ];
    patterns
        .iter()
        .fold(output.to_owned(), |text, (pattern, with)| {
            regex::Regex::new(pattern)
                .unwrap()
                .replace_all(&text, *with)
                .into_owned()
        })
}

fn args_with<'a>(args: &[&'a str]) -> Vec<&'a str> {
    args.iter().chain(QUIET_TESTS.iter()).copied().collect()
}

#[track_caller]
fn assert_same(args: &[&str]) {
    let (libtest, isolated) = both(args);
    assert_eq!(isolated, libtest, "args: {args:?}");
}

#[test]
fn the_json_discovery_is_libtests() {
    assert_same(&["-Zunstable-options", "--list", "--format", "json"]);
    assert_same(&[
        "-Zunstable-options",
        "--list",
        "--format",
        "json",
        "--ignored",
    ]);
}

#[test]
fn the_plain_and_terse_lists_are_libtests() {
    assert_same(&["--list"]);
    assert_same(&["--list", "--format", "terse"]);
}

#[test]
fn json_events_are_libtests_with_times_and_output() {
    assert_same(&args_with(&["-Zunstable-options", "--format", "json"]));
    assert_same(&args_with(&[
        "-Zunstable-options",
        "--format",
        "json",
        "--show-output",
        "--report-time",
    ]));
}

/// Failed tests: libtest's events and fields, `stdout` the test's own raw output, and
/// isolated-test's reason in a `message` libtest leaves out for these tests.
#[test]
fn a_json_failure_carries_the_raw_output_and_the_reason() {
    let (libtest, isolated) = both(&["-Zunstable-options", "--format", "json", "--show-output"]);
    let events = |output: &str| -> Vec<serde_json::Map<String, serde_json::Value>> {
        output
            .lines()
            .map(|line| match serde_json::from_str(line) {
                Ok(serde_json::Value::Object(event)) => event,
                _ => panic!("not a JSON event: {line}"),
            })
            .collect()
    };
    let (libtest, isolated) = (events(&libtest), events(&isolated));
    assert_eq!(libtest.len(), isolated.len(), "{isolated:#?}");
    for (theirs, ours) in libtest.iter().zip(&isolated) {
        for (key, value) in theirs {
            match key.as_str() {
                // A panic's output: the child's thread is `main`, and says RUST_BACKTRACE.
                "stdout" if ours.get("name") != Some(&"returns_err".into()) => {}
                "exec_time" => {}
                _ => assert_eq!(ours.get(key), Some(value), "{key} of {theirs:?}"),
            }
        }
        if ours.get("type") == Some(&"test".into()) && ours.get("event") == Some(&"failed".into()) {
            let message = ours
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or_default();
            let reason = match ours.get("name").and_then(|name| name.as_str()) {
                Some("returns_err") => "returned an error: \"nope\"",
                _ => "panicked at tests/fixtures/twin_tests.rs:",
            };
            assert!(message.starts_with(reason), "{ours:?}");
        }
    }
}

#[test]
fn the_pretty_and_terse_runs_are_libtests() {
    assert_same(&args_with(&[]));
    assert_same(&args_with(&["-q"]));
    assert_same(&args_with(&["--include-ignored", "-q"]));
    assert_same(&args_with(&["--ignored"]));
}

#[test]
fn report_time_and_ensure_time_are_libtests() {
    assert_same(&args_with(&["-Zunstable-options", "--report-time"]));
    assert_same(&args_with(&["-Zunstable-options", "--ensure-time"]));
    assert_same(&args_with(&["-Zunstable-options", "--report-time", "-q"]));
}

#[test]
fn a_shuffle_seed_gives_libtests_order() {
    for seed in ["42", "7", "18446744073709551615"] {
        assert_same(&args_with(&["-Zunstable-options", "--shuffle-seed", seed]));
        assert_same(&args_with(&[
            "-Zunstable-options",
            "--shuffle-seed",
            seed,
            "--include-ignored",
            "--format",
            "json",
        ]));
    }
    let (libtest, isolated) = both_with(
        &args_with(&["-Zunstable-options", "-q"]),
        &[("RUST_TEST_SHUFFLE_SEED", "99")],
    );
    assert_eq!(isolated, libtest);
    assert!(isolated.contains("(shuffle seed: 99)"), "{isolated}");
}

#[test]
fn exclude_should_panic_and_junit_are_libtests() {
    assert_same(&args_with(&[
        "-Zunstable-options",
        "--exclude-should-panic",
    ]));
    assert_same(&[
        "-Zunstable-options",
        "--exclude-should-panic",
        "-q",
        "should",
    ]);
    assert_same(&args_with(&["-Zunstable-options", "--format", "junit"]));
    assert_same(&args_with(&[
        "-Zunstable-options",
        "--format",
        "junit",
        "--report-time",
    ]));
}

#[test]
fn the_log_file_is_libtests_and_the_output_still_printed() {
    let dir = TempDir::new("logfile");
    let log = |name: &str| dir.path().join(name);
    let libtest = run(
        libtest_twin(),
        &[
            "--test-threads",
            "1",
            "--logfile",
            log("libtest").to_str().unwrap(),
        ],
        &[],
    );
    let isolated = run(
        env!("CARGO_BIN_EXE_twin").as_ref(),
        &["--logfile", log("isolated").to_str().unwrap()],
        &[],
    );
    assert_eq!(dir.read("isolated"), dir.read("libtest"));
    assert!(dir.read("isolated").contains("failed returns_err\n"));
    assert_eq!(text(&isolated.stderr), text(&libtest.stderr));
    assert!(text(&isolated.stdout).contains("test passes ... ok\n"));
    let list = |binary: &std::path::Path, name: &str| {
        run(
            binary,
            &["--list", "--logfile", log(name).to_str().unwrap()],
            &[],
        );
        dir.read(name)
    };
    assert_eq!(
        list(env!("CARGO_BIN_EXE_twin").as_ref(), "isolated-list"),
        list(libtest_twin(), "libtest-list")
    );
}

/// Both twins refuse `args` alike: libtest's line on stderr, nothing on stdout, exit code 101.
#[track_caller]
fn assert_refused_alike(args: &[&str]) {
    let libtest = run(libtest_twin(), args, &[]);
    let isolated = run(env!("CARGO_BIN_EXE_twin").as_ref(), args, &[]);
    assert_eq!(text(&isolated.stderr), text(&libtest.stderr), "{args:?}");
    assert!(text(&libtest.stderr).starts_with("error: "), "{args:?}");
    assert_eq!(text(&isolated.stdout), "", "{args:?}");
    assert_eq!(isolated.status.code(), libtest.status.code(), "{args:?}");
    assert_eq!(isolated.status.code(), Some(101), "{args:?}");
}

/// Every unstable flag is refused without `-Z unstable-options`, in libtest's words and with its
/// exit code.
#[test]
fn unstable_flags_are_gated_as_libtest_gates_them() {
    for args in [
        &["--format", "json"][..],
        &["--format", "junit"],
        &["--report-time"],
        &["--ensure-time"],
        &["--shuffle"],
        &["--shuffle-seed", "3"],
        &["--exclude-should-panic"],
        &["--force-run-in-process"],
        &["--fail-fast"],
    ] {
        assert_refused_alike(args);
    }
    let mut no_bootstrap = Command::new(env!("CARGO_BIN_EXE_twin"));
    no_bootstrap
        .args(["-Z", "unstable-options"])
        .env_remove("RUSTC_BOOTSTRAP");
    let refused = no_bootstrap.output().unwrap();
    assert_eq!(
        text(&refused.stderr),
        "error: the option `Z` is only accepted on the nightly compiler\n"
    );
    assert_eq!(refused.status.code(), Some(101));
}

/// A flag libtest does not know, one given twice, a value missing or wrong: getopts' words or
/// libtest's, exactly, and libtest's exit code.
#[test]
fn bad_flags_are_refused_in_libtests_words_and_exit_code() {
    for args in [
        &["--bogus"][..],
        &["-x"],
        &["--list", "--list"],
        &["--exact=yes"],
        &["--test-threads"],
        &["--test-threads=0"],
        &["--test-threads", "x"],
        &["--color", "maybe"],
        &["--format", "xml"],
        &["--ignored", "--include-ignored"],
        &["-Z", "other"],
        &["-Zunstable-options", "--shuffle-seed", "x"],
        &["--test-threads=0", "--format", "xml"],
    ] {
        assert_refused_alike(args);
    }
}

/// `--help` prints libtest's usage line and the flags, and runs nothing.
#[test]
fn help_prints_the_usage_and_runs_nothing() {
    for flag in ["--help", "-h"] {
        let output = run(env!("CARGO_BIN_EXE_twin").as_ref(), &[flag], &[]);
        let stdout = text(&output.stdout);
        assert_eq!(output.status.code(), Some(0));
        assert!(stdout.starts_with("Usage: "), "{stdout}");
        assert!(
            stdout
                .lines()
                .next()
                .unwrap()
                .ends_with(" [OPTIONS] [FILTERS...]"),
            "{stdout}"
        );
        for flag in [
            "--include-ignored",
            "--test-threads n_threads",
            "--no-capture",
            "--fail-fast",
        ] {
            assert!(stdout.contains(flag), "{flag} in {stdout}");
        }
        assert!(!stdout.contains("running"), "{stdout}");
    }
}

/// `--bench` without `--test`: libtest runs benchmarks only, and reports every test ignored;
/// `--list` still lists them.
#[test]
fn bench_reports_every_test_ignored_as_libtest_does() {
    assert_same(&["--bench"]);
    assert_same(&["--bench", "-q"]);
    assert_same(&["--bench", "--include-ignored", "pass"]);
    assert_same(&["-Zunstable-options", "--bench", "--format", "json"]);
    assert_same(&["--bench", "--list"]);
    assert_same(&args_with(&["--bench", "--test"]));
}

/// stdout without the entries of the failures section (`---- NAME ... ----` and what follows,
/// up to the list of names), which differ by design: isolated-test's reason and memory line.
fn without_failure_entries(output: &str) -> String {
    let mut kept = String::new();
    let mut failures_headings = 0;
    for line in output.split_inclusive('\n') {
        if line == "failures:\n" {
            failures_headings += 1;
        }
        if failures_headings != 1 || line == "failures:\n" {
            kept.push_str(line);
        }
    }
    kept
}

/// `-Z unstable-options --fail-fast`: the run reports nothing after the first failure, and the
/// summary counts what was reported.
#[test]
fn fail_fast_stops_at_the_first_failure_as_libtest_does() {
    for args in [
        &["-Zunstable-options", "--fail-fast"][..],
        &["-Zunstable-options", "--fail-fast", "--skip", "fails", "-q"],
        &["-Zunstable-options", "--fail-fast", "--skip", "returns_err"],
    ] {
        let (libtest, isolated) = both(args);
        assert_eq!(
            without_failure_entries(&isolated),
            without_failure_entries(&libtest),
            "{args:?}"
        );
        assert!(isolated.contains("\ntest result: FAILED."), "{isolated}");
    }
    let output = run(
        env!("CARGO_BIN_EXE_twin").as_ref(),
        &["-Zunstable-options", "--fail-fast"],
        &[],
    );
    assert_eq!(output.status.code(), Some(101));
}

#[test]
fn force_run_in_process_is_accepted_and_said_to_be_ignored() {
    let output = run(
        env!("CARGO_BIN_EXE_twin").as_ref(),
        &args_with(&["-Zunstable-options", "--force-run-in-process"]),
        &[],
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        text(&output.stderr).lines().next(),
        Some("note: --force-run-in-process is ignored: every test runs in a process of its own")
    );
}

/// `--ensure-time` fails a test over its critical time, as libtest does for a unit test (a target
/// whose root is in `src/`): the unit fixture, with `RUST_TEST_TIME_UNIT=0,0`.
// Unix-only: builds with cargo from inside the test, which the Windows driver (under Wine) cannot
// start.
#[cfg(unix)]
#[test]
fn ensure_time_fails_a_unit_test_over_its_critical_time() {
    let output = cargo()
        .args([
            "test",
            "--package",
            "isolated-test-unit-fixture",
            "--lib",
            "--target-dir",
        ])
        .arg(crate::unit_fixture_target_dir())
        .args([
            "--",
            "-Zunstable-options",
            "--ensure-time",
            "--exact",
            "parse::tests::pairs_parse",
        ])
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUST_TEST_TIME_UNIT", "0,0")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    let stdout = without_times(&text(&output.stdout));
    assert_eq!(output.status.code(), Some(101), "{stdout}");
    assert!(
        stdout.contains(
            "test parse::tests::pairs_parse ... FAILED (time limit exceeded) <Ts>\n\nfailures (time limit exceeded):\n\nfailures (time limit exceeded):\n    parse::tests::pairs_parse\n"
        ),
        "{stdout}"
    );
}

/// `--nocapture` with two test threads, as cargo-nextest (`--exact NAME --nocapture`) and editors
/// run a test: libtest writes `test NAME ... ` only with the result, so what the test printed
/// comes before its whole verdict line, never inside it.
#[test]
fn nocapture_with_several_threads_writes_each_verdict_line_whole() {
    for name in [
        "prints_and_passes",
        "prints_to_both_and_passes",
        "fails",
        "ignored",
    ] {
        let args = ["--test-threads", "2", "--nocapture", "--exact", name];
        let (libtest, isolated) = both_as_given(&args, &[]);
        assert_eq!(
            without_failure_entries(&isolated),
            without_failure_entries(&libtest),
            "{args:?}"
        );
    }
    let (libtest, isolated) = both_as_given(
        &[
            "--test-threads",
            "2",
            "--nocapture",
            "--exact",
            "prints_and_passes",
        ],
        &[],
    );
    assert_eq!(
        isolated,
        "\nrunning 1 test\nhello from the twin\ntest prints_and_passes ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 9 filtered out; finished in Ts\n\n"
    );
    assert_eq!(isolated, libtest);
    // Several tests at once: libtest's order is the order they end in; the lines are the same.
    // libtest's own lines can split (a test thread prints between `test NAME ... ` and `ok`,
    // which its main thread writes apart): the twin is taken from a run where they did not.
    let args = ["--test-threads", "2", "--nocapture", "pass"];
    let whole = |output: &str| {
        (output.lines())
            .filter(|line| line.starts_with("test ") && !line.starts_with("test result: "))
            .all(|line| line.ends_with(" ... ok"))
    };
    let (libtest, isolated) = (0..5)
        .map(|_| both_as_given(&args, &[]))
        .find(|(libtest, _)| whole(libtest))
        .expect("libtest wrote its verdict lines whole in one of 5 runs");
    let sorted = |output: &str| {
        let mut lines: Vec<String> = output.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&isolated), sorted(&libtest), "{isolated}");
    for line in isolated.lines().filter(|line| line.starts_with("test ")) {
        assert!(
            line.ends_with(" ... ok") || line.starts_with("test result: "),
            "{isolated}"
        );
    }
}

/// stdout up to the end of the summary line: what follows it is isolated-test's own notes.
fn through_the_summary(output: &str) -> &str {
    let summary = output.find("\ntest result: ").expect("a summary");
    let end = summary + output[summary + 1..].find('\n').expect("a whole line") + 2;
    &output[..end]
}

/// `--show-output`: libtest's order and layout, in both formats: the successes with each
/// passing test's output under `---- NAME stdout ----` and the list of their names, then the
/// failures, then `test result:`. After the summary, isolated-test adds the passing tests'
/// memory lines.
#[test]
fn show_output_is_libtests_layout() {
    for args in [
        args_with(&["--show-output"]),
        args_with(&["--show-output", "-q"]),
        args_with(&["--show-output", "--include-ignored", "-q"]),
        args_with(&["--show-output", "-Zunstable-options", "--shuffle-seed", "7"]),
        vec!["--show-output", "--skip", "should_panic"],
        vec!["--show-output", "-q", "--skip", "should_panic"],
        vec!["--show-output", "--exact", "fails"],
    ] {
        let (libtest, isolated) = both(&args);
        assert_eq!(
            without_failure_entries(through_the_summary(&isolated)),
            without_failure_entries(through_the_summary(&libtest)),
            "{args:?}"
        );
        let after = &isolated[through_the_summary(&isolated).len()..];
        assert!(
            after == "\n" || after.starts_with("\nmemory of the tests that passed:\n"),
            "{args:?}: {after:?}"
        );
    }
    let (_, isolated) = both(&args_with(&["--show-output", "pass"]));
    assert_eq!(
        through_the_summary(&isolated),
        "
running 3 tests
test passes ... ok
test prints_and_passes ... ok
test prints_to_both_and_passes ... ok

successes:

---- prints_and_passes stdout ----
hello from the twin

---- prints_to_both_and_passes stdout ----
to stdout from the twin
to stderr from the twin


successes:
    passes
    prints_and_passes
    prints_to_both_and_passes

test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 7 filtered out; finished in Ts
"
    );
}

/// What libtest writes only in one format: the reason of a lone ignored test (terse only), the
/// tests over their time limit (pretty only); and the failures' names, sorted.
#[test]
fn the_end_of_a_run_is_libtests_in_each_format() {
    for args in [
        &["--exact", "ignored_with_reason"][..],
        &["--exact", "ignored_with_reason", "-q"],
        &["--exact", "ignored_with_reason", "--ignored"],
        &[
            "-Zunstable-options",
            "--shuffle-seed",
            "11",
            "--skip",
            "should",
        ],
        &[
            "-Zunstable-options",
            "--shuffle-seed",
            "11",
            "--skip",
            "should",
            "-q",
        ],
    ] {
        let (libtest, isolated) = both(args);
        assert_eq!(
            without_failure_entries(&isolated),
            without_failure_entries(&libtest),
            "{args:?}"
        );
    }
}

/// `--color always`: libtest colours its words with `$TERM`'s terminfo sequences (`setaf` before,
/// `sgr0` after, the ignore reason inside the colour), and writes none where `TERM` is unset or
/// names a terminal it cannot find; a terminal without colours still gets the reset.
#[test]
fn color_always_writes_libtests_bytes_for_each_terminal() {
    let twin = |binary: &std::path::Path, args: &[&str], term: Option<&str>| {
        let mut command = Command::new(binary);
        isolated_test_e2e::with_backend_under_test(&mut command)
            .args(args)
            .env("RUSTC_BOOTSTRAP", "1")
            .env("RUST_BACKTRACE", "0")
            .env_remove("RUST_TEST_THREADS")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE");
        match term {
            Some(term) => command.env("TERM", term),
            None => command.env_remove("TERM"),
        };
        without_times(&text(&command.output().expect("the twin runs").stdout))
    };
    let isolated: &std::path::Path = env!("CARGO_BIN_EXE_twin").as_ref();
    let terms = [
        None,
        Some("dumb"),
        Some("xterm"),
        Some("xterm-256color"),
        Some("linux"),
        Some("vt100"),
        Some("no-such-terminal"),
    ];
    for term in terms {
        for args in [
            args_with(&["--color", "always"]),
            args_with(&["--color", "always", "-q"]),
            args_with(&["--color", "always", "--include-ignored"]),
            vec!["--color", "always"],
            vec!["--color", "always", "-q"],
            vec!["--color", "always", "-Zunstable-options", "--report-time"],
        ] {
            let libtest_args: Vec<&str> = ["--test-threads", "1"]
                .iter()
                .chain(&args)
                .copied()
                .collect();
            let libtest = twin(libtest_twin(), &libtest_args, term);
            let ours = twin(isolated, &args, term);
            assert_eq!(
                without_failure_entries(&ours),
                without_failure_entries(&libtest),
                "TERM={term:?} {args:?}"
            );
        }
    }
    // The bytes themselves, where this machine's terminfo has xterm-256color.
    let ours = twin(
        isolated,
        &[
            "--color",
            "always",
            "--exact",
            "ignored_with_reason",
            "passes",
        ],
        Some("xterm-256color"),
    );
    if ours.contains('\x1b') {
        assert!(
            ours.contains(
                "test ignored_with_reason ... \x1b[33mignored, needs a database\x1b(B\x1b[m\n"
            ),
            "{ours:?}"
        );
    }
    let unset = twin(isolated, &["--color", "always"], None);
    assert!(!unset.contains('\x1b'), "{unset:?}");
}
