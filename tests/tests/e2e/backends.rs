//! The exec backend (`ISOLATED_TEST_BACKEND=exec`: the test binary executed again for each test)
//! gives every fixture below the verdicts, reasons, evidence (where a timed-out test was stuck,
//! where leaked blocks came from, named at the harness's addresses) and summary the fork backend
//! gives, at two test threads: the child runs the same child-side code, and the harness reads
//! its end the same way. What only a fork gives (a setup run once in a zygote) is left out.

use isolated_test_e2e::{fixture, Harness, Run};

/// What of a run must not depend on how its children were started.
fn verdicts_of(run: &Run) -> (Option<i32>, String) {
    let mut said = String::new();
    for (name, verdict) in &run.report.verdicts {
        said.push_str(&format!("test {name} ... {verdict}\n"));
        if let Some(failure) = run.report.failures.get(name) {
            // The memory line's figures are the process's, and a re-executed one is larger.
            for line in failure
                .reason_lines
                .iter()
                .filter(|line| !line.starts_with("memory:"))
            {
                said.push_str(&format!("    {line}\n"));
            }
        }
    }
    if let Some(summary) = &run.report.summary {
        said.push_str(&format!(
            "ok: {} passed: {} failed: {} ignored: {}\n",
            summary.ok, summary.passed, summary.failed, summary.ignored
        ));
    }
    (run.code, said)
}

#[track_caller]
fn same_under_both_backends(suite: Harness) {
    let suite = suite.args(["--test-threads=2"]);
    let forked = suite.clone().env("ISOLATED_TEST_BACKEND", "fork").run();
    let executed = suite.env("ISOLATED_TEST_BACKEND", "exec").run();
    assert!(
        !forked.report.verdicts.is_empty(),
        "the fixture ran no test\n{}",
        forked.context()
    );
    assert_eq!(
        verdicts_of(&forked),
        verdicts_of(&executed),
        "the backends disagree\n---- fork ----\n{}\n---- exec ----\n{}",
        forked.context(),
        executed.context()
    );
}

#[test]
fn outcomes() {
    same_under_both_backends(fixture!("outcomes"));
}

#[test]
fn deaths_and_where_a_timed_out_test_was() {
    same_under_both_backends(fixture!("death"));
    same_under_both_backends(
        fixture!("timeouts")
            .env("ISOLATED_TEST_TIMEOUT", "300ms")
            .args(["hangs_spinning", "hangs_under_the_default_timeout"]),
    );
}

#[test]
fn leaks_and_what_is_still_reachable() {
    same_under_both_backends(fixture!("leaks"));
    same_under_both_backends(fixture!("reachability"));
}

#[test]
fn output_and_memory() {
    same_under_both_backends(fixture!("output"));
    same_under_both_backends(fixture!("memory"));
}

#[test]
fn what_tests_leave_behind() {
    same_under_both_backends(fixture!("left_behind"));
    same_under_both_backends(fixture!("grandchildren"));
    same_under_both_backends(fixture!("scoped_threads"));
}

#[test]
fn retries_serial_groups_and_isolate_inside_a_test() {
    same_under_both_backends(fixture!("retries"));
    same_under_both_backends(fixture!("serial"));
    same_under_both_backends(fixture!("isolate"));
}

#[test]
fn a_suites_setup_and_its_own_allocator() {
    same_under_both_backends(fixture!("suite_setup"));
    same_under_both_backends(fixture!("own_allocator"));
}
