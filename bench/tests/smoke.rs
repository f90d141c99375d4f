//! Smoke test of the benchmark: `isolated-test-bench --smoke` builds every suite, runs ten tests
//! of each under every runner once (cargo-nextest only if it is on PATH), runs the scaling check
//! on 100 tests, and ends its output with the JSON line.
//!
//! It checks that the bench completes, that every runner passed exactly the ten tests it was
//! given, and that the JSON carries the keys the README quotes. Never timings: they mean nothing
//! on ten tests, and less on a busy CI machine.

use std::process::Command;

use serde_json::Value;

/// The keys the JSON line always has (some are `null` when a runner was skipped).
const REQUIRED_KEYS: [&str; 13] = [
    "us_per_test_j1",
    "us_per_test_j2",
    "floor_us_j1",
    "floor_us_j2",
    "vs_nextest_j2",
    "vs_rusty_fork_j2",
    "alloc_heavy_ratio",
    "j2_speedup",
    "mb_suite_us_per_test_j2",
    "scaling_last_vs_first",
    "peak_rss_kb",
    "setup_vs_libtest_j2",
    "setup_nextest_vs_isolated_j2",
];

#[test]
fn bench_runs_every_runner_on_ten_tests_of_each_suite() {
    let output = Command::new(env!("CARGO_BIN_EXE_isolated-test-bench"))
        .arg("--smoke")
        .output()
        .expect("the bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the bench failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        output.status
    );

    let last = stdout.lines().last().expect("the bench printed something");
    let json: Value = serde_json::from_str(last)
        .unwrap_or_else(|error| panic!("the last line is not JSON ({error}): {last}"));
    for key in REQUIRED_KEYS {
        let value = json
            .get(key)
            .unwrap_or_else(|| panic!("no {key:?} in {last}"));
        assert!(
            value.is_number() || value.is_null(),
            "{key} is {value}, not a number"
        );
    }
    assert_eq!(json["mode"], "smoke");

    let nextest_on_path = Command::new(env!("CARGO"))
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    let rows = json["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 4 * 6, "4 suites x 6 runners: {rows:?}");
    for row in rows {
        if row["runner"] == "cargo-nextest" && !nextest_on_path {
            assert_eq!(
                row["skipped"], "skipped: cargo-nextest not on PATH",
                "{row}"
            );
            assert!(row["passed"].is_null(), "{row}");
        } else {
            assert!(row["skipped"].is_null(), "{row}");
            assert_eq!(row["tests"], 10, "{row}");
            assert_eq!(row["passed"], 10, "{row}");
        }
    }
    assert_eq!(json["scaling_tests"], 100);
}
