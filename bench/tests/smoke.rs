//! Smoke test of the benchmark: `isolated-test-bench --smoke` builds every suite, runs ten tests
//! of each under every runner once (cargo-nextest only if it is on PATH), runs the ten small_allocs
//! tests once more beside a copy under a forwarding global allocator (the allocator floor), runs
//! the print_lines suites (a million captured lines) once under each harness, runs the scaling
//! check on 100 tests, times starting and listing the 1,000-test binaries, and ends its output
//! with the JSON line.
//!
//! It checks that the bench completes, that every runner passed exactly the ten tests it was
//! given, and that the JSON carries the keys bench/README.md quotes. Never timings: they mean
//! nothing on ten tests, and less on a busy CI machine.

use std::process::Command;

use serde_json::Value;

/// The keys the JSON line always has (some are `null` when a runner was skipped, and the suite
/// size ones in every run but the full one).
const REQUIRED_KEYS: [&str; 30] = [
    "us_per_test_j1",
    "us_per_test_j2",
    "floor_us_j1",
    "floor_us_j2",
    "vs_nextest_j2",
    "vs_rusty_fork_j2",
    "exec_vs_fork_j2",
    "exec_vs_nextest_j2",
    "alloc_heavy_ratio",
    "j2_speedup",
    "mb_suite_us_per_test_j2",
    "scaling_last_vs_first",
    "peak_rss_kb",
    "setup_vs_libtest_j2",
    "setup_nextest_vs_isolated_j2",
    "size_10k_vs_1k_j1",
    "size_100k_vs_1k_j1",
    "size_100k_peak_rss_kb",
    "startup_100k_vs_libtest",
    "list_100k_vs_libtest",
    "small_allocs_vs_libtest_j1",
    "small_allocs_vs_libtest_j2",
    "small_allocs_forwarding_vs_libtest_j1",
    "small_allocs_vs_rusty_fork_j2",
    "small_allocs_vs_nextest_j2",
    "floor_ratio_j1",
    "floor_ratio_j2",
    "condvar_threads_vs_libtest_j1",
    "condvar_threads_vs_libtest_j2",
    "print_lines_vs_libtest_j1",
];

#[test]
#[ignore = "slow: builds every suite of the bench apart; CI runs it (`-- --ignored`)"]
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
    assert_eq!(rows.len(), 4 * 7, "4 suites x 7 runners: {rows:?}");
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

    // The allocator floor always runs (libtest in process, nothing to skip): a number, and its
    // line in the table.
    let key = "small_allocs_forwarding_vs_libtest_j1";
    assert!(json[key].is_number(), "{key} is {}", json[key]);
    assert!(
        stdout.contains("\nallocator floor (a forwarding #[global_allocator]"),
        "no allocator floor line in:\n{stdout}"
    );

    // The printing row always runs (both harnesses, nothing to skip): a number, and its line.
    let key = "print_lines_vs_libtest_j1";
    assert!(json[key].is_number(), "{key} is {}", json[key]);
    assert!(
        stdout.contains("\nprint_lines (a million captured lines"),
        "no print_lines line in:\n{stdout}"
    );

    // No 100,000-test binary is built in a smoke run: the size rows are left out, and start and
    // `--list` are timed on the 1,000-test binaries (each run's count checked by the bench).
    let size = &json["size"];
    assert_eq!(size["rows"], Value::Array(Vec::new()), "{size}");
    assert_eq!(size["probe_registered"], 1000, "{size}");
    for key in ["startup_ms_isolated_libtest", "list_ms_isolated_libtest"] {
        let walls = size[key].as_array().expect(key);
        assert!(
            walls.len() == 2 && walls.iter().all(Value::is_number),
            "{size}"
        );
    }
    assert!(json["size_100k_vs_1k_j1"].is_null());
    let targets = json["targets"].as_array().expect("targets");
    assert_eq!(
        targets.len(),
        9,
        "one per target of #15 and #26, and the exec backend's reported ratios: {targets:?}"
    );
    assert_eq!(targets[0]["verdict"], "not measured", "{targets:?}");
}
