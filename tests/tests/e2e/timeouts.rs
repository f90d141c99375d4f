//! Timeouts (fixtures/timeouts.rs). The reason names the configured timeout, not the time the
//! test ran, so these assertions hold however loaded the machine is.

use isolated_test_e2e::fixture;

#[test]
fn a_timeout_attribute_kills_the_test() {
    let run = fixture!("timeouts")
        .args(["--exact", "hangs_with_its_own_timeout"])
        .run();
    run.assert_exit_code(101);
    run.assert_failed(
        "hangs_with_its_own_timeout",
        "timed out after 300ms; its process group was killed",
    );
}

#[test]
fn the_timeout_environment_variable_sets_the_default() {
    let run = fixture!("timeouts")
        .env("ISOLATED_TEST_TIMEOUT", "300ms")
        .args(["--exact", "hangs_under_the_default_timeout"])
        .run();
    run.assert_exit_code(101);
    run.assert_failed(
        "hangs_under_the_default_timeout",
        "timed out after 300ms; its process group was killed",
    );
}

#[test]
fn a_timeout_attribute_overrides_the_environment() {
    let run = fixture!("timeouts")
        .env("ISOLATED_TEST_TIMEOUT", "250ms")
        .run();
    run.assert_exit_code(101);
    run.assert_failed(
        "hangs_with_its_own_timeout",
        "timed out after 300ms; its process group was killed",
    );
    run.assert_failed(
        "hangs_under_the_default_timeout",
        "timed out after 250ms; its process group was killed",
    );
}

#[test]
fn output_printed_before_a_timeout_is_shown() {
    let run = fixture!("timeouts")
        .args(["--exact", "prints_then_hangs"])
        .run();
    let failure = run.assert_failed(
        "prints_then_hangs",
        "timed out after 300ms; its process group was killed",
    );
    assert_eq!(failure.output.stdout.as_deref(), Some("started, then hung"));
    assert_eq!(failure.output.stderr.as_deref(), Some("hung on stderr too"));
}
