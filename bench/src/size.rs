//! Suite size (#15): does a test cost the same whatever else its binary registers, and what do
//! starting and `--list` cost a 100,000-test binary next to libtest?
//!
//! The same 1,000 trivial tests are run at `--test-threads=1` from isolated-test binaries that
//! register 1,000, 10,000 and 100,000 tests (`trivial_isolated` whole, `s0::` of
//! `scale_isolated`, `s00::` of `size_100k_isolated`), and from libtest binaries of 1,000 and
//! 100,000 for reference. Work per registered test (building and filtering the registry, a
//! harness or zygote whose larger heap makes every fork dearer) shows as a ratio above 1 to the
//! 1,000-test binary; at one test thread no second core hides it. Each run's wall time is taken
//! from spawn to reap, and its peak memory is `ru_maxrss` from `wait4`: the largest resident set
//! of the harness and of whatever it reaped (its zygote, the trivial tests).
//!
//! Then the fixed costs of the 100,000-test binaries, isolated-test's against libtest's: a start
//! that selects no test (`--exact no_such_test` at one test thread: parsing, the registry, the
//! zygote, an empty summary) and `--list`.
//!
//! Every round runs every one of these once, interleaved as the suites are, and each figure is
//! the median of the rounds. Every run's count is checked: 1,000 passed, 0 passed and the whole
//! binary filtered out, the whole binary listed.
//!
//! The 100,000-test binaries take minutes and about 12 GB of memory to build in the debug
//! profile, so only the full run and `--size` build them; the quick and smoke runs time starting
//! and listing the 1,000-test binaries instead, which keeps this code running in CI.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::numbers::{median, ratio};
use crate::runner::{clean_env, count_before, libtest_passed, reap, tail, Kind};

mod report;

/// How many tests every run of the size rows selects.
pub const SELECTED: usize = 1000;

/// The same [`SELECTED`] tests, from one binary.
pub struct SizeRun {
    /// [`Kind::Isolated`] or [`Kind::Libtest`].
    pub kind: Kind,
    pub target: &'static str,
    /// How many tests the binary registers.
    pub registered: usize,
    /// The name filter that selects the [`SELECTED`] tests.
    pub filter: Option<&'static str>,
}

/// The isolated-test and libtest binaries whose start and `--list` are timed.
pub struct Probe {
    pub isolated: &'static str,
    pub libtest: &'static str,
    /// How many tests each registers.
    pub registered: usize,
}

/// What a mode measures here.
pub struct SizePlan {
    /// The size rows; none in the quick and smoke runs.
    pub runs: &'static [SizeRun],
    pub probe: Probe,
}

impl SizePlan {
    /// Every test target the plan runs.
    pub fn targets(&self) -> Vec<&'static str> {
        let mut targets = Vec::new();
        let runs = self.runs.iter().map(|run| run.target);
        for target in runs.chain([self.probe.isolated, self.probe.libtest]) {
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        targets
    }
}

const fn size_run(
    kind: Kind,
    target: &'static str,
    registered: usize,
    filter: Option<&'static str>,
) -> SizeRun {
    SizeRun {
        kind,
        target,
        registered,
        filter,
    }
}

/// The full run's and `--size`'s plan.
pub const FULL: SizePlan = SizePlan {
    runs: &[
        size_run(Kind::Isolated, "trivial_isolated", 1000, None),
        size_run(Kind::Isolated, "scale_isolated", 10_000, Some("s0::")),
        size_run(Kind::Isolated, "size_100k_isolated", 100_000, Some("s00::")),
        size_run(Kind::Libtest, "trivial_libtest", 1000, None),
        size_run(Kind::Libtest, "size_100k_libtest", 100_000, Some("s00::")),
    ],
    probe: Probe {
        isolated: "size_100k_isolated",
        libtest: "size_100k_libtest",
        registered: 100_000,
    },
};

/// The quick and smoke runs' plan: no size rows (the large binaries are not built), start and
/// `--list` of the 1,000-test binaries, which they build anyway.
pub const SMALL: SizePlan = SizePlan {
    runs: &[],
    probe: Probe {
        isolated: "trivial_isolated",
        libtest: "trivial_libtest",
        registered: 1000,
    },
};

/// One size row's rounds.
pub struct SizeRow {
    pub run: &'static SizeRun,
    pub walls: Vec<Duration>,
    /// `ru_maxrss` of each round, in KiB.
    pub peak_rss_kb: Vec<u64>,
}

/// Everything measured here. `[isolated-test, libtest]` in `startup` and `list`.
pub struct SizeResult {
    pub rows: Vec<SizeRow>,
    pub probe: &'static Probe,
    pub startup: [Vec<Duration>; 2],
    pub list: [Vec<Duration>; 2],
}

/// Runs `plan` for `rounds` rounds; `executables` maps each of its targets to its binary.
pub fn measure(
    plan: &'static SizePlan,
    rounds: usize,
    executables: &HashMap<String, PathBuf>,
) -> Result<SizeResult, String> {
    let mut result = SizeResult {
        rows: plan
            .runs
            .iter()
            .map(|run| SizeRow {
                run,
                walls: Vec::new(),
                peak_rss_kb: Vec::new(),
            })
            .collect(),
        probe: &plan.probe,
        startup: [Vec::new(), Vec::new()],
        list: [Vec::new(), Vec::new()],
    };
    let probe = &plan.probe;
    for round in 1..=rounds {
        eprintln!(
            "size: {} size rows, start and --list of {} tests, round {round}/{rounds}",
            plan.runs.len(),
            probe.registered
        );
        for row in &mut result.rows {
            let (wall, peak_rss_kb) = run_selected(row.run, &executables[row.run.target])?;
            row.walls.push(wall);
            row.peak_rss_kb.push(peak_rss_kb);
        }
        for (i, target) in [probe.isolated, probe.libtest].into_iter().enumerate() {
            let executable = &executables[target];
            result.startup[i].push(startup(executable, probe.registered)?);
            result.list[i].push(list(executable, probe.registered)?);
        }
    }
    Ok(result)
}

/// A finished run: its wall time (spawn to reap), stdout, and its `ru_maxrss` in KiB.
struct Finished {
    wall: Duration,
    stdout: Vec<u8>,
    peak_rss_kb: u64,
}

/// Runs `executable` with `args`, reading its stdout to the end (its stderr goes to ours), and
/// reaps it with `wait4` for its peak memory. A run that fails is an error.
fn run(executable: &Path, args: &[&str]) -> Result<Finished, String> {
    let mut command = Command::new(executable);
    command.args(args);
    clean_env(&mut command);
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|error| format!("cannot run {command:?}: {error}"))?;
    let mut stdout = Vec::new();
    let read = child
        .stdout
        .take()
        .expect("stdout is piped")
        .read_to_end(&mut stdout);
    // Reaped whether or not the read failed, so that no zombie is left; std's `Child` is never
    // waited on, so `wait4` finds it unreaped.
    let reaped = reap(child.id() as libc::pid_t)?;
    let wall = started.elapsed();
    read.map_err(|error| format!("reading the output of {command:?}: {error}"))?;
    if !reaped.exited_cleanly() {
        return Err(format!(
            "{command:?} ended with status {:#x}\n--- stdout (end) ---\n{}",
            reaped.status,
            tail(&stdout)
        ));
    }
    Ok(Finished {
        wall,
        stdout,
        peak_rss_kb: reaped.peak_rss_kb,
    })
}

/// One size row's run at `--test-threads=1`: its wall time and peak RSS, once it is checked that
/// exactly [`SELECTED`] tests passed.
fn run_selected(run_of: &SizeRun, executable: &Path) -> Result<(Duration, u64), String> {
    let mut args: Vec<&str> = run_of.filter.into_iter().collect();
    args.push("--test-threads=1");
    let finished = run(executable, &args)?;
    let passed = libtest_passed(&finished.stdout);
    if passed != Some(SELECTED) {
        return Err(format!(
            "{} (filter {:?}) passed {passed:?} tests, expected {SELECTED}",
            run_of.target, run_of.filter
        ));
    }
    Ok((finished.wall, finished.peak_rss_kb))
}

/// A start that selects no test: 0 passed and all `registered` tests filtered out.
fn startup(executable: &Path, registered: usize) -> Result<Duration, String> {
    let finished = run(executable, &["--exact", "no_such_test", "--test-threads=1"])?;
    let text = String::from_utf8_lossy(&finished.stdout);
    let summary = text
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("test result: "));
    let counts = summary.map(|s| (count_before(s, " passed"), count_before(s, " filtered out")));
    if counts != Some((Some(0), Some(registered))) {
        return Err(format!(
            "{} selecting no test: summary {summary:?}, expected 0 passed and {registered} \
             filtered out",
            executable.display()
        ));
    }
    Ok(finished.wall)
}

/// `--list`, which must end with libtest's `N tests, 0 benchmarks` for all `registered` tests.
fn list(executable: &Path, registered: usize) -> Result<Duration, String> {
    let finished = run(executable, &["--list"])?;
    let text = String::from_utf8_lossy(&finished.stdout);
    let footer = text.lines().rev().find(|line| !line.is_empty());
    let listed = footer.and_then(|line| count_before(line, " tests, "));
    if listed != Some(registered) {
        return Err(format!(
            "{} --list ended with {footer:?}, expected {registered} tests",
            executable.display()
        ));
    }
    Ok(finished.wall)
}

impl SizeResult {
    /// The size row of `kind` from the binary of `registered` tests.
    fn row(&self, kind: Kind, registered: usize) -> Option<&SizeRow> {
        self.rows
            .iter()
            .find(|row| row.run.kind == kind && row.run.registered == registered)
    }

    /// Median wall of the `registered`-test binary's row over that of the 1,000-test binary.
    pub fn vs_1k(&self, kind: Kind, registered: usize) -> Option<f64> {
        let wall = |registered| Some(median(&self.row(kind, registered)?.walls).as_secs_f64());
        ratio(wall(registered)?, wall(1000)?)
    }

    /// The largest peak RSS of the isolated-test harness over its rounds, in KiB.
    pub fn peak_rss_kb(&self, registered: usize) -> Option<u64> {
        self.row(Kind::Isolated, registered)?
            .peak_rss_kb
            .iter()
            .copied()
            .max()
    }

    /// isolated-test's median over libtest's, for `startup` or `list`; `None` unless the binaries
    /// timed are the 100,000-test ones, which is what the JSON's keys say.
    fn vs_libtest_100k(&self, walls: &[Vec<Duration>; 2]) -> Option<f64> {
        if self.probe.registered != 100_000 || walls[0].is_empty() {
            return None;
        }
        ratio(
            median(&walls[0]).as_secs_f64(),
            median(&walls[1]).as_secs_f64(),
        )
    }

    pub fn startup_100k_vs_libtest(&self) -> Option<f64> {
        self.vs_libtest_100k(&self.startup)
    }

    pub fn list_100k_vs_libtest(&self) -> Option<f64> {
        self.vs_libtest_100k(&self.list)
    }
}
