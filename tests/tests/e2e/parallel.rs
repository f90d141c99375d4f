//! Many children at once (fixtures/many.rs): 200 trivial tests (and one more) on eight jobs.

use std::collections::BTreeSet;

use isolated_test_e2e::fixture;

#[test]
fn two_hundred_tests_on_eight_jobs_all_pass_and_each_is_reported_once() {
    let run = fixture!("many").args(["--test-threads=8"]).run();
    run.assert_exit_code(0);
    let expected: Vec<String> = (0..20)
        .flat_map(|module| (0..10).map(move |test| format!("m{module:02}::t{test}")))
        // Its SIGHUP test is Unix-only.
        .chain(cfg!(unix).then(|| "sighup::is_as_the_harness_found_it".to_owned()))
        .collect();
    assert_eq!(run.names(), expected, "{}", run.context());
    assert!(
        run.report
            .verdicts
            .iter()
            .all(|(_, verdict)| verdict == "ok"),
        "{}",
        run.context()
    );
    let unique: BTreeSet<&str> = run.names().into_iter().collect();
    let all = if cfg!(unix) { 201 } else { 200 };
    assert_eq!(unique.len(), all);
    let summary = run.report.summary.unwrap();
    assert_eq!((summary.passed, summary.failed), (all, 0));
}

/// A test that waits for one sixty tests later passes on two jobs, as under libtest: the harness
/// starts tests far ahead of the one it reports while that one runs.
#[cfg(unix)]
#[test]
fn a_test_waiting_for_a_much_later_one_is_not_kept_from_it() {
    let dir = isolated_test_e2e::TempDir::new("later");
    let fifo = dir.path().join("fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("running mkfifo");
    assert!(status.success());
    let run = fixture!("waits_for_later")
        .env("LATER_FIFO", &fifo)
        .args(["--test-threads", "2"])
        .run();
    run.assert_exit_code(0);
    run.assert_ok("a_waits_for_the_last_test");
    run.assert_ok("z_the_last_test");
}
