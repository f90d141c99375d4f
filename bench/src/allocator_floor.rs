//! The allocator floor: what any `#[global_allocator]` costs the small_allocs suite in the debug
//! test profile, counting nothing; the least isolated-test's counting allocator could cost there.
//!
//! A `#[global_allocator]` is reached through functions compiled in the crate that declares it,
//! at that crate's opt-level: in the debug profile, unoptimised code builds each `Layout` (with
//! its debug precondition check) and calls the allocator's methods. The default allocator's path
//! is in the precompiled, optimised std. So a suite made of allocations runs slower under any
//! global allocator than under in-process libtest with the default one, before anything is
//! counted, and small_allocs' target (isolated-test's wall at most 1.2x in-process libtest's) is
//! to be judged against this ratio.
//!
//! The same small_allocs tests are run by libtest in process from two binaries: the suite's own
//! (`small_allocs_libtest`, the default allocator) and `small_allocs_forwarding` (a unit struct
//! that forwards every call to `System`). At one test thread, as the target's j1 row, so no second
//! thread's allocations share the measurement. Every round runs each once, interleaved as the
//! suites are, with the small_allocs suite's filter; every run's pass count is checked; the ratio
//! is of the medians.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::numbers::{median, millis, number, ratio, spread_percent};
use crate::runner::{self, Kind, Runner};
use crate::Subset;

/// The two binaries, in the order each round runs them: the default allocator, the forwarding one.
pub const TARGETS: [&str; 2] = ["small_allocs_libtest", "small_allocs_forwarding"];

/// Both run under libtest in process at `--test-threads=1`.
const RUNNER: Runner = Runner {
    kind: Kind::Libtest,
    threads: 1,
};

/// What was measured: each binary's wall times over the rounds, in [`TARGETS`]' order.
pub struct AllocatorFloor {
    pub subset: Subset,
    pub walls: [Vec<Duration>; 2],
}

/// Runs `subset` of the small_allocs tests from both binaries, `rounds` rounds, taking turns.
pub fn measure(
    subset: Subset,
    rounds: usize,
    executables: &HashMap<String, PathBuf>,
) -> Result<AllocatorFloor, String> {
    let mut walls = [Vec::new(), Vec::new()];
    for round in 1..=rounds {
        eprintln!(
            "allocator floor: {} small_allocs tests, default and forwarding allocator, round \
             {round}/{rounds}",
            subset.tests
        );
        for (target, walls) in TARGETS.into_iter().zip(&mut walls) {
            let command = runner::test_binary(&executables[target], subset.filter, RUNNER.threads);
            let timed = runner::run(RUNNER, command)?;
            if timed.passed != subset.tests {
                return Err(format!(
                    "{target} passed {} tests, expected {} (filter {:?})",
                    timed.passed, subset.tests, subset.filter
                ));
            }
            walls.push(timed.wall);
        }
    }
    Ok(AllocatorFloor { subset, walls })
}

impl AllocatorFloor {
    /// The forwarding allocator's median wall over the default allocator's.
    pub fn ratio(&self) -> Option<f64> {
        let [default, forwarding] = [&self.walls[0], &self.walls[1]].map(|w| median(w));
        ratio(forwarding.as_secs_f64(), default.as_secs_f64())
    }

    /// The report's line: the ratio, and the medians and spreads it comes from.
    pub fn line(&self) -> String {
        let mut out = String::new();
        let [default, forwarding] = [&self.walls[0], &self.walls[1]].map(|w| median(w));
        let _ = writeln!(
            out,
            "\nallocator floor (a forwarding #[global_allocator], no counting, libtest in \
             process, j1): {}x in-process libtest's wall (small_allocs, {} tests, median of {} \
             rounds: {:.1} ms against {:.1} ms, spread {:.0}% / {:.0}%)",
            number(self.ratio(), 2),
            self.subset.tests,
            self.walls[0].len(),
            millis(forwarding),
            millis(default),
            spread_percent(&self.walls[1], forwarding),
            spread_percent(&self.walls[0], default),
        );
        out
    }
}
