//! The harness's own check at the end of a run (`ISOLATED_TEST_SELF_CHECK=1`).

use crate::Run;

const SELF_CHECK: &str = "isolated-test self-check: ";

/// `isolated-test self-check: descriptors at start N, at end N; children left 0`.
#[track_caller]
pub fn assert_self_check_balances(run: &Run) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
