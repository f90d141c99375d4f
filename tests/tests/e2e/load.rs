//! Ten thousand tests (fixtures/ten_thousand.rs) at one, two and eight test threads, with the
//! harness's self-check on: every test passes, and the harness ends with as many descriptors
//! open as it started with and no child left.

use isolated_test_e2e::{fixture, Run};

const SELF_CHECK: &str = "isolated-test self-check: ";

fn ten_thousand(threads: usize) {
    let run = fixture!("ten_thousand")
        .env("ISOLATED_TEST_SELF_CHECK", "1")
        .args(["-q".to_owned(), format!("--test-threads={threads}")])
        .run();
    run.assert_exit_code(0);
    assert_eq!(run.report.running, Some(10_000), "{}", run.context());
    let summary = run.report.summary.expect("a summary line");
    assert_eq!(
        (summary.ok, summary.passed, summary.failed),
        (true, 10_000, 0),
        "{}",
        run.context()
    );
    assert_self_check_balances(&run);
    run.assert_harness_did_not_panic();
}

/// The one self-check line on stderr reads
/// `isolated-test self-check: descriptors at start N, at end N; children left 0`.
#[track_caller]
fn assert_self_check_balances(run: &Run) {
    let lines: Vec<&str> = run
        .stderr_lines()
        .into_iter()
        .filter(|line| line.starts_with(SELF_CHECK))
        .collect();
    let [line] = lines[..] else {
        panic!(
            "expected one `{SELF_CHECK}...` line on stderr, got {lines:?}\n{}",
            run.context()
        );
    };
    let numbers = parse_self_check(line)
        .unwrap_or_else(|| panic!("a self-check line of an unexpected form: {line:?}"));
    let (at_start, at_end, children_left) = numbers;
    assert!(
        at_start == at_end && children_left == 0,
        "the harness ended with {at_end} descriptors open (it started with {at_start}) and {children_left} children left\n{}",
        run.context()
    );
}

/// (descriptors at start, at end, children left)
fn parse_self_check(line: &str) -> Option<(usize, usize, usize)> {
    let rest = line.strip_prefix(SELF_CHECK)?;
    let rest = rest.strip_prefix("descriptors at start ")?;
    let (at_start, rest) = rest.split_once(", at end ")?;
    let (at_end, children) = rest.split_once("; children left ")?;
    Some((
        at_start.parse().ok()?,
        at_end.parse().ok()?,
        children.trim_end().parse().ok()?,
    ))
}

#[test]
fn ten_thousand_tests_pass_on_one_thread_and_leave_nothing_open() {
    ten_thousand(1);
}

#[test]
fn ten_thousand_tests_pass_on_two_threads_and_leave_nothing_open() {
    ten_thousand(2);
}

#[test]
fn ten_thousand_tests_pass_on_eight_threads_and_leave_nothing_open() {
    ten_thousand(8);
}

#[test]
fn the_self_check_line_is_read_as_the_harness_prints_it() {
    assert_eq!(
        parse_self_check(
            "isolated-test self-check: descriptors at start 5, at end 6; children left 0"
        ),
        Some((5, 6, 0))
    );
    assert_eq!(parse_self_check("isolated-test self-check: fine"), None);
}
