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

use crate::numbers::number;
use crate::paired::{self, Paired, Side};
use crate::runner::{Kind, Runner};
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
    pub walls: Paired,
}

/// Runs `subset` of the small_allocs tests from both binaries, `rounds` rounds, taking turns.
pub fn measure(
    subset: Subset,
    rounds: usize,
    executables: &HashMap<String, PathBuf>,
) -> Result<AllocatorFloor, String> {
    let what = format!(
        "allocator floor: {} small_allocs tests, default and forwarding allocator",
        subset.tests
    );
    let sides = TARGETS.map(|target| Side {
        target,
        runner: RUNNER,
    });
    let walls = paired::measure(&what, sides, subset, rounds, executables)?;
    Ok(AllocatorFloor { subset, walls })
}

impl AllocatorFloor {
    /// The forwarding allocator's median wall over the default allocator's.
    pub fn ratio(&self) -> Option<f64> {
        self.walls.ratio()
    }

    /// The report's line: the ratio, and the medians and spreads it comes from.
    pub fn line(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nallocator floor (a forwarding #[global_allocator], no counting, libtest in \
             process, j1): {}x in-process libtest's wall (small_allocs, {} tests, {})",
            number(self.ratio(), 2),
            self.subset.tests,
            self.walls.medians_text(),
        );
        out
    }
}
