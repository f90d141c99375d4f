//! From registered tests to what this run will do: each test's settings resolved against the
//! run's defaults, and the order in which libtest-mimic will ask for results.

use std::time::Duration;

use libtest_mimic::{Arguments, Trial};

use crate::config::RunDefaults;
use crate::registry::{Ignore, LeakPolicy, TestCase};
use crate::verdict::Expectations;

/// One test as this run will treat it. Small, as the parent's memory is copied into every fork:
/// the name lives in libtest-mimic's trial and is made again when a report needs it.
pub(crate) struct PlannedTest {
    pub(crate) case: &'static TestCase,
    pub(crate) timeout: Option<Duration>,
    pub(crate) expect: Expectations,
    /// How many times a failing test is run again, each in a fresh child.
    pub(crate) retries: u32,
    /// Bytes of live heap the test's allocations may bring about; more fail.
    pub(crate) memory_limit: Option<u64>,
}

impl PlannedTest {
    pub(crate) fn new(case: &'static TestCase, defaults: &RunDefaults) -> Self {
        let leak_limit = match case.leaks {
            LeakPolicy::RunDefault => Some(defaults.leak_limit),
            LeakPolicy::Limit(limit) => Some(limit),
            LeakPolicy::Allow => None,
        };
        Self {
            case,
            timeout: case.timeout.or(defaults.timeout),
            retries: case.retries.unwrap_or(defaults.retries),
            memory_limit: case.memory_limit.or(defaults.memory_limit),
            expect: Expectations {
                should_panic: case.should_panic,
                leak_limit,
                end: case.end,
                stderr: case.stderr,
                panic_aborts: crate::child::PANIC_ABORTS,
                max_peak: case.max_peak,
                strict_leaks: case.strict_leaks || defaults.strict_leaks,
            },
        }
    }

    pub(crate) fn name(&self) -> String {
        self.case.full_name()
    }

    pub(crate) fn is_ignored(&self) -> bool {
        matches!(self.case.ignore, Ignore::Yes(_))
    }
}

/// The indices of the trials libtest-mimic will run, in the order it runs them: the same filter
/// it applies, asked of libtest-mimic itself.
pub(crate) fn run_order(args: &Arguments, trials: &[Trial]) -> Vec<usize> {
    trials
        .iter()
        .enumerate()
        .filter(|(_, trial)| !args.is_filtered_out(trial) && !args.is_ignored(trial))
        .map(|(index, _)| index)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::ShouldPanic;

    static CASE: TestCase = TestCase {
        module_path: "suite",
        name: "t",
        body: || Ok(()),
        ignore: Ignore::No,
        should_panic: ShouldPanic::No,
        timeout: Some(Duration::from_secs(2)),
        leaks: LeakPolicy::Allow,
        end: crate::registry::ExpectedEnd::Finish,
        stderr: None,
        retries: Some(1),
        memory_limit: None,
        max_peak: None,
        strict_leaks: false,
    };

    #[test]
    fn attributes_win_over_defaults() {
        let defaults = RunDefaults {
            timeout: Some(Duration::from_secs(60)),
            leak_limit: 10,
            retries: 3,
            memory_limit: Some(1 << 20),
            slow_after: None,
            strict_leaks: false,
        };
        let test = PlannedTest::new(&CASE, &defaults);
        assert_eq!(test.timeout, Some(Duration::from_secs(2)));
        assert_eq!(test.expect.leak_limit, None);
        assert_eq!(test.retries, 1);
        assert_eq!(test.memory_limit, Some(1 << 20));
    }

    #[test]
    fn run_order_follows_libtest_mimics_filter() {
        let trials = || {
            ["a", "ab", "b", "c"]
                .into_iter()
                .map(|name| Trial::test(name, || Ok(())).with_ignored_flag(name == "c"))
                .collect::<Vec<_>>()
        };
        let parse =
            |argv: &[&str]| Arguments::from_iter(std::iter::once("t").chain(argv.iter().copied()));
        assert_eq!(run_order(&parse(&[]), &trials()), [0, 1, 2]);
        assert_eq!(run_order(&parse(&["a"]), &trials()), [0, 1]);
        assert_eq!(run_order(&parse(&["a", "--exact"]), &trials()), [0]);
        assert_eq!(run_order(&parse(&["--skip", "b"]), &trials()), [0]);
        assert_eq!(run_order(&parse(&["--ignored"]), &trials()), [3]);
        assert_eq!(
            run_order(&parse(&["--include-ignored"]), &trials()),
            [0, 1, 2, 3]
        );
    }
}
