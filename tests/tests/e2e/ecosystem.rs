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
