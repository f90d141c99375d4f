//! The many-thread row: what threads that park and wake one another cost under isolated-test,
//! against in-process libtest (issue #26's target: at most 1.3x its wall).
//!
//! Each test of the condvar_threads suites (bench/suites/condvar_threads_*.rs) starts eight
//! threads that pass 5,000 boxed items through a bounded queue behind a `Mutex` and two
//! `Condvar`s, as the queue, channel and pool tests of real crates do: futex waits and wakes,
//! blocks allocated on one thread and freed on another, threads started and joined in every test.
//! Under isolated-test each test's threads are started in a fresh child; the counting allocator
//! counts every block on threads other than the test's.
//!
//! Its own rounds (the suites' count), libtest and isolated-test taking turns at j1 and at j2, so
//! that both see the same phase of the machine; each ratio is of the medians. Every run's pass
//! count is checked against the subset.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::numbers::{median, millis, number, ratio, rounded, spread_percent};
use crate::runner::{self, Kind, Runner};
use crate::Subset;

/// The two binaries: the same tests under libtest in process and under isolated-test.
pub const TARGETS: [&str; 2] = ["condvar_threads_libtest", "condvar_threads_isolated"];

/// The target: isolated-test's wall at most this many times in-process libtest's.
const TARGET: f64 = 1.3;

/// Each round's runs, in order: both runners at j1, then both at j2.
const RUNS: [(usize, Runner); 4] = [
    (
        0,
        Runner {
            kind: Kind::Libtest,
            threads: 1,
        },
    ),
    (
        1,
        Runner {
            kind: Kind::Isolated,
            threads: 1,
        },
    ),
    (
        0,
        Runner {
            kind: Kind::Libtest,
            threads: 2,
        },
    ),
    (
        1,
        Runner {
            kind: Kind::Isolated,
            threads: 2,
        },
    ),
];

/// What was measured: each run's wall times over the rounds, in [`RUNS`]' order.
pub struct CondvarThreads {
    pub subset: Subset,
    pub walls: [Vec<Duration>; 4],
}

/// Runs `subset` of the condvar_threads tests under both runners at j1 and j2, `rounds` rounds.
pub fn measure(
    subset: Subset,
    rounds: usize,
    executables: &HashMap<String, PathBuf>,
) -> Result<CondvarThreads, String> {
    let mut walls: [Vec<Duration>; 4] = Default::default();
    for round in 1..=rounds {
        eprintln!(
            "condvar_threads: {} many-thread tests, libtest and isolated-test, round \
             {round}/{rounds}",
            subset.tests
        );
        for ((target, runner), walls) in RUNS.into_iter().zip(&mut walls) {
            let command =
                runner::test_binary(&executables[TARGETS[target]], subset.filter, runner.threads);
            let what = format!("{} on condvar_threads", runner.label());
            walls.push(runner::run_subset(runner, command, subset, &what)?);
        }
    }
    Ok(CondvarThreads { subset, walls })
}

impl CondvarThreads {
    /// The median walls of libtest and isolated-test at `--test-threads=j` (1 or 2).
    fn medians(&self, j: usize) -> [Duration; 2] {
        let at = 2 * (j - 1);
        [median(&self.walls[at]), median(&self.walls[at + 1])]
    }

    /// isolated-test's median wall over in-process libtest's at j1 and j2.
    pub fn ratios(&self) -> [Option<f64>; 2] {
        [1, 2].map(|j| {
            let [libtest, isolated] = self.medians(j);
            ratio(isolated.as_secs_f64(), libtest.as_secs_f64())
        })
    }

    /// The report's line: both ratios against the target, and the medians and spreads.
    pub fn line(&self) -> String {
        let mut out = String::new();
        let ratios = self.ratios();
        let met = ratios.iter().all(|r| r.is_some_and(|r| r <= TARGET));
        let _ = write!(
            out,
            "\ncondvar_threads (8 threads per test parking on a Mutex and Condvars, {} tests, \
             median of {} rounds): isolated-test's wall is {}x / {}x in-process libtest's at j1 / \
             j2 (target: at most {TARGET}x, {})",
            self.subset.tests,
            self.walls[0].len(),
            number(ratios[0], 2),
            number(ratios[1], 2),
            if met { "met" } else { "missed" },
        );
        for j in [1, 2] {
            let [libtest, isolated] = self.medians(j);
            let at = 2 * (j - 1);
            let _ = write!(
                out,
                "; j{j}: {:.1} ms against {:.1} ms, spread {:.0}% / {:.0}%",
                millis(isolated),
                millis(libtest),
                spread_percent(&self.walls[at + 1], isolated),
                spread_percent(&self.walls[at], libtest),
            );
        }
        out.push('\n');
        out
    }

    /// The JSON keys: `condvar_threads_vs_libtest_j1` and `_j2`.
    pub fn json(&self) -> Map<String, Value> {
        let [j1, j2] = self.ratios();
        let Value::Object(map) = json!({
            "condvar_threads_vs_libtest_j1": rounded(j1, 3),
            "condvar_threads_vs_libtest_j2": rounded(j2, 3),
        }) else {
            unreachable!("json! of an object literal is an object")
        };
        map
    }
}
