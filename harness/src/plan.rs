//! From registered tests to what this run will do: which tests it takes and in what order, as
//! libtest chooses them, and each test's settings resolved against the run's defaults.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use crate::cli::{Arguments, RunIgnored};
use crate::config::{RunDefaults, Shard};
use crate::registry::{Ignore, LeakPolicy, Setup, ShouldPanic, TestCase};
use crate::verdict::Expectations;

/// One test as this run will treat it. Small, as the parent's memory is copied into every fork:
/// the name is made again when a report needs it.
pub(crate) struct PlannedTest {
    pub(crate) case: &'static TestCase,
    /// Its place in the registry's order, by which a zygote finds it.
    pub(crate) registered: usize,
    pub(crate) timeout: Option<Duration>,
    pub(crate) expect: Expectations,
    /// How many times a failing test is run again, each in a fresh child.
    pub(crate) retries: u32,
    /// Bytes of live heap the test's allocations may bring about; more fail.
    pub(crate) memory_limit: Option<u64>,
    /// Run once, in the process this test is forked from: its own, else the suite's.
    pub(crate) setup: Option<Setup>,
}

impl PlannedTest {
    pub(crate) fn new(case: &'static TestCase, registered: usize, defaults: &RunDefaults) -> Self {
        let leak_limit = match case.leaks {
            LeakPolicy::RunDefault => Some(defaults.leak_limit),
            LeakPolicy::Limit(limit) => Some(limit),
            LeakPolicy::Allow => None,
        };
        Self {
            case,
            registered,
            timeout: case.timeout.or(defaults.timeout),
            retries: case.retries.unwrap_or(defaults.retries),
            memory_limit: case.memory_limit.or(defaults.memory_limit),
            setup: case.setup.or(defaults.setup),
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
}

/// The tests a run takes, as libtest takes them: those the filters name and the skips do not,
/// sorted by name, then shuffled where a seed says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    /// Indices into the registered tests, in the order the run reports them.
    pub(crate) tests: Vec<usize>,
    /// Their names, in the same order.
    pub(crate) names: Vec<String>,
    /// How many tests the filters left out.
    pub(crate) filtered_out: usize,
}

/// The tests `args` select from `registered` (in the registry's order), sorted by name: of
/// these, every `total`th one from `index` when the run is one shard of a sharded suite.
pub(crate) fn select(
    args: &Arguments,
    registered: &[&TestCase],
    shard: Option<&Shard>,
) -> Selection {
    let matches = |name: &str, filter: &str| {
        if args.exact {
            name == filter
        } else {
            name.contains(filter)
        }
    };
    let wanted = |name: &str, case: &TestCase| {
        (args.filters.is_empty() || args.filters.iter().any(|filter| matches(name, filter)))
            && !args.skip.iter().any(|skip| matches(name, skip))
            && !(args.exclude_should_panic && case.should_panic != ShouldPanic::No)
            && (args.run_ignored != RunIgnored::Only || is_ignored(case))
    };
    // One buffer for every name; only the selected ones are kept.
    let mut name = String::new();
    let mut matching: Vec<(usize, String)> = Vec::new();
    for (index, case) in registered.iter().enumerate() {
        case.write_full_name(&mut name);
        if wanted(&name, case) {
            matching.push((index, name.clone()));
        }
    }
    // Unstable: no two tests of a target share a name.
    matching.sort_unstable_by(|a, b| a.1.cmp(&b.1));
    let mut selected: Vec<(usize, String)> = matching
        .into_iter()
        .enumerate()
        .filter(|(position, _)| shard.is_none_or(|shard| position % shard.total == shard.index))
        .map(|(_, test)| test)
        .collect();
    let filtered_out = registered.len() - selected.len();
    if let Some(seed) = args.shuffle_seed {
        let names: Vec<String> = selected.iter().map(|(_, name)| name.clone()).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        shuffle(seed, &names, &mut selected);
    }
    let (tests, names) = selected.into_iter().unzip();
    Selection {
        tests,
        names,
        filtered_out,
    }
}

/// Whether a selected test runs: an ignored one only under `--ignored` or `--include-ignored`,
/// and none under `--bench` (libtest reports each test ignored there: benchmarks only).
pub(crate) fn runs(args: &Arguments, case: &TestCase) -> bool {
    (!is_ignored(case) || args.run_ignored != RunIgnored::No) && !args.benchmarks_only
}

fn is_ignored(case: &TestCase) -> bool {
    matches!(case.ignore, Ignore::Yes(_))
}

/// A test's name as libtest hashes it for a shuffle: by then it has given every name its
/// padding (`AlignedTestName`, none for a test), and the derived hash starts with the variant.
#[derive(Hash)]
#[allow(dead_code, clippy::enum_variant_names)] // only the last is made; the others give the hash its variant index
enum HashedName<'a> {
    StaticTestName(&'a str),
    DynTestName(String),
    AlignedTestName(std::borrow::Cow<'a, str>, Padding),
}

#[derive(Hash)]
#[allow(dead_code)]
enum Padding {
    PadNone,
    PadOnRight,
}

/// Shuffles `items` (one per name, in `names`' order) as libtest shuffles its tests for `seed`,
/// so that a seed gives the order libtest gives.
fn shuffle<T>(seed: u64, names: &[&str], items: &mut [T]) {
    let hashed: Vec<HashedName<'_>> = names
        .iter()
        .map(|name| HashedName::AlignedTestName((*name).into(), Padding::PadNone))
        .collect();
    let hashed: Vec<&HashedName<'_>> = hashed.iter().collect();
    let extra = hash_of(&hashed);
    let mut state = seed;
    for start in 0..items.len() {
        state = hash_of(&(state, extra));
        let rest = &mut items[start..];
        let pick = (state % rest.len() as u64) as usize;
        rest.swap(0, pick);
    }
}

fn hash_of<T: Hash>(value: &T) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    static CASE: TestCase = TestCase {
        module_path: "suite",
        name: "t",
        source: crate::registry::Source {
            file: "t.rs",
            line: 1,
            column: 4,
        },
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
        serial: None,
        setup: Some(crate::registry::Setup {
            name: "warm_up",
            key: "suite::warm_up",
            run: || (),
        }),
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
            setup: Some(crate::registry::Setup {
                name: "suite_wide",
                key: "suite::suite_wide",
                run: || (),
            }),
            setup_timeout: None,
        };
        let test = PlannedTest::new(&CASE, 0, &defaults);
        assert_eq!(test.setup.map(|setup| setup.name), Some("warm_up"));
        assert_eq!(test.timeout, Some(Duration::from_secs(2)));
        assert_eq!(test.expect.leak_limit, None);
        assert_eq!(test.retries, 1);
        assert_eq!(test.memory_limit, Some(1 << 20));
    }

    fn registered(names: &[&'static str]) -> Vec<&'static TestCase> {
        names
            .iter()
            .map(|name| {
                let case: &'static TestCase = Box::leak(Box::new(TestCase {
                    name,
                    ignore: if name.starts_with('i') {
                        Ignore::Yes(None)
                    } else {
                        Ignore::No
                    },
                    should_panic: if name.starts_with('p') {
                        ShouldPanic::Yes
                    } else {
                        ShouldPanic::No
                    },
                    ..CASE
                }));
                case
            })
            .collect()
    }

    fn selected(argv: &[&str], names: &[&'static str]) -> Vec<&'static str> {
        let env = |name: &str| (name == "RUSTC_BOOTSTRAP").then(|| "1".to_owned());
        let argv = std::iter::once("t").chain(argv.iter().copied());
        let args = Arguments::parse(argv.map(Into::into).collect(), &env).unwrap();
        select(&args, &registered(names), None)
            .tests
            .into_iter()
            .map(|index| names[index])
            .collect()
    }

    #[test]
    fn selection_follows_libtests_filters() {
        let names = ["a", "ab", "b", "ic", "pd"];
        assert_eq!(selected(&[], &names), names);
        assert_eq!(selected(&["a"], &names), ["a", "ab"]);
        assert_eq!(selected(&["a", "b"], &names), ["a", "ab", "b"]);
        assert_eq!(selected(&["a", "--exact"], &names), ["a"]);
        assert_eq!(selected(&["--skip", "b"], &names), ["a", "ic", "pd"]);
        assert_eq!(selected(&["--ignored"], &names), ["ic"]);
        assert_eq!(
            selected(&["-Zunstable-options", "--exclude-should-panic"], &names),
            ["a", "ab", "b", "ic"]
        );
    }

    /// The registry's order is the linker's; a run's is by name, and a shard takes every nth of
    /// that.
    #[test]
    fn the_selection_is_sorted_by_name_before_it_is_sharded() {
        let names = ["pd", "b", "ab", "ic", "a"];
        assert_eq!(selected(&[], &names), ["a", "ab", "b", "ic", "pd"]);
        assert_eq!(selected(&["a"], &names), ["a", "ab"]);
        let env = |_: &str| None;
        let args = Arguments::parse(vec!["t".into()], &env).unwrap();
        let shard = |index| Shard {
            index,
            total: 2,
            status_file: None,
        };
        let of = |index| -> Vec<&str> {
            let selection = select(&args, &registered(&names), Some(&shard(index)));
            let by_index: Vec<&str> = selection.tests.iter().map(|&i| names[i]).collect();
            assert_eq!(selection.names, by_index, "each name beside its test");
            by_index
        };
        assert_eq!((of(0), of(1)), (vec!["a", "b", "pd"], vec!["ab", "ic"]));
    }

    #[test]
    fn a_shard_takes_every_nth_selected_test() {
        let names = ["a", "ab", "b", "ic", "pd"];
        let env = |_: &str| None;
        let args = Arguments::parse(vec!["t".into(), "a".into()], &env).unwrap();
        let shard = |index| Shard {
            index,
            total: 2,
            status_file: None,
        };
        let of = |index| select(&args, &registered(&names), Some(&shard(index))).tests;
        assert_eq!((of(0), of(1)), (vec![0], vec![1]));
    }

    /// A seed gives one order, every time (tests/tests/e2e/libtest.rs holds it against
    /// libtest's).
    #[test]
    fn a_seed_shuffles_as_libtest_does() {
        let names: Vec<String> = (0..8).map(|n| format!("tests::t{n}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut order: Vec<usize> = (0..names.len()).collect();
        shuffle(42, &names, &mut order);
        let mut again: Vec<usize> = (0..names.len()).collect();
        shuffle(42, &names, &mut again);
        assert_eq!(order, again);
        assert_ne!(order, (0..names.len()).collect::<Vec<_>>());
    }
}
