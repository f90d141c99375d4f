//! Coverage of code that runs only in children (fixtures/coverage.rs, built with
//! `-C instrument-coverage`): with `%p` in `LLVM_PROFILE_FILE`, every child writes a profile of
//! its own, next to the harness's.

use std::path::{Path, PathBuf};
use std::process::Command;

use isolated_test_e2e::{build_fixture_apart, Harness, TempDir};

/// The host's target triple: building for it explicitly keeps the instrumentation away from
/// proc macros and build scripts.
fn host() -> String {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}

fn build_instrumented() -> PathBuf {
    let host = host();
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("coverage");
    build_fixture_apart("coverage", &target_dir, |cargo| {
        cargo
            .args(["--target", &host])
            .env("RUSTFLAGS", "-C instrument-coverage");
    });
    target_dir.join(host).join("debug").join("coverage")
}

#[test]
#[ignore = "slow: builds the suite instrumented for coverage; CI runs it (`-- --include-ignored`)"]
fn every_child_writes_its_own_coverage_profile() {
    let binary = build_instrumented();
    let dir = TempDir::new("coverage");
    let pattern = dir.path().join("profile-%p.profraw");
    let run = Harness::new(binary)
        .env("LLVM_PROFILE_FILE", &pattern)
        .run();
    run.assert_exit_code(0);
    run.assert_ok("calls_a_function_only_children_run");
    let profiles: Vec<u64> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().metadata().unwrap().len())
        .collect();
    // The harness's own, and one per test's child.
    assert_eq!(profiles.len(), 3, "{profiles:?}\n{}", run.context());
    assert!(profiles.iter().all(|&size| size > 0), "{profiles:?}");
}
