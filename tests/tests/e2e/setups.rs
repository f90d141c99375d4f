//! Setups run once, in a zygote the tests that need them are forked from (fixtures/setups.rs).
//!
//! What these tests hold is the zygote's, which only the fork backend has: a setup run once for
//! all its tests in a process of its own, its panic said in full once, a setup that left a
//! thread refused, its own timeout, its death with the harness. Under the exec backend a setup
//! runs in each test's child before the body (no zygote keeps its result), so each run here is
//! pinned to fork ([`Harness::fork_only`](isolated_test_e2e::Harness::fork_only)) whatever
//! `ISOLATED_TEST_E2E_BACKEND` says; the exec backend's setups are held in backends.rs
//! (`suite_setup`) and by the suite's setup test below, which runs under both.

use isolated_test_e2e::{
    assert_process_ends, assert_self_check_balances, fixture, processes_in_group, Fifo, Run,
    TempDir,
};

/// The fixture at `threads`, with the setups' log: which setups ran, once per line.
fn run_at(threads: usize) -> (Run, Vec<String>) {
    let dir = TempDir::new("setups");
    let log = dir.path().join("setups.log");
    // The zygote's: see the module's comment.
    let run = fixture!("setups")
        .fork_only()
        .env("E2E_SETUP_LOG", &log)
        .env("ISOLATED_TEST_REPORT", "memory")
        .env("ISOLATED_TEST_SELF_CHECK", "1")
        .args([format!("--test-threads={threads}")])
        .run();
    // The zygotes and the spares they fork ahead are gone, reaped, their sockets closed.
    assert_self_check_balances(&run);
    let ran = std::fs::read_to_string(&log).unwrap_or_default();
    (run, ran.lines().map(str::to_owned).collect())
}

#[test]
fn each_setup_runs_once_and_its_tests_find_the_state_ready_and_private() {
    for threads in [1, 8] {
        let (run, mut ran) = run_at(threads);
        run.assert_exit_code(101);
        ran.sort();
        assert_eq!(
            ran,
            ["panics", "starts_a_thread", "warm_up"],
            "{}",
            run.context()
        );
        // Changed by `a_...` in its own child: `b_...` still finds the setup's value.
        run.assert_ok("a_changes_the_shared_state");
        run.assert_ok("b_finds_the_shared_state_pristine");
        run.assert_ok("c_finds_the_state_ready_and_pays_nothing_for_it");
        // A test without a setup is forked from the harness, as always.
        run.assert_ok("d_without_a_setup_finds_nothing_ready");
    }
}

#[test]
fn the_setups_allocations_are_charged_to_no_test() {
    let (run, _) = run_at(1);
    let line = "c_finds_the_state_ready_and_pays_nothing_for_it: heap peak 0 B, 0 allocations, 0 B left in 0 blocks; max RSS ";
    assert!(
        run.report
            .after_summary
            .iter()
            .any(|memory| memory.trim().starts_with(line)),
        "{}",
        run.context()
    );
}

#[test]
fn a_test_forked_from_a_zygote_leaks_and_is_tracked_like_any_other() {
    let (run, ran) = run_at(1);
    let failure = run.assert_failed(
        "h_leaks_like_any_other",
        "leaked 100 bytes in 1 allocation (limit: 0 bytes); allow it with #[isolated_test(leak_limit = 100)] or #[isolated_test(allow_leaks)]",
    );
    // The run that tracked its allocations was forked from the same zygote: the setup ran once.
    assert_eq!(ran.iter().filter(|setup| *setup == "warm_up").count(), 1);
    assert!(
        failure
            .reason_lines
            .iter()
            .any(|line| line.trim().starts_with(
                "100 B in 1 block: setups::h_leaks_like_any_other at fixtures/setups.rs:"
            )),
        "{failure:?}"
    );
}

#[test]
fn a_setup_that_panics_fails_every_test_that_needs_it_said_in_full_once() {
    for threads in [1, 8] {
        let (run, _) = run_at(threads);
        run.assert_failed(
            "e_needs_a_setup_that_panics",
            "setup panics panicked at tests/fixtures/setups.rs:39:5: the grammar file is missing",
        );
        run.assert_failed(
            "f_needs_it_too",
            "setup panics panicked at tests/fixtures/setups.rs:39:5 (its message is under the first test that needed it)",
        );
    }
}

#[test]
fn a_setup_that_leaves_a_thread_running_is_never_forked_from() {
    let (run, _) = run_at(1);
    run.assert_failed(
        "g_needs_a_setup_that_leaves_a_thread",
        "setup starts_a_thread left 1 thread running: no test can be forked from it safely; start no threads in a setup",
    );
}

#[test]
fn a_setup_that_hangs_is_killed_at_its_own_timeout() {
    // `ISOLATED_TEST_SETUP_TIMEOUT` bounds a zygote's setup; under exec a setup runs in the
    // test's child, under the test's own timeout.
    let run = fixture!("setups")
        .fork_only()
        .env("ISOLATED_TEST_SETUP_TIMEOUT", "300ms")
        .args(["--ignored", "--exact", "needs_a_setup_that_hangs"])
        .run();
    run.assert_exit_code(101);
    run.assert_failed(
        "needs_a_setup_that_hangs",
        "setup hangs timed out after 300ms; its process was killed",
    );
}

#[test]
fn a_bad_setup_timeout_is_one_error_line() {
    let run = fixture!("setups")
        .env("ISOLATED_TEST_SETUP_TIMEOUT", "soon")
        .run();
    run.assert_exit_code(2);
    assert!(
        run.stderr
            .starts_with("error: ISOLATED_TEST_SETUP_TIMEOUT=\"soon\" is not a duration"),
        "{}",
        run.context()
    );
}

/// The zygote and the test forked from it die with the harness, whichever way it ends.
#[test]
fn zygotes_die_with_the_harness_under_sigkill_and_sigint() {
    for signal in [libc::SIGKILL, libc::SIGINT] {
        let dir = TempDir::new("setups-killed");
        let fifo = Fifo::create(dir.path().join("ready"));
        // The zygote's death with the harness: under exec there is no zygote.
        let running = fixture!("setups")
            .fork_only()
            .env("E2E_READY_FIFO", fifo.path())
            .args(["--ignored", "--exact", "waits_for_a_signal"])
            .spawn();
        let Some(line) = fifo.read_line_while(&running) else {
            panic!("the test never ran\n{}", running.wait().context());
        };
        let pids: Vec<i32> = line
            .split_whitespace()
            .map(|pid| pid.parse().unwrap())
            .collect();
        let [zygote, test] = pids[..] else {
            panic!("not two pids: {line:?}");
        };
        // The zygote's group: the zygote and the spare child it forks ahead of the next test.
        let group = processes_in_group(zygote);
        assert!(group.contains(&zygote), "{group:?}");
        running.signal(signal);
        let run = running.wait();
        assert_process_ends(test, "the test forked from the zygote");
        for pid in group {
            assert_process_ends(pid, "the zygote or its spare");
        }
        // A spare forked after the look above is in the group too.
        for pid in processes_in_group(zygote) {
            assert_process_ends(pid, "a spare forked late");
        }
        if signal == libc::SIGINT {
            run.assert_exit_code(130);
        }
    }
}

#[test]
fn the_suites_setup_is_every_tests_unless_it_names_its_own() {
    let run = fixture!("suite_setup").run();
    run.assert_exit_code(0);
    run.assert_ok("gets_the_suites_setup");
    run.assert_ok("gets_its_own_setup");
}
