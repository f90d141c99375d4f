//! Working with the tools Rust developers already use, and never losing a test silently.

use std::path::PathBuf;
use std::process::Output;

use isolated_test_e2e::{cargo, fixture};

/// A target directory of its own for builds under libtest's harness: the outer `cargo test`
/// holds the normal one.
fn apart() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("libtest-harness")
}

/// `cargo test --test TARGET -- ARGS` on a test target of this package that libtest runs.
fn cargo_test(target: &str, args: &[&str]) -> Output {
    cargo()
        .args(["test", "--package", "isolated-test-e2e", "--test", target])
        .arg("--target-dir")
        .arg(apart())
        .arg("--")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
#[ignore = "slow: builds a crate of its own; CI runs it (`-- --include-ignored`)"]
fn a_target_without_harness_false_fails_saying_so() {
    let output = cargo_test("forgot_harness", &["--color", "never"]);
    let stdout = text(&output.stdout);
    let context = format!("stdout:\n{stdout}\nstderr:\n{}", text(&output.stderr));
    assert_eq!(output.status.code(), Some(101), "{context}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.contains(&"test isolated_tests_need_harness_false ... FAILED"),
        "{context}"
    );
    assert!(
        lines.contains(
            &"add harness = false to the [[test]] target forgot_harness in Cargo.toml: libtest ran this target, so none of its #[isolated_test] tests ran"
        ),
        "{context}"
    );
    assert!(
        stdout.contains("test result: FAILED. 0 passed; 1 failed;"),
        "{context}"
    );
}

/// What rust-analyzer's Run lens runs on a test in a module: `cargo test --package P --test T --
/// NAME --exact --show-output`, after the lens itself (a `#[test]` the macro gives the function
/// when rust-analyzer expands it: `macros/src/lib.rs`'s unit test).
#[test]
fn the_editors_run_command_runs_exactly_that_test() {
    let run = fixture!("flags")
        .args(["inner::alpha", "--exact", "--show-output"])
        .run();
    run.assert_exit_code(0);
    assert_eq!(run.names(), ["inner::alpha"], "{}", run.context());
    run.assert_ok("inner::alpha");
}

/// `RUST_BACKTRACE=1`: the panic's backtrace shows the test's frames and is cut where the
/// harness called the test, as libtest's short backtraces are.
#[test]
fn a_short_backtrace_ends_at_the_test() {
    let run = fixture!("outcomes")
        .env("RUST_BACKTRACE", "1")
        .args(["--exact", "panics"])
        .run();
    let stderr = run
        .failure("panics")
        .output
        .stderr
        .clone()
        .unwrap_or_default();
    let frames: Vec<&str> = stderr
        .lines()
        .skip_while(|line| *line != "stack backtrace:")
        .skip(1)
        .filter(|line| !line.trim_start().starts_with("at "))
        .collect();
    let functions: Vec<&str> = frames
        .iter()
        .filter_map(|line| line.split_once(": ").map(|(_, function)| function))
        .collect();
    // std's own frames above the test's depend on the toolchain; the test's, and where the
    // backtrace ends, do not.
    let from_test: Vec<&str> = functions
        .iter()
        .copied()
        .skip_while(|function| *function != "outcomes::panics")
        .collect();
    assert_eq!(
        from_test,
        [
            "outcomes::panics",
            "outcomes::_::__isolated_test_body",
            "Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.",
        ],
        "{}",
        run.context()
    );
    assert!(
        !functions
            .iter()
            .any(|function| function.contains("isolated_test::")),
        "{}",
        run.context()
    );
}

/// Bazel's (GoogleTest's) sharding: three shards of one suite take every test exactly once, each
/// touches its status file and writes its JUnit report where `XML_OUTPUT_FILE` says.
#[test]
fn three_bazel_shards_run_every_test_exactly_once() {
    let dir = isolated_test_e2e::TempDir::new("shards");
    let mut seen: Vec<String> = Vec::new();
    for index in 0..3 {
        let status = dir.path().join(format!("status-{index}"));
        let xml = dir.path().join(format!("junit-{index}.xml"));
        let run = fixture!("flags")
            .env("TEST_TOTAL_SHARDS", "3")
            .env("TEST_SHARD_INDEX", index.to_string())
            .env("TEST_SHARD_STATUS_FILE", &status)
            .env("XML_OUTPUT_FILE", &xml)
            .env("TEST_TMPDIR", dir.path())
            .run();
        assert!(status.exists(), "shard {index} touched no status file");
        let names = run.names();
        assert!(!names.is_empty(), "{}", run.context());
        let report = std::fs::read_to_string(&xml).expect("the shard's JUnit report");
        for name in &names {
            assert!(
                report.contains(&format!("name=\"{name}\"")),
                "{name} not in {report}"
            );
        }
        seen.extend(names.iter().map(|name| name.to_string()));
    }
    let all = fixture!("flags")
        .args(["--list", "--format", "terse"])
        .run();
    let mut expected: Vec<String> = all
        .stdout
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_owned)
        .collect();
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected);
}

#[test]
fn a_shard_out_of_range_is_one_error_line() {
    let run = fixture!("flags")
        .env("TEST_TOTAL_SHARDS", "2")
        .env("TEST_SHARD_INDEX", "2")
        .run();
    run.assert_exit_code(2);
    assert_eq!(
        run.stderr_lines(),
        ["error: TEST_SHARD_INDEX=\"2\" is not a shard from 0 to 1 (TEST_TOTAL_SHARDS=2)"]
    );
}

/// `serial = "group"`: with eight children in flight, no two tests of a group run at once (each
/// holds its group's lock file while it runs, and fails if another has it).
#[test]
fn tests_of_one_serial_group_never_overlap() {
    for _ in 0..3 {
        let dir = isolated_test_e2e::TempDir::new("serial");
        let run = fixture!("serial")
            .env("SERIAL_DIR", dir.path())
            .args(["--test-threads", "8"])
            .run();
        run.assert_exit_code(0);
        for name in [
            "first",
            "second",
            "third",
            "fourth",
            "elsewhere",
            "unrelated",
        ] {
            run.assert_ok(name);
        }
    }
}

/// `#[isolated_test] async fn`: on a current-thread tokio runtime in the child, or on the one
/// `runtime = ...` names; a panic, a timeout and a leak are reported as for any test, and
/// tokio's own runtime leaves no false leak.
#[test]
fn async_tests_run_to_completion_in_their_child() {
    let run = fixture!("async_tests").run();
    run.assert_exit_code(101);
    run.assert_ok("awaits_a_spawned_task");
    run.assert_ok("returns_ok_after_yielding");
    run.assert_ok("runs_on_the_runtime_it_names");
    let failure = run.assert_failed(
        "fails_after_yielding",
        &format!(
            "panicked at {}: async boom",
            crate::location_of(
                ASYNC_SOURCE,
                "tests/fixtures/async_tests.rs",
                "panic!(\"async boom\")"
            )
        ),
    );
    assert!(failure.output.stderr.is_some());
    run.assert_failed(
        "never_finishes",
        "timed out after 300ms; its process group was killed",
    );
    run.assert_failed("leaks_a_box", &isolated_test_e2e::leaked(24, 1));
}

const ASYNC_SOURCE: &str = include_str!("../../fixtures/async_tests.rs");

/// rstest's and test-case's cases are isolated tests under the names those crates give them;
/// proptest, insta (an inline snapshot) and tempfile work with their default settings.
#[test]
#[ignore = "slow: builds the `crates` suite apart, with all its dependencies; CI runs it (`-- --include-ignored`)"]
fn the_test_crates_people_use_work_inside_isolated_tests() {
    let run = isolated_test_e2e::Harness::new(crate::test_target("crates")).run();
    run.assert_exit_code(101);
    for passing in [
        "doubles::case_1",
        "doubles::case_2",
        "below_three::n_1_1",
        "below_three::n_2_2",
        "doubles_too::test_case_1_one",
        "doubles_too::test_case_2_two",
        "returns::test_case_1_with_a_result",
        "reversing_twice_gives_the_same",
        "matches_an_inline_snapshot",
        "writes_in_a_temporary_directory",
    ] {
        run.assert_ok(passing);
    }
    let failure = run.failure("below_three::n_3_3");
    assert!(
        failure.reason.ends_with(": three is too many"),
        "{}",
        run.context()
    );
    let failure = run.failure("doubles_too::test_case_3_three_is_wrong");
    assert!(
        failure.reason.contains("assertion `left == right` failed"),
        "{}",
        run.context()
    );
    assert_eq!(run.names().len(), 12, "{}", run.context());
}

/// tempfile's directory goes when the test's body ends, in the test's child.
#[test]
#[ignore = "slow: builds a crate of its own; CI runs it (`-- --include-ignored`)"]
fn a_temporary_directory_is_gone_after_its_test() {
    let run = isolated_test_e2e::Harness::new(crate::test_target("crates"))
        .args([
            "--exact",
            "writes_in_a_temporary_directory",
            "--show-output",
        ])
        .run();
    run.assert_exit_code(0);
    let output = run
        .report
        .successes
        .get("writes_in_a_temporary_directory")
        .cloned()
        .expect("the test printed its directory");
    assert!(!std::path::Path::new(output.trim()).exists(), "{output}");
}
