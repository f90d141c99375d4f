//! Death tests (fixtures/death.rs): `signal`, `exit_code` and `stderr`, each passing by the end
//! it names and failing, with the end it got, by any other.

use std::sync::OnceLock;

use isolated_test_e2e::{fixture, Run};

// The panic located is in a `signal =` test, which is Unix-only.
#[cfg(unix)]
const SOURCE: &str = include_str!("../../fixtures/death.rs");
#[cfg(unix)]
const FILE: &str = "tests/fixtures/death.rs";

fn death() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| fixture!("death").run())
}

// Unix-only: death by signal (a Windows process ends with an exit code only).
#[cfg(unix)]
#[test]
fn a_test_killed_by_its_signal_passes() {
    let run = death();
    run.assert_exit_code(101);
    for name in [
        "segfaults_as_expected",
        "segfaults_after_saying_so",
        "aborts_by_number",
    ] {
        run.assert_ok(name);
    }
}

// Unix-only: death by signal (a Windows process ends with an exit code only).
#[cfg(unix)]
#[test]
fn any_other_end_of_a_signal_test_fails_naming_it() {
    let run = death();
    let panic_at = crate::location_of(SOURCE, FILE, "panic!(\"not the crash");
    run.assert_failed(
        "panics_instead_of_segfaulting",
        &format!(
            "should have been killed by signal 11 (SIGSEGV), but it panicked at {panic_at}: not the crash we wanted"
        ),
    );
    run.assert_failed(
        "returns_instead_of_segfaulting",
        "should have been killed by signal 11 (SIGSEGV), but it returned normally",
    );
    // The harness's own kill at the timeout is never the expected SIGKILL.
    run.assert_failed(
        "hangs_instead_of_being_killed",
        "timed out after 300ms; its process group was killed",
    );
}

#[test]
fn a_test_exiting_early_with_its_status_passes() {
    let run = death();
    run.assert_ok("exits_with_3");
    run.assert_ok("exits_with_0_early");
}

#[test]
fn any_other_end_of_an_exit_test_fails_naming_it() {
    let run = death();
    run.assert_failed(
        "exits_with_4_instead",
        "should have exited with status 3 before the test finished, but it exited with status 4 before the test finished",
    );
    run.assert_failed(
        "returns_instead_of_exiting",
        "should have exited with status 0 before the test finished, but it returned normally",
    );
    // A crash reads as the system says it: a signal on Unix.
    #[cfg(unix)]
    run.assert_failed(
        "is_killed_instead_of_exiting",
        "should have exited with status 3 before the test finished, but it was killed by signal 11 (SIGSEGV)",
    );
}

#[test]
fn stderr_must_match_too() {
    let run = death();
    // Unix-only: the test that ends as expected there is a `signal =` test.
    #[cfg(unix)]
    {
        let failure = run.assert_failed(
            "segfaults_without_the_expected_message",
            "ended as expected, but its stderr does not match the regex \"never printed\"",
        );
        assert_eq!(failure.output.stderr.as_deref(), Some("something else"));
    }
    run.assert_ok("panics_with_a_checked_message");
}

// Unix-only: death by signal (a Windows process ends with an exit code only).
#[cfg(unix)]
#[test]
fn stderr_is_checked_under_nocapture_as_nextest_runs_a_test() {
    for (name, verdict) in [
        ("segfaults_after_saying_so", "ok"),
        ("segfaults_without_the_expected_message", "FAILED"),
    ] {
        let run = fixture!("death")
            .args(["--exact", name, "--nocapture"])
            .run();
        run.assert_verdict(name, verdict);
        // Captured to be checked, then passed through for the user to see.
        let printed = if verdict == "ok" {
            "about to read address 0"
        } else {
            "something else"
        };
        assert!(
            run.stderr.lines().any(|line| line == printed),
            "{name}'s stderr was not passed through\n{}",
            run.context()
        );
    }
}
