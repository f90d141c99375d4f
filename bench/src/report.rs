//! The results: one table for people, then one line of JSON for tools.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};

use crate::allocator_floor::AllocatorFloor;
use crate::machine::Machine;
use crate::numbers::{kib, median, micros, millis, number, ratio, round, rounded, spread_percent};
use crate::print_lines::PrintLines;
use crate::runner::{Kind, Runner};
use crate::scaling::Scaling;
use crate::size::SizeResult;
use crate::targets::{self, Headline};
use crate::threads::CondvarThreads;
use crate::Subset;

/// The floor's cost of one round trip (fork, pipe, waitpid), with 1 and 2 children in flight.
pub struct Floor {
    pub forks: usize,
    pub j1: Duration,
    pub j2: Duration,
}

impl Floor {
    fn per_fork(&self, threads: usize) -> Duration {
        if threads == 1 {
            self.j1
        } else {
            self.j2
        }
    }
}

/// A runner's wall times over the rounds, or why it did not run.
pub enum Measured {
    Walls(Vec<Duration>),
    Skipped(String),
}

/// Every runner's results on one suite.
pub struct SuiteResult {
    pub name: &'static str,
    /// The suite's number of tests; the runs ran `subset.tests` of them.
    pub size: usize,
    pub subset: Subset,
    pub rows: Vec<(Runner, Measured)>,
}

impl SuiteResult {
    /// The median wall time of `runner` at `threads`, if it ran.
    pub fn wall(&self, kind: Kind, threads: usize) -> Option<Duration> {
        self.rows
            .iter()
            .find_map(|(runner, measured)| match measured {
                Measured::Walls(walls) if *runner == Runner { kind, threads } => {
                    Some(median(walls))
                }
                _ => None,
            })
    }

    /// What the runner costs per test over libtest in process at the same parallelism, in µs.
    pub fn overhead_us(&self, kind: Kind, threads: usize) -> Option<f64> {
        let wall = self.wall(kind, threads)?.as_secs_f64();
        let baseline = self.wall(Kind::Libtest, threads)?.as_secs_f64();
        Some((wall - baseline) * 1e6 / self.subset.tests as f64)
    }

    /// isolated-test's median wall at `threads` over that of `kind` at `threads`.
    pub fn isolated_wall_vs(&self, kind: Kind, threads: usize) -> Option<f64> {
        let isolated = self.wall(Kind::Isolated, threads)?.as_secs_f64();
        ratio(isolated, self.wall(kind, threads)?.as_secs_f64())
    }

    /// `overhead(kind at threads) / overhead(isolated-test at threads)`.
    pub fn vs_isolated(&self, kind: Kind, threads: usize) -> Option<f64> {
        self.overhead_vs(kind, Kind::Isolated, threads)
    }

    /// `overhead(kind at threads) / overhead(other at threads)`.
    pub fn overhead_vs(&self, kind: Kind, other: Kind, threads: usize) -> Option<f64> {
        ratio(
            self.overhead_us(kind, threads)?,
            self.overhead_us(other, threads)?,
        )
    }
}

/// The setup suite's headline: wall-time ratios at j2.
struct SetupRatios {
    /// isolated-test's over libtest in process: at most 2 is the target.
    vs_libtest: Option<f64>,
    /// cargo-nextest's over isolated-test's: at least 20 is the target.
    nextest_vs_isolated: Option<f64>,
    rusty_fork_vs_isolated: Option<f64>,
}

/// Everything one bench run found.
pub struct Report {
    pub mode: &'static str,
    pub runs: usize,
    pub machine: Machine,
    pub nextest_version: Option<String>,
    /// As Cargo.lock pins it.
    pub rusty_fork_version: Option<String>,
    pub floor: Floor,
    pub suites: Vec<SuiteResult>,
    pub allocator_floor: AllocatorFloor,
    pub condvar_threads: CondvarThreads,
    pub print_lines: PrintLines,
    pub scaling: Scaling,
    pub size: SizeResult,
    /// The 1-minute load average when the bench started and when it ended.
    pub load: [Option<f64>; 2],
    pub elapsed: Duration,
}

/// The first lines of every report: what ran, where, and how busy the machine was.
pub fn header(mode: &str, runs: usize, machine: &Machine, load: [Option<f64>; 2]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "isolated-test bench ({mode}): median of {runs} rounds per runner, runners interleaved"
    );
    let m = machine;
    let _ = writeln!(out, "machine: {} CPUs, {}, {}", m.nproc, m.cpu, m.kernel);
    let load = load.map(|load| number(load, 2));
    let _ = writeln!(
        out,
        "load average: {} at the start, {} at the end (other work skews the numbers)",
        load[0], load[1]
    );
    out
}

impl Report {
    fn suite(&self, name: &str) -> &SuiteResult {
        self.suites
            .iter()
            .find(|suite| suite.name == name)
            .expect("every suite is measured")
    }

    /// The header, the table, the scaling check, the size rows and the targets, for people.
    pub fn table(&self) -> String {
        let mut out = header(self.mode, self.runs, &self.machine, self.load);
        let _ = writeln!(
            out,
            "tools: {}, {}, rusty-fork {}; suites built in the debug test profile",
            self.machine.rustc,
            self.nextest_version
                .as_deref()
                .unwrap_or("cargo-nextest not on PATH"),
            self.rusty_fork_version.as_deref().unwrap_or("?"),
        );
        let _ = writeln!(
            out,
            "overhead µs = (wall - libtest in process at the same j) / tests; vs iso, vs floor: \
             overhead / theirs at the same j; spread = (max - min) / median of the rounds\n"
        );
        self.suite_rows(&mut out);
        self.floor_rows(&mut out);
        out.push_str(&self.allocator_floor.line());
        out.push_str(&self.condvar_threads.line());
        out.push_str(&self.print_lines.line());
        let setup = self.setup_ratios();
        let _ = writeln!(
            out,
            "\nsetup (a 300 ms, 50 MB setup per test, j2): isolated-test's wall is {}x in-process \
             libtest's (target: at most 2x); cargo-nextest's is {}x isolated-test's, rusty-fork's \
             {}x (target: at least 20x)",
            number(setup.vs_libtest, 2),
            number(setup.nextest_vs_isolated, 1),
            number(setup.rusty_fork_vs_isolated, 1),
        );
        self.scaling_lines(&mut out);
        out.push_str(&self.size.table(self.mode));
        let targets = targets::targets(Some(&self.headline()), &self.size);
        out.push_str(&targets::table(&targets));
        let _ = writeln!(out, "bench time: {:.1} s", self.elapsed.as_secs_f64());
        out
    }

    /// A row per suite and runner: median wall, spread, overhead, and its ratios.
    fn suite_rows(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "{:<13} {:>5}  {:<18} {:>2} {:>10} {:>6} {:>14} {:>8} {:>8}",
            "suite",
            "tests",
            "runner",
            "j",
            "wall ms",
            "spread",
            "overhead µs",
            "vs iso",
            "vs floor"
        );
        for suite in &self.suites {
            for (runner, measured) in &suite.rows {
                let (kind, j) = (runner.kind, runner.threads);
                let lead = format!(
                    "{:<13} {:>5}  {:<18} {:>2}",
                    suite.name,
                    suite.subset.tests,
                    runner.name(),
                    j
                );
                let walls = match measured {
                    Measured::Walls(walls) => walls,
                    Measured::Skipped(reason) => {
                        let _ = writeln!(out, "{lead} {reason}");
                        continue;
                    }
                };
                let wall = median(walls);
                let spread = spread_percent(walls, wall);
                let cost = if kind == Kind::Libtest {
                    format!("{:>14}", "baseline")
                } else {
                    let overhead = suite.overhead_us(kind, j);
                    let vs_floor = overhead.and_then(|o| ratio(o, micros(self.floor.per_fork(j))));
                    format!(
                        "{:>14} {:>8} {:>8}",
                        number(overhead, 1),
                        number(suite.vs_isolated(kind, j), 2),
                        number(vs_floor, 2)
                    )
                };
                let _ = writeln!(out, "{lead} {:>10.1} {spread:>5.0}% {cost}", millis(wall));
            }
        }
    }

    /// The floor's rows, with the trivial suite's isolated-test overhead against it.
    fn floor_rows(&self, out: &mut String) {
        let trivial = self.suite("trivial");
        for j in [1, 2] {
            let per_fork = micros(self.floor.per_fork(j));
            let _ = writeln!(
                out,
                "{:<13} {:>5}  {:<18} {:>2} {:>10.1} {:>6} {:>14.1} {:>8} {:>8.2}",
                "floor",
                self.floor.forks,
                "fork+pipe+waitpid",
                j,
                per_fork * self.floor.forks as f64 / 1e3,
                "",
                per_fork,
                number(
                    ratio(
                        per_fork,
                        trivial.overhead_us(Kind::Isolated, j).unwrap_or(0.0)
                    ),
                    2
                ),
                1.0
            );
        }
    }

    /// The long run's first and last windows, and the harness's memory.
    fn scaling_lines(&self, out: &mut String) {
        let s = &self.scaling;
        let _ = writeln!(
            out,
            "\nscaling: {} trivial isolated-test tests at j2 in {:.2} s: the first {} took {:.1} ms, \
             the last {} took {:.1} ms (last/first {:.2})",
            s.tests,
            s.wall.as_secs_f64(),
            s.window,
            millis(s.first),
            s.window,
            millis(s.last),
            s.last_vs_first()
        );
        let _ = writeln!(
            out,
            "harness memory: peak RSS {} KiB (wait4 ru_maxrss); VmRSS {} KiB after the first {} \
             tests, {} KiB after the last",
            s.peak_rss_kb,
            kib(s.rss_kb_first_window),
            s.window,
            kib(s.rss_kb_end)
        );
    }

    /// The setup suite's wall times at j2, against one another.
    fn setup_ratios(&self) -> SetupRatios {
        let setup = self.suite("setup");
        let wall = |kind| setup.wall(kind, 2).map(|wall| wall.as_secs_f64());
        let isolated = wall(Kind::Isolated);
        let over_isolated = |kind| ratio(wall(kind)?, isolated?);
        SetupRatios {
            vs_libtest: ratio(
                isolated.unwrap_or(f64::NAN),
                wall(Kind::Libtest).unwrap_or(0.0),
            ),
            nextest_vs_isolated: over_isolated(Kind::Nextest),
            rusty_fork_vs_isolated: over_isolated(Kind::RustyFork),
        }
    }

    /// The ratios that #15's targets are stated in, from the suites and the floor.
    pub fn headline(&self) -> Headline {
        let trivial = self.suite("trivial");
        let small_allocs = self.suite("small_allocs");
        let floor_ratio = |j| {
            let overhead = trivial.overhead_us(Kind::Isolated, j)?;
            ratio(overhead, micros(self.floor.per_fork(j)))
        };
        Headline {
            small_allocs_vs_libtest: [1, 2]
                .map(|j| small_allocs.isolated_wall_vs(Kind::Libtest, j)),
            small_allocs_forwarding_vs_libtest_j1: self.allocator_floor.ratio(),
            small_allocs_vs_rusty_fork_j2: small_allocs.isolated_wall_vs(Kind::RustyFork, 2),
            small_allocs_vs_nextest_j2: small_allocs.isolated_wall_vs(Kind::Nextest, 2),
            floor_ratio: [1, 2].map(floor_ratio),
            vs_nextest_j2: trivial.vs_isolated(Kind::Nextest, 2),
            vs_rusty_fork_j2: trivial.vs_isolated(Kind::RustyFork, 2),
            exec_vs_fork_j2: trivial.vs_isolated(Kind::IsolatedExec, 2),
            exec_vs_nextest_j2: trivial.overhead_vs(Kind::IsolatedExec, Kind::Nextest, 2),
            condvar_threads_vs_libtest: self.condvar_threads.ratios(),
            print_lines_vs_libtest_j1: self.print_lines.ratio(),
        }
    }

    /// One line of JSON: the headline numbers, the size measurement's, the targets, every row.
    pub fn json(&self) -> String {
        let setup = self.setup_ratios();
        let headline = self.headline();
        let trivial = self.suite("trivial");
        let alloc_1mb = self.suite("alloc_1mb");
        let small_allocs = self.suite("small_allocs");
        let isolated = |suite: &SuiteResult, j| suite.overhead_us(Kind::Isolated, j);
        let j2_speedup = trivial.wall(Kind::Isolated, 1).and_then(|j1| {
            let j2 = trivial.wall(Kind::Isolated, 2)?;
            ratio(j1.as_secs_f64(), j2.as_secs_f64())
        });
        let s = &self.scaling;
        let mut json = json!({
            "mode": self.mode,
            "runs": self.runs,
            "us_per_test_j1": rounded(isolated(trivial, 1), 2),
            "us_per_test_j2": rounded(isolated(trivial, 2), 2),
            "floor_us_j1": round(micros(self.floor.j1), 2),
            "floor_us_j2": round(micros(self.floor.j2), 2),
            "alloc_heavy_ratio": rounded(headline.small_allocs_vs_libtest[1], 3),
            "j2_speedup": rounded(j2_speedup, 3),
            "mb_suite_us_per_test_j2": rounded(isolated(alloc_1mb, 2), 2),
            "small_allocs_us_per_test_j2": rounded(isolated(small_allocs, 2), 2),
            "setup_vs_libtest_j2": rounded(setup.vs_libtest, 3),
            "setup_nextest_vs_isolated_j2": rounded(setup.nextest_vs_isolated, 2),
            "setup_rusty_fork_vs_isolated_j2": rounded(setup.rusty_fork_vs_isolated, 2),
            "print_lines_vs_libtest_j1": rounded(self.print_lines.ratio(), 3),
            "scaling_last_vs_first": round(s.last_vs_first(), 3),
            "scaling_tests": s.tests,
            "peak_rss_kb": s.peak_rss_kb,
            "rss_kb_first_window": s.rss_kb_first_window,
            "rss_kb_end": s.rss_kb_end,
            "nextest": self.nextest_version,
            "rusty_fork": self.rusty_fork_version,
            "load_start": self.load[0],
            "load_end": self.load[1],
            "elapsed_s": round(self.elapsed.as_secs_f64(), 1),
            "rows": Value::Array(self.json_rows()),
        });
        let object = json.as_object_mut().expect("an object literal");
        object.extend(headline.json());
        object.extend(self.condvar_threads.json());
        object.extend(self.size.json());
        object.extend(self.machine.json());
        let targets = targets::targets(Some(&headline), &self.size);
        object.insert("targets".into(), targets::json(&targets));
        json.to_string()
    }

    /// Every suite's rows, as the JSON's `rows`.
    fn json_rows(&self) -> Vec<Value> {
        let mut rows = Vec::new();
        for suite in &self.suites {
            for (runner, measured) in &suite.rows {
                let (kind, j) = (runner.kind, runner.threads);
                let (wall, passed, skipped) = match measured {
                    Measured::Walls(walls) => (Some(median(walls)), Some(suite.subset.tests), None),
                    Measured::Skipped(reason) => (None, None, Some(reason)),
                };
                rows.push(json!({
                    "suite": suite.name,
                    "runner": runner.name(),
                    "threads": j,
                    "tests": suite.subset.tests,
                    "suite_size": suite.size,
                    "filter": suite.subset.filter,
                    "passed": passed,
                    "wall_ms": wall.map(|w| round(millis(w), 3)),
                    "overhead_us_per_test": suite.overhead_us(kind, j).map(|o| round(o, 2)),
                    "skipped": skipped,
                }));
            }
        }
        rows
    }
}

/// What `--size` found: the size measurement alone.
pub struct SizeReport {
    pub runs: usize,
    pub machine: Machine,
    pub size: SizeResult,
    pub load: [Option<f64>; 2],
    pub elapsed: Duration,
}

impl SizeReport {
    /// The header, the size rows, and the targets (the suites' ones not measured).
    pub fn table(&self) -> String {
        let mut out = header("size", self.runs, &self.machine, self.load);
        let _ = writeln!(
            out,
            "tools: {}; suites built in the debug test profile",
            self.machine.rustc
        );
        out.push_str(&self.size.table("size"));
        out.push_str(&targets::table(&targets::targets(None, &self.size)));
        let _ = writeln!(out, "bench time: {:.1} s", self.elapsed.as_secs_f64());
        out
    }

    /// One line of JSON with the size keys of the full run's.
    pub fn json(&self) -> String {
        let mut json = json!({
            "mode": "size",
            "runs": self.runs,
            "load_start": self.load[0],
            "load_end": self.load[1],
            "elapsed_s": round(self.elapsed.as_secs_f64(), 1),
            "targets": targets::json(&targets::targets(None, &self.size)),
        });
        let object = json.as_object_mut().expect("an object literal");
        object.extend(self.size.json());
        object.extend(self.machine.json());
        json.to_string()
    }
}
