//! The targets of #15 and #26, each beside what this run measured and whether it was met: the block at
//! the end of the table and the JSON's `targets`.
//!
//! Ratios of wall times compare whole runs (what a user waits for); ratios of overheads compare
//! what each runner adds per test to in-process libtest, as the suite table does.

use std::fmt::Write as _;

use serde_json::{json, Map, Value};

use crate::numbers::{number, rounded};
use crate::runner::Kind;
use crate::size::SizeResult;

/// The ratios the targets are stated in, from the suites and the floor.
pub struct Headline {
    /// small_allocs: isolated-test's wall over in-process libtest's, at j1 and j2.
    pub small_allocs_vs_libtest: [Option<f64>; 2],
    /// The allocator floor: small_allocs under in-process libtest, a forwarding
    /// `#[global_allocator]`'s wall over the default allocator's, j1. Context for the target
    /// above: what any global allocator built at opt-level 0 costs there, counting nothing.
    pub small_allocs_forwarding_vs_libtest_j1: Option<f64>,
    /// small_allocs at j2: isolated-test's wall over rusty-fork's, cargo-nextest's (below 1:
    /// isolated-test is faster).
    pub small_allocs_vs_rusty_fork_j2: Option<f64>,
    pub small_allocs_vs_nextest_j2: Option<f64>,
    /// trivial: isolated-test's overhead per test over the floor's round trip, at j1 and j2.
    pub floor_ratio: [Option<f64>; 2],
    /// trivial at j2: cargo-nextest's, rusty-fork's overhead per test over isolated-test's.
    pub vs_nextest_j2: Option<f64>,
    pub vs_rusty_fork_j2: Option<f64>,
    /// trivial at j2: the exec backend's overhead per test over the fork backend's, and over
    /// cargo-nextest's (reported, no target).
    pub exec_vs_fork_j2: Option<f64>,
    pub exec_vs_nextest_j2: Option<f64>,
    /// condvar_threads: isolated-test's wall over in-process libtest's, at j1 and j2.
    pub condvar_threads_vs_libtest: [Option<f64>; 2],
    /// print_lines: isolated-test's wall over in-process libtest's, j1.
    pub print_lines_vs_libtest_j1: Option<f64>,
}

impl Headline {
    /// The JSON keys of these ratios.
    pub fn json(&self) -> Map<String, Value> {
        let [libtest_j1, libtest_j2] = self.small_allocs_vs_libtest;
        let [floor_j1, floor_j2] = self.floor_ratio;
        let Value::Object(map) = json!({
            "small_allocs_vs_libtest_j1": rounded(libtest_j1, 3),
            "small_allocs_vs_libtest_j2": rounded(libtest_j2, 3),
            "small_allocs_forwarding_vs_libtest_j1":
                rounded(self.small_allocs_forwarding_vs_libtest_j1, 3),
            "small_allocs_vs_rusty_fork_j2": rounded(self.small_allocs_vs_rusty_fork_j2, 3),
            "small_allocs_vs_nextest_j2": rounded(self.small_allocs_vs_nextest_j2, 3),
            "floor_ratio_j1": rounded(floor_j1, 3),
            "floor_ratio_j2": rounded(floor_j2, 3),
            "vs_nextest_j2": rounded(self.vs_nextest_j2, 3),
            "vs_rusty_fork_j2": rounded(self.vs_rusty_fork_j2, 3),
            "exec_vs_fork_j2": rounded(self.exec_vs_fork_j2, 3),
            "exec_vs_nextest_j2": rounded(self.exec_vs_nextest_j2, 3),
        }) else {
            unreachable!("json! of an object literal is an object")
        };
        map
    }
}

/// Whether a target was met.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Verdict {
    Met,
    Missed,
    /// Some number it needs was not measured in this run (a skipped runner, a smaller mode).
    NotMeasured,
    /// Reported, with no target to meet.
    Reported,
}

impl Verdict {
    /// Missed if any check failed, else not measured if any number is missing, else met.
    fn of(checks: &[Option<bool>]) -> Self {
        if checks.contains(&Some(false)) {
            Self::Missed
        } else if checks.contains(&None) {
            Self::NotMeasured
        } else {
            Self::Met
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Met => "met",
            Self::Missed => "missed",
            Self::NotMeasured => "not measured",
            Self::Reported => "-",
        }
    }
}

/// One target and what this run measured for it.
pub struct Target {
    pub what: &'static str,
    pub measured: String,
    pub target: &'static str,
    pub verdict: Verdict,
}

/// `3.40x`, or `-` when not measured.
fn times(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "-".into(), |x| format!("{}x", number(Some(x), digits)))
}

/// Whether `x` is at most `limit`. An overhead lost in the noise gives a ratio at or below 0,
/// which meets nothing: it is no number to judge by.
fn at_most(x: Option<f64>, limit: f64) -> Option<bool> {
    x.filter(|x| *x > 0.0).map(|x| x <= limit)
}

fn at_least(x: Option<f64>, limit: f64) -> Option<bool> {
    x.map(|x| x >= limit)
}

/// Reported if every number was measured, else not measured.
fn reported(numbers: &[Option<f64>]) -> Verdict {
    if numbers.contains(&None) {
        Verdict::NotMeasured
    } else {
        Verdict::Reported
    }
}

/// Every target of #15 and #26, in the issues' order. `headline` is `None` when the suites were not run
/// (`--size`).
pub fn targets(headline: Option<&Headline>, size: &SizeResult) -> Vec<Target> {
    let mut targets = vec![size_target(size)];
    match headline {
        Some(h) => targets.extend(suite_targets(h)),
        None => targets.extend(SUITE_TARGETS.map(|(what, target)| Target {
            what,
            measured: "not run (--size)".into(),
            target,
            verdict: Verdict::NotMeasured,
        })),
    }
    targets.push(probe_target(size));
    targets
}

/// What the suite targets are about and their targets, in [`suite_targets`]' order.
const SUITE_TARGETS: [(&str, &str); 7] = [
    (
        "small_allocs wall vs in-process libtest, j1 / j2",
        "at most 1.2x",
    ),
    (
        "small_allocs wall vs rusty-fork / cargo-nextest, j2",
        "below 1x: faster than both",
    ),
    (
        "trivial overhead vs the raw fork floor, j1 / j2",
        "at most 2x / 1.5x",
    ),
    (
        "trivial: cargo-nextest's / rusty-fork's overhead over ours, j2",
        "at least 20x / 6x",
    ),
    (
        "trivial: exec backend's overhead over fork's / cargo-nextest's, j2",
        "none set: reported",
    ),
    (
        "condvar_threads wall vs in-process libtest, j1 / j2",
        "at most 1.3x",
    ),
    (
        "print_lines (a million captured lines) wall vs in-process libtest, j1",
        "at most 1.3x",
    ),
];

fn suite_targets(h: &Headline) -> [Target; 7] {
    let [libtest_j1, libtest_j2] = h.small_allocs_vs_libtest;
    let [floor_j1, floor_j2] = h.floor_ratio;
    let (rusty, nextest) = (
        h.small_allocs_vs_rusty_fork_j2,
        h.small_allocs_vs_nextest_j2,
    );
    let measured_verdicts = [
        (
            // The allocator floor beside it: only context, the verdict is the target's.
            format!(
                "{} / {}; allocator floor {}",
                times(libtest_j1, 2),
                times(libtest_j2, 2),
                times(h.small_allocs_forwarding_vs_libtest_j1, 2)
            ),
            Verdict::of(&[at_most(libtest_j1, 1.2), at_most(libtest_j2, 1.2)]),
        ),
        (
            format!("{} / {}", times(rusty, 2), times(nextest, 2)),
            Verdict::of(&[rusty.map(|r| r < 1.0), nextest.map(|r| r < 1.0)]),
        ),
        (
            format!("{} / {}", times(floor_j1, 2), times(floor_j2, 2)),
            Verdict::of(&[at_most(floor_j1, 2.0), at_most(floor_j2, 1.5)]),
        ),
        (
            format!(
                "{} / {}",
                times(h.vs_nextest_j2, 1),
                times(h.vs_rusty_fork_j2, 1)
            ),
            Verdict::of(&[
                at_least(h.vs_nextest_j2, 20.0),
                at_least(h.vs_rusty_fork_j2, 6.0),
            ]),
        ),
        (
            format!(
                "{} / {}",
                times(h.exec_vs_fork_j2, 2),
                times(h.exec_vs_nextest_j2, 2)
            ),
            reported(&[h.exec_vs_fork_j2, h.exec_vs_nextest_j2]),
        ),
        {
            let [j1, j2] = h.condvar_threads_vs_libtest;
            (
                format!("{} / {}", times(j1, 2), times(j2, 2)),
                Verdict::of(&[at_most(j1, 1.3), at_most(j2, 1.3)]),
            )
        },
        (
            times(h.print_lines_vs_libtest_j1, 2),
            Verdict::of(&[at_most(h.print_lines_vs_libtest_j1, 1.3)]),
        ),
    ];
    let mut rows = SUITE_TARGETS.into_iter().zip(measured_verdicts);
    std::array::from_fn(|_| {
        let ((what, target), (measured, verdict)) = rows.next().expect("seven of each");
        Target {
            what,
            measured,
            target,
            verdict,
        }
    })
}

/// The same 1,000 tests from the 100,000-test binary, against the 1,000-test one.
fn size_target(size: &SizeResult) -> Target {
    let what = "1,000 tests from 100k- / 10k-test binaries vs 1k, j1";
    let target = "100k within 1.2x of 1k";
    let vs_100k = size.vs_1k(Kind::Isolated, 100_000);
    if vs_100k.is_none() {
        return Target {
            what,
            measured: "not run (full run and --size only)".into(),
            target,
            verdict: Verdict::NotMeasured,
        };
    }
    let mib = |registered| {
        size.peak_rss_kb(registered)
            .map_or_else(|| "?".into(), |kb| format!("{:.1}", kb as f64 / 1024.0))
    };
    Target {
        what,
        measured: format!(
            "{} / {}; peak RSS {} / {} / {} MiB",
            times(vs_100k, 2),
            times(size.vs_1k(Kind::Isolated, 10_000), 2),
            mib(100_000),
            mib(10_000),
            mib(1000)
        ),
        target,
        verdict: Verdict::of(&[at_most(vs_100k, 1.2)]),
    }
}

/// Start and `--list` of the 100,000-test binaries against libtest's: reported, no target.
fn probe_target(size: &SizeResult) -> Target {
    let what = "100k-test binary: start / --list vs libtest's";
    let target = "none set: reported";
    let (startup, list) = (size.startup_100k_vs_libtest(), size.list_100k_vs_libtest());
    if startup.is_none() || list.is_none() {
        return Target {
            what,
            measured: format!(
                "not run (the {}-test binaries are timed above)",
                size.probe.registered
            ),
            target,
            verdict: Verdict::NotMeasured,
        };
    }
    Target {
        what,
        measured: format!("{} / {}", times(startup, 2), times(list, 2)),
        target,
        verdict: Verdict::Reported,
    }
}

/// The block at the end of the table: one aligned line per target.
pub fn table(targets: &[Target]) -> String {
    let width = |column: fn(&Target) -> usize| targets.iter().map(column).max().unwrap_or(0);
    let what = width(|t| t.what.chars().count());
    let measured = width(|t| t.measured.chars().count()).max("measured".len());
    let target = width(|t| t.target.chars().count()).max("target".len());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:<what$}  {:<measured$}  {:<target$}  verdict",
        "targets (#15, #26)", "measured", "target"
    );
    for t in targets {
        let _ = writeln!(
            out,
            "{:<what$}  {:<measured$}  {:<target$}  {}",
            t.what,
            t.measured,
            t.target,
            t.verdict.name()
        );
    }
    out
}

/// The JSON's `targets`: one object per target.
pub fn json(targets: &[Target]) -> Value {
    targets
        .iter()
        .map(|t| {
            json!({
                "what": t.what,
                "measured": t.measured,
                "target": t.target,
                "verdict": t.verdict.name(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_check_outweighs_a_missing_number() {
        assert_eq!(Verdict::of(&[Some(true), Some(true)]), Verdict::Met);
        assert_eq!(Verdict::of(&[Some(true), None]), Verdict::NotMeasured);
        assert_eq!(Verdict::of(&[None, Some(false)]), Verdict::Missed);
        assert_eq!(at_most(Some(-0.5), 2.0), None);
    }
}
