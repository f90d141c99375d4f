//! The printing row: a suite whose tests print a million short lines between them (half with
//! `println!`, half with `eprintln!`), under isolated-test and under libtest in process, at one
//! test thread.
//!
//! libtest captures a test's output in the process's memory, through a hook std keeps for it (no
//! system call per line). isolated-test captures it from the child's stdout and stderr, so each
//! line costs the test at least its own `write` calls (one per `println!` line, one per piece of
//! the format for `eprintln!`, as std's stdout is line-buffered and its stderr unbuffered), and
//! the harness the reads of what piled up. The row shows what that costs a suite that logs as it
//! goes; the target is 1.3x libtest's wall.
//!
//! Every round runs both binaries, libtest's first; every run's pass count is checked; the ratio
//! is of the medians.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::numbers::number;
use crate::paired::{self, Paired, Side};
use crate::runner::{Kind, Runner};
use crate::Subset;

/// The two binaries, in the order each round runs them, each under its harness at
/// `--test-threads=1` (the two tests' lines are not written at once).
const SIDES: [Side; 2] = [
    Side {
        target: "print_lines_libtest",
        runner: Runner {
            kind: Kind::Libtest,
            threads: 1,
        },
    },
    Side {
        target: "print_lines_isolated",
        runner: Runner {
            kind: Kind::Isolated,
            threads: 1,
        },
    },
];

pub const TARGETS: [&str; 2] = [SIDES[0].target, SIDES[1].target];

/// Both suites whole: their two tests.
const ALL: Subset = Subset {
    filter: None,
    tests: 2,
};

/// What was measured: each binary's wall times over the rounds, libtest's first.
pub struct PrintLines {
    pub walls: Paired,
}

/// Runs both suites, `rounds` rounds, taking turns.
pub fn measure(
    rounds: usize,
    executables: &HashMap<String, PathBuf>,
) -> Result<PrintLines, String> {
    let what = "print_lines: a million captured lines, libtest and isolated-test";
    let walls = paired::measure(what, SIDES, ALL, rounds, executables)?;
    Ok(PrintLines { walls })
}

impl PrintLines {
    /// isolated-test's median wall over libtest's.
    pub fn ratio(&self) -> Option<f64> {
        self.walls.ratio()
    }

    /// The report's line, a blank line before it: the ratio, and the medians and spreads it
    /// comes from.
    pub fn line(&self) -> String {
        format!(
            "\nprint_lines (a million captured lines, {} tests, j1): isolated-test's wall is {}x \
             in-process libtest's (target: at most 1.3x; {})\n",
            ALL.tests,
            number(self.ratio(), 2),
            self.walls.medians_text(),
        )
    }
}
