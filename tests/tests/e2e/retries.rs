//! Retries and the JUnit report (fixtures/retries.rs). Each attempt counts itself in a file, so
//! the number of attempts is asserted, not guessed.

use isolated_test_e2e::{fixture, Run, TempDir};

const SOURCE: &str = include_str!("../../fixtures/retries.rs");
const FILE: &str = "tests/fixtures/retries.rs";

fn run_in(dir: &TempDir, env: &[(&str, &str)]) -> Run {
    let mut harness = fixture!("retries").env("ATTEMPTS_DIR", dir.path());
    for (name, value) in env {
        harness = harness.env(name, value);
    }
    harness.run()
}

#[test]
fn a_test_that_passes_on_a_retry_is_ok_and_flaky() {
    let dir = TempDir::new("retries");
    let run = run_in(&dir, &[]);
    run.assert_exit_code(101);
    run.assert_ok("passes_on_the_second_attempt");
    assert_eq!(dir.read("second"), "2");
    let at = crate::location_of(SOURCE, FILE, "assert!(attempt(\"second_check\")");
    let after: Vec<&str> = run
        .report
        .after_summary
        .iter()
        .map(|line| line.trim())
        .collect();
    assert!(
        after.starts_with(&[
            "FLAKY passes_on_the_second_attempt passed on attempt 2 of 3",
            &format!("attempt 1: panicked at {at}: the first attempt fails"),
            "flaky: 1 flaky test passed only on a retry",
        ]),
        "{}",
        run.context()
    );
}

#[test]
fn a_test_that_fails_every_attempt_fails_with_the_last_reason() {
    let dir = TempDir::new("retries");
    let run = run_in(&dir, &[]);
    let at = crate::location_of(SOURCE, FILE, "panic!(\"always fails\")");
    run.assert_failed(
        "fails_every_attempt",
        &format!("panicked at {at}: always fails"),
    );
    assert_eq!(dir.read("always"), "2", "retries = 1 runs it twice");
    let at = crate::location_of(SOURCE, FILE, "assert!(attempt(\"run_default\")");
    run.assert_failed(
        "fails_once_unless_the_run_retries",
        &format!("panicked at {at}: the first attempt fails"),
    );
    assert_eq!(dir.read("run_default"), "1", "no retries by default");
}

#[test]
fn the_environment_sets_the_default_and_the_attribute_wins() {
    let dir = TempDir::new("retries");
    let run = run_in(&dir, &[("ISOLATED_TEST_RETRIES", "3")]);
    run.assert_ok("fails_once_unless_the_run_retries");
    assert_eq!(dir.read("run_default"), "2");
    assert_eq!(dir.read("always"), "2", "its own retries = 1 wins over 3");
}

#[test]
fn a_bad_retries_value_is_one_line() {
    let dir = TempDir::new("retries");
    let run = run_in(&dir, &[("ISOLATED_TEST_RETRIES", "twice")]);
    run.assert_exit_code(2);
    assert_eq!(
        run.stderr.trim_end(),
        "error: ISOLATED_TEST_RETRIES=\"twice\" is not a number of retries (try \"0\" or \"2\")"
    );
}

#[test]
fn the_junit_report_parses_with_the_right_counts() {
    let dir = TempDir::new("junit");
    let xml_path = dir.path().join("report.xml");
    let run = run_in(&dir, &[("ISOLATED_TEST_JUNIT", xml_path.to_str().unwrap())]);
    run.assert_exit_code(101);
    let xml = dir.read("report.xml");
    let document = roxmltree::Document::parse(&xml).expect("the report is well-formed XML");
    let suites = document.root_element();
    assert_eq!(suites.tag_name().name(), "testsuites");
    let suite = suites
        .children()
        .find(|node| node.has_tag_name("testsuite"))
        .expect("one testsuite");
    for element in [suites, suite] {
        assert_eq!(element.attribute("name"), Some("retries"));
        assert_eq!(element.attribute("tests"), Some("5"));
        assert_eq!(element.attribute("failures"), Some("2"));
        assert_eq!(element.attribute("skipped"), Some("1"));
        assert_eq!(element.attribute("errors"), Some("0"));
    }
    let case = |name: &str| {
        suite
            .children()
            .find(|node| node.has_tag_name("testcase") && node.attribute("name") == Some(name))
            .unwrap_or_else(|| panic!("no testcase {name}\n{xml}"))
    };
    let child = |name: &str, tag: &str| case(name).children().find(|node| node.has_tag_name(tag));
    let always_at = crate::location_of(SOURCE, FILE, "panic!(\"always fails\")");
    let failure = child("fails_every_attempt", "failure").expect("a failure element");
    let reason = format!("panicked at {always_at}: always fails");
    assert_eq!(failure.attribute("message"), Some(reason.as_str()));
    // Its text: the reason, then all else said of the failure (the memory line), not the output.
    let details = failure.text().unwrap_or_default();
    let lines: Vec<&str> = details.lines().collect();
    assert!(
        lines.len() == 2 && lines[0] == reason && lines[1].starts_with("memory: "),
        "{details:?}"
    );
    assert!(child("ignored", "skipped").is_some());
    assert!(child("passes_on_the_second_attempt", "flakyFailure").is_some());
    assert!(child("passes_on_the_second_attempt", "failure").is_none());
    assert_eq!(
        child("passes", "system-err").and_then(|node| node.text()),
        Some("a <tag> & \"quotes\"\n")
    );
    assert_eq!(case("passes").attribute("classname"), Some("retries"));
}

#[test]
fn a_junit_path_with_pid_gives_each_process_a_file() {
    // cargo-nextest runs a process per test: `%p` keeps their reports apart.
    let dir = TempDir::new("junit-pid");
    let pattern = dir.path().join("report-%p.xml");
    for name in ["passes", "passes_on_the_second_attempt"] {
        let run = fixture!("retries")
            .env("ATTEMPTS_DIR", dir.path())
            .env("ISOLATED_TEST_JUNIT", pattern.to_str().unwrap())
            .args(["--exact", name])
            .run();
        run.assert_ok(name);
    }
    let reports: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("report-") && name.ends_with(".xml"))
        .collect();
    assert_eq!(reports.len(), 2, "{reports:?}");
}
