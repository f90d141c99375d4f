//! Timeouts (fixtures/timeouts.rs). The reason names the configured timeout, not the time the
//! test ran, so these assertions hold however loaded the machine is.

use isolated_test_e2e::{fixture, timed_out};

// For where a test was, which the Unix-only tests read.
#[cfg(unix)]
const SOURCE: &str = include_str!("../../fixtures/timeouts.rs");
/// As a backtrace shows it: relative to the directory the suite ran in, this package's.
#[cfg(unix)]
const FILE_FROM_HERE: &str = "fixtures/timeouts.rs";

#[test]
fn a_timeout_attribute_kills_the_test() {
    let run = fixture!("timeouts")
        .args(["--exact", "hangs_with_its_own_timeout"])
        .run();
    run.assert_exit_code(101);
    run.assert_failed("hangs_with_its_own_timeout", &timed_out("300ms"));
}

#[test]
fn the_timeout_environment_variable_sets_the_default() {
    let run = fixture!("timeouts")
        .env("ISOLATED_TEST_TIMEOUT", "300ms")
        .args(["--exact", "hangs_under_the_default_timeout"])
        .run();
    run.assert_exit_code(101);
    run.assert_failed("hangs_under_the_default_timeout", &timed_out("300ms"));
}

#[test]
fn a_timeout_attribute_overrides_the_environment() {
    let run = fixture!("timeouts")
        .env("ISOLATED_TEST_TIMEOUT", "250ms")
        .run();
    run.assert_exit_code(101);
    run.assert_failed("hangs_with_its_own_timeout", &timed_out("300ms"));
    run.assert_failed("hangs_under_the_default_timeout", &timed_out("250ms"));
}

#[test]
fn output_printed_before_a_timeout_is_shown() {
    let run = fixture!("timeouts")
        .args(["--exact", "prints_then_hangs"])
        .run();
    let failure = run.assert_failed("prints_then_hangs", &timed_out("300ms"));
    assert_eq!(failure.output.stdout.as_deref(), Some("started, then hung"));
    assert_eq!(failure.output.stderr.as_deref(), Some("hung on stderr too"));
}

// Unix-only: where a timed-out test was stuck is asked with a signal, which Windows has not.
#[cfg(unix)]
#[test]
fn a_hung_test_shows_where_it_was_stuck() {
    let run = fixture!("timeouts")
        .args(["--exact", "hangs_spinning"])
        .run();
    let failure = run.assert_failed("hangs_spinning", &timed_out("300ms"));
    let lines: Vec<&str> = failure.reason_lines.iter().map(String::as_str).collect();
    let at = lines
        .iter()
        .position(|line| *line == "stuck at:")
        .unwrap_or_else(|| panic!("no backtrace\n{}", run.context()));
    let frames: Vec<&str> = lines[at + 1..]
        .iter()
        .copied()
        .take_while(|line| line.starts_with("    "))
        .collect();
    assert!(
        frames
            .iter()
            .any(|frame| frame
                .starts_with("    timeouts::spin_until_killed at fixtures/timeouts.rs:")),
        "the spinning function is named\n{}",
        run.context()
    );
    let call = crate::location_of(SOURCE, FILE_FROM_HERE, "spin_until_killed();");
    assert_eq!(
        frames.last().copied(),
        Some(format!("    timeouts::hangs_spinning at {call}").as_str()),
        "the outermost frame is the test, at its call\n{}",
        run.context()
    );
}

#[test]
fn a_long_running_test_gets_libtests_notice() {
    // The notice comes at 1 s, the timeout at 2 s: the order is fixed, however loaded the machine.
    let run = fixture!("timeouts")
        .env("ISOLATED_TEST_SLOW_AFTER", "1s")
        .env("ISOLATED_TEST_TIMEOUT", "2s")
        .args(["--exact", "hangs_under_the_default_timeout"])
        .run();
    assert!(
        run.stderr.lines().any(|line| line
            == "test hangs_under_the_default_timeout has been running for over 1 second"),
        "{}",
        run.context()
    );
    run.assert_failed("hangs_under_the_default_timeout", &timed_out("2s"));
}

/// No test is timed out unless asked, as under libtest; one that runs long gets libtest's notice
/// with where it is, which for a test that hangs is where its user learns it.
// Unix-only: the harness asks where a slow test is with a signal.
#[cfg(unix)]
#[test]
fn a_long_running_test_is_said_with_where_it_is_and_left_running() {
    let run = fixture!("timeouts")
        .env("ISOLATED_TEST_SLOW_AFTER", "100ms")
        .args(["--exact", "waits_for_the_notice"])
        .run();
    run.assert_exit_code(0);
    run.assert_ok("waits_for_the_notice");
    let lines: Vec<&str> = run.stderr.lines().collect();
    let notice = lines
        .iter()
        .position(|line| *line == "test waits_for_the_notice has been running for over 100ms")
        .unwrap_or_else(|| panic!("no notice\n{}", run.context()));
    assert_eq!(
        lines.get(notice + 1).copied(),
        Some("  it is at:"),
        "{}",
        run.context()
    );
    let frames: Vec<&str> = lines[notice + 2..]
        .iter()
        .copied()
        .take_while(|line| line.starts_with("    "))
        .collect();
    let call = crate::location_of(SOURCE, FILE_FROM_HERE, "libc::pause()");
    assert_eq!(
        frames.last().copied(),
        Some(format!("    timeouts::waits_for_the_notice at {call}").as_str()),
        "{}",
        run.context()
    );
}
