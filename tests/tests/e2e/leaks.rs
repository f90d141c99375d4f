//! The leak check (fixtures/leaks.rs, fixtures/no_allocator.rs).

use std::sync::OnceLock;

use isolated_test_e2e::{fixture, Run, TempDir};

/// fixtures/leaks.rs under the default leak limit of 0, run once and shared.
fn leaks() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| fixture!("leaks").run())
}

// Unix-only: on Windows a leak over the limit is a note, not a failure (the scan that tells lost
// memory from still reachable runs on Linux only).
#[cfg(unix)]
#[test]
fn a_leak_over_the_default_limit_of_zero_fails_with_the_amount_and_the_fix() {
    let run = leaks();
    run.assert_exit_code(101);
    run.assert_failed(
        "leaks_1024_bytes",
        "leaked 1024 bytes in 1 allocation (limit: 0 bytes); allow it with #[isolated_test(leak_limit = 1024)] or #[isolated_test(allow_leaks)]",
    );
    run.assert_failed(
        "leaks_one_byte",
        "leaked 1 byte in 1 allocation (limit: 0 bytes); allow it with #[isolated_test(leak_limit = 1)] or #[isolated_test(allow_leaks)]",
    );
}

#[test]
fn a_leak_within_its_own_limit_passes() {
    leaks().assert_ok("leaks_under_its_limit");
    // The limit is inclusive.
    leaks().assert_ok("leaks_exactly_its_limit");
}

// Unix-only: on Windows a leak over the limit is a note, not a failure (the scan that tells lost
// memory from still reachable runs on Linux only).
#[cfg(unix)]
#[test]
fn an_allowed_leak_passes_and_is_noted_after_the_summary() {
    let run = leaks();
    run.assert_ok("leaks_allowed");
    assert_eq!(
        run.report.after_summary,
        ["note: leaks_allowed leaked 1024 bytes in 1 allocation (allowed)"],
        "{}",
        run.context()
    );
}

#[test]
fn tests_that_leave_nothing_behind_measure_exactly_zero() {
    // The limit is 0: a single byte the harness or std allocated lazily in the child would fail
    // these.
    for name in [
        "empty",
        "only_prints",
        "allocates_and_frees",
        "thread_allocates_and_frees",
    ] {
        leaks().assert_ok(name);
    }
}

#[test]
fn the_leak_limit_environment_variable_sets_the_default() {
    let run = fixture!("leaks")
        .env("ISOLATED_TEST_LEAK_LIMIT", "2048")
        .run();
    run.assert_exit_code(0);
    run.assert_ok("leaks_1024_bytes");
    run.assert_ok("leaks_one_byte");
}

// Unix-only: on Windows a leak over the limit is a note, not a failure (the scan that tells lost
// memory from still reachable runs on Linux only).
#[cfg(unix)]
#[test]
fn a_leak_limit_attribute_overrides_the_environment() {
    let run = fixture!("leaks")
        .env("ISOLATED_TEST_LEAK_LIMIT", "512")
        .run();
    run.assert_failed(
        "leaks_1024_bytes",
        "leaked 1024 bytes in 1 allocation (limit: 512 bytes); allow it with #[isolated_test(leak_limit = 1024)] or #[isolated_test(allow_leaks)]",
    );
    run.assert_ok("leaks_one_byte");
    run.assert_ok("leaks_exactly_its_limit");
}

#[test]
fn without_the_counting_allocator_tests_still_run_and_the_check_is_said_to_be_unavailable() {
    let run = fixture!("no_allocator").run();
    run.assert_exit_code(101);
    run.assert_ok("passes");
    // Its leak cannot be seen: that is what the warning is for.
    run.assert_ok("leaks_unnoticed");
    run.assert_failed(
        "panics",
        &format!(
            "panicked at {}: still a failure without the allocator",
            crate::location_of(
                include_str!("../../fixtures/no_allocator.rs"),
                "tests/fixtures/no_allocator.rs",
                "panic!(\"still a failure without the allocator\")"
            )
        ),
    );
    assert_eq!(
        run.report.after_summary,
        ["warning: leak check unavailable for 2 tests: no counting allocator is installed (end the test file with `isolated_test::main!();`)"],
        "{}",
        run.context()
    );
}

// Unix-only: on Windows a leak over the limit is a note, not a failure (the scan that tells lost
// memory from still reachable runs on Linux only).
#[cfg(unix)]
#[test]
fn a_suite_with_its_own_allocator_static_counts_through_it_and_its_statistics_move() {
    let run = fixture!("own_allocator").run();
    run.assert_exit_code(101);
    run.assert_ok("its_own_statistics_still_move");
    run.assert_ok("frees_all_it_takes");
    let failure = run.assert_failed(
        "a_leak_is_counted_through_it",
        "leaked 300 bytes in 1 allocation (limit: 0 bytes); allow it with #[isolated_test(leak_limit = 300)] or #[isolated_test(allow_leaks)]",
    );
    assert!(
        failure
            .reason_lines
            .iter()
            .any(|l| l.contains("own_allocator::a_leak_is_counted_through_it")),
        "no leak site in:\n{}",
        run.context()
    );
}

// For the leak sites, which the Unix-only tests read.
#[cfg(unix)]
const SOURCE: &str = include_str!("../../fixtures/leaks.rs");
/// As a leak site shows it: relative to the directory the suite ran in, this package's.
#[cfg(unix)]
const FILE_FROM_HERE: &str = "fixtures/leaks.rs";

// Unix-only: on Windows a leak over the limit is a note, not a failure (the scan that tells lost
// memory from still reachable runs on Linux only).
#[cfg(unix)]
#[test]
fn a_leak_is_traced_to_the_lines_that_allocated_it() {
    let run = leaks();
    let failure = run.assert_failed(
        "leaks_through_a_helper",
        "leaked 98 bytes in 3 allocations (limit: 0 bytes); allow it with #[isolated_test(leak_limit = 98)] or #[isolated_test(allow_leaks)]",
    );
    let at = |needle| crate::location_of(SOURCE, FILE_FROM_HERE, needle);
    let caller = format!(
        "        called from leaks::leaks_through_a_helper at {}",
        at("remember(&mut cache, word)")
    );
    let expected = [
        "leak sites (from a second run that tracked allocations):".to_owned(),
        format!(
            "    96 B in 1 block: leaks::remember at {}",
            at("push(owned)")
        ),
        caller.clone(),
        format!(
            "    2 B in 2 blocks: leaks::remember at {}",
            at("to_owned()")
        ),
        caller,
    ];
    assert_eq!(
        failure.reason_lines[1..=expected.len()],
        expected,
        "{}",
        run.context()
    );
}

// Unix-only: on Windows a leak over the limit is a note, not a failure (the scan that tells lost
// memory from still reachable runs on Linux only).
#[cfg(unix)]
#[test]
fn leak_sites_can_be_turned_off() {
    let run = fixture!("leaks")
        .env("ISOLATED_TEST_LEAK_SITES", "0")
        .args(["--exact", "leaks_through_a_helper"])
        .run();
    let failure = run.failure("leaks_through_a_helper");
    assert!(
        !failure
            .reason_lines
            .iter()
            .any(|line| line.starts_with("leak sites")),
        "{}",
        run.context()
    );
}

#[test]
fn only_a_test_that_leaked_runs_again_to_find_its_leak_sites() {
    let dir = TempDir::new("leak-runs");
    fixture!("leaks")
        .env("RUNS_DIR", dir.path())
        .args(["counts_its_runs"])
        .run();
    assert_eq!(dir.read("leaks_and_counts_its_runs"), "run\nrun\n");
    assert_eq!(dir.read("frees_and_counts_its_runs"), "run\n");
}

/// Twenty copies of a test whose scoped threads free their thread-locals only as they exit,
/// after the scope returned (fixtures/scoped_threads.rs): none leaks, at any thread count.
#[test]
fn threads_still_exiting_when_the_body_returns_never_count_as_a_leak() {
    for threads in [1, 2, 8] {
        let run = fixture!("scoped_threads")
            .args([format!("--test-threads={threads}")])
            .run();
        let summary = run.report.summary.map(|s| (s.passed, s.failed));
        assert_eq!(
            summary,
            Some((20, 0)),
            "at {threads} thread(s)\n{}",
            run.context()
        );
        run.assert_exit_code(0);
    }
}
