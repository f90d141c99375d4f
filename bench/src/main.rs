//! Benchmark of isolated-test: what a forked child per test costs, next to the alternatives.
//!
//! ```sh
//! cargo run --release -p isolated-test-bench              # the full run, a few minutes
//! cargo run --release -p isolated-test-bench -- --quick   # smaller subsets, 3 runs: under a minute
//! cargo run --release -p isolated-test-bench -- --size    # the suite-size rows alone
//! ```
//!
//! The full run and `--size` first build two 100,000-test suites, one after the other: about 4
//! and 2 minutes on the 2-core development VM, up to 12 GB of memory for rustc, and 6 GB of disk
//! (binaries and incremental cache). A change to the harness rebuilds the isolated-test one.
//!
//! # What is measured, and why
//!
//! The same generated suites (bench/suites/) are built once in the debug test profile, exactly as
//! `cargo test` builds them, and run under every runner:
//!
//! - **libtest in process** (`#[test]`), at `--test-threads=1` and `2`: the baseline, no
//!   isolation. Everything a runner costs on top of it is its *overhead*.
//! - **isolated-test** (`#[isolated_test]`) at `--test-threads=1` and `2`: its default backend,
//!   a fork per test.
//! - **isolated-test exec**: the same isolated-test binary with `ISOLATED_TEST_BACKEND=exec`, at
//!   `--test-threads=2`: the binary executed again for each test, as cargo-nextest and rusty-fork
//!   start theirs, and the only backend Windows can have; so that what the exec costs is seen
//!   beside the fork. On the setup suite it measures something else than the fork backend does: with no
//!   zygote, every test's child runs the setup (300 ms) again, as under rusty-fork and
//!   cargo-nextest; still a valid row, what that suite costs under exec (on Windows, say). Only
//!   at j2: that suite's 300 ms per test already adds over a minute to the full run there, and
//!   would add twice that at j1.
//! - **rusty-fork** (`rusty_fork_test!` around `#[test]`), under libtest at `--test-threads=2`:
//!   each test spawns a copy of the test binary that runs that one test.
//! - **cargo-nextest** at `-j 2` on the libtest binary (a process per test), when
//!   `cargo nextest --version` works. It reuses the build (`--binaries-metadata`), so no cargo
//!   build check is timed; the wall time of the whole `nextest run` command is.
//! - **the floor**: a loop in this process doing fork, a 100-byte pipe write in the child, read
//!   and `waitpid` in the parent, with 1 and 2 children in flight (see [`floor`]): what no
//!   fork-per-test runner can go below on this machine. It is measured at the start of every
//!   round of every suite, and its median taken, so it sees the machine as the runners do.
//! - **the allocator floor**: the small_allocs tests under libtest in process at
//!   `--test-threads=1`, with a `#[global_allocator]` that forwards to `System` and counts
//!   nothing, against the default allocator (see [`allocator_floor`]): what any global allocator
//!   declared in the suite costs it in the debug profile, as isolated-test's counting one
//!   (`main!`) is, before counting anything.
//!   Its own rounds (at least 5, one in the smoke run), the two binaries taking turns.
//! - **condvar_threads**: 200 tests that each pass 5,000 boxed items between eight threads
//!   through a queue behind a `Mutex` and `Condvar`s, under in-process libtest and isolated-test
//!   at j1 and j2, in rounds of their own (see [`threads`]): what threads that park and wake one
//!   another cost in a test's child (target: at most 1.3x; JSON `condvar_threads_vs_libtest_j1`,
//!   `_j2`).
//! - **the printing row**: two tests that print a million short lines between them, captured,
//!   under isolated-test and under libtest in process at `--test-threads=1` (see
//!   [`print_lines`]), the two taking turns for the suites' number of rounds.
//!
//! Suites: 1,000 trivial tests (the cost of running a test at all), 1,000 tests that each
//! allocate and write 1 MiB (fresh memory in every child), 200 tests that each make 100,000
//! small allocations (isolated-test's counting allocator on a hot path), and 100 tests that each
//! need a 50 MB corpus whose setup takes 300 ms (`setup`): libtest builds it once and shares it,
//! isolated-test builds it once in a zygote (`main!(setup = warm_up)`) and forks every test from
//! there, rusty-fork, cargo-nextest and isolated-test's exec backend build it again in every
//! test's process.
//!
//! Per suite the runners take turns (each round runs every runner once) and each runner's wall
//! time is the median of its rounds, so a slow phase of the machine hits all of them alike. The
//! overhead per test is `(median wall - libtest's median wall at the same --test-threads) /
//! tests`. Ratios compare it with isolated-test's at the same parallelism and with the floor.
//! Every run's pass count is checked against the subset it was given: every runner runs the
//! same tests, selected by the same name filter.
//!
//! Then one long isolated-test run (10,000 trivial tests) checks that a test costs the same at
//! the end of a run as at its start, and reports the harness's peak memory (see [`scaling`]).
//!
//! Then the suite size (see [`size`]): the same 1,000 trivial tests at `--test-threads=1`, picked
//! by a filter from isolated-test binaries that register 1,000, 10,000 and 100,000 tests (and
//! from libtest binaries of 1,000 and 100,000), interleaved, median wall and peak RSS; and
//! starting (a filter that selects nothing) and `--list` of the 100,000-test binaries,
//! isolated-test against libtest. Only the full run and `--size` build the large binaries; the
//! quick and smoke runs time starting and listing the 1,000-test ones instead.
//!
//! The table ends with a block of #15's targets, each with what this run measured and `met`,
//! `missed` or `not measured` (a skipped runner, or a row a smaller run leaves out), and two rows
//! of ratios with no target (`-`). Its ratios are also JSON keys:
//!
//! - `size_100k_vs_1k_j1`, `size_10k_vs_1k_j1`: isolated-test's median wall for the same 1,000
//!   tests from the larger binary over that from the 1,000-test one (target: 100k at most 1.2);
//!   `size_100k_peak_rss_kb` the largest `ru_maxrss` of the 100k rounds.
//! - `startup_100k_vs_libtest`, `list_100k_vs_libtest`: isolated-test's median wall over
//!   libtest's, for the 100,000-test binaries (reported, no target).
//! - `small_allocs_vs_libtest_j1`, `_j2`: isolated-test's median wall on the small_allocs suite
//!   over in-process libtest's (target: at most 1.2; `alloc_heavy_ratio` is the j2 one).
//! - `small_allocs_forwarding_vs_libtest_j1`: the allocator floor, in-process libtest's median
//!   wall on the small_allocs suite with a forwarding `#[global_allocator]` over that with the
//!   default allocator (no target: the 1.2 one is judged against it).
//! - `print_lines_vs_libtest_j1`: isolated-test's median wall on the print_lines suite (a million
//!   captured lines) over in-process libtest's (target: at most 1.3).
//! - `small_allocs_vs_rusty_fork_j2`, `small_allocs_vs_nextest_j2`: isolated-test's median wall
//!   over theirs (target: below 1, faster than both).
//! - `floor_ratio_j1`, `_j2`: isolated-test's overhead per trivial test over the floor's round
//!   trip (target: at most 2 and 1.5).
//! - `vs_nextest_j2`, `vs_rusty_fork_j2`: their overhead per trivial test over isolated-test's
//!   (target: at least 20 and 6).
//! - `exec_vs_fork_j2`, `exec_vs_nextest_j2`: the exec backend's overhead per trivial test over
//!   the fork backend's, and over cargo-nextest's (reported, no target).
//!
//! Other work on the machine skews every number (the header prints the load average at the start
//! and the end, and a `spread` per row): run it on an otherwise idle machine.
//!
//! The last line of stdout is one JSON object with the headline numbers; progress goes to
//! stderr. `--smoke` runs everything once on ten tests per suite, for the test in
//! tests/smoke.rs; its numbers mean nothing. `--size` runs the suite-size measurement alone, as
//! the full run makes it, and prints its rows, the targets block and its JSON keys.

mod allocator_floor;
mod cargo;
mod floor;
mod machine;
mod numbers;
mod paired;
mod print_lines;
mod report;
mod runner;
mod scaling;
mod size;
mod targets;
mod threads;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use cargo::{Nextest, NextestSetup};
use machine::Machine;
use report::{Floor, Measured, Report, SizeReport, SuiteResult};
use runner::{SuiteTargets, RUNNERS};
use size::SizePlan;

/// A suite: the same tests written for each kind of runner.
pub struct Suite {
    /// Its name in the table and the JSON.
    pub name: &'static str,
    /// How many tests it has.
    pub size: usize,
    targets: SuiteTargets<'static>,
}

const SUITES: [Suite; 4] = [
    Suite {
        name: "trivial",
        size: 1000,
        targets: SuiteTargets {
            libtest: "trivial_libtest",
            isolated: "trivial_isolated",
            rusty_fork: "trivial_rusty_fork",
        },
    },
    Suite {
        name: "alloc_1mb",
        size: 1000,
        targets: SuiteTargets {
            libtest: "alloc_1mb_libtest",
            isolated: "alloc_1mb_isolated",
            rusty_fork: "alloc_1mb_rusty_fork",
        },
    },
    Suite {
        name: "small_allocs",
        size: 200,
        targets: SuiteTargets {
            libtest: "small_allocs_libtest",
            isolated: "small_allocs_isolated",
            rusty_fork: "small_allocs_rusty_fork",
        },
    },
    Suite {
        name: "setup",
        size: 100,
        targets: SuiteTargets {
            libtest: "setup_libtest",
            isolated: "setup_isolated",
            rusty_fork: "setup_rusty_fork",
        },
    },
];

/// The 10,000-test isolated-test suite of the full run's scaling check.
const SCALE_TARGET: &str = "scale_isolated";

/// Which tests of a suite a run selects: a libtest name filter (a substring of the test's name;
/// every runner takes the same one) and how many tests it selects.
#[derive(Clone, Copy)]
pub struct Subset {
    pub filter: Option<&'static str>,
    pub tests: usize,
}

const ALL_1000: Subset = Subset {
    filter: None,
    tests: 1000,
};
/// `t_0::t00` to `t_0::t99`.
const FIRST_100: Subset = Subset {
    filter: Some("t_0"),
    tests: 100,
};
/// `t_0::t00` to `t_0::t09`.
const FIRST_10: Subset = Subset {
    filter: Some("t_0::t0"),
    tests: 10,
};

/// The long run of the scaling check.
struct ScalingPlan {
    target: &'static str,
    subset: Subset,
    window: usize,
}

/// How big a run is.
struct Mode {
    name: &'static str,
    /// Rounds per suite: each runner's wall time is the median of this many runs.
    runs: usize,
    /// Children per floor measurement; the floor is measured once per round of every suite.
    floor_forks: usize,
    /// The subset of each of [`SUITES`], in order.
    subsets: [Subset; 4],
    scaling: ScalingPlan,
    size: &'static SizePlan,
    /// Rounds of the allocator floor, which has its own: at least 5 where its ratio is read (the
    /// quick run's suites take 3), since it is judged against a target it may sit close to.
    allocator_floor_rounds: usize,
}

const FULL: Mode = Mode {
    name: "full",
    runs: 5,
    floor_forks: 1000,
    subsets: [
        ALL_1000,
        ALL_1000,
        Subset {
            filter: None,
            tests: 200,
        },
        FIRST_100,
    ],
    scaling: ScalingPlan {
        target: SCALE_TARGET,
        subset: Subset {
            filter: None,
            tests: 10_000,
        },
        window: 1000,
    },
    size: &size::FULL,
    allocator_floor_rounds: 5,
};

const QUICK: Mode = Mode {
    name: "quick",
    runs: 3,
    floor_forks: 200,
    // A process per test builds the setup suite's corpus again, 300 ms each: ten tests.
    subsets: [FIRST_100, FIRST_100, FIRST_100, FIRST_10],
    // The 1,000-test trivial suite stands in for the 10,000-test one, which is not built.
    scaling: ScalingPlan {
        target: "trivial_isolated",
        subset: ALL_1000,
        window: 100,
    },
    size: &size::SMALL,
    allocator_floor_rounds: 5,
};

const SMOKE: Mode = Mode {
    name: "smoke",
    runs: 1,
    floor_forks: 20,
    subsets: [FIRST_10, FIRST_10, FIRST_10, FIRST_10],
    scaling: ScalingPlan {
        target: "trivial_isolated",
        subset: FIRST_100,
        window: 10,
    },
    size: &size::SMALL,
    allocator_floor_rounds: 1,
};

const USAGE: &str =
    "usage: cargo run --release -p isolated-test-bench [-- --quick | --smoke | --size]

  (no flag)  the full run: every suite at full size, 5 rounds, a 10,000-test scaling run, and
             the suite-size rows (1,000 tests from binaries of 1,000 to 100,000 tests)
  --quick    100 tests per suite, 3 rounds, scaling on 1,000 tests: under a minute
  --smoke    10 tests per suite, 1 round: checks that everything runs, numbers mean nothing
  --size     the suite-size rows alone, 5 rounds (the first build of the 100,000-test suites
             takes about 6 minutes and 12 GB of memory)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => FULL,
        ["--quick"] => QUICK,
        ["--smoke"] => SMOKE,
        ["--size"] => return finish(run_size_only()),
        ["--help" | "-h"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("error: unexpected arguments {args:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    finish(run(&mode))
}

fn finish(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(mode: &Mode) -> Result<(), String> {
    let started = Instant::now();
    let machine = Machine::describe();
    let load_at_start = machine::load_average();

    let mut targets: Vec<&str> = SUITES
        .iter()
        .flat_map(|s| [s.targets.libtest, s.targets.isolated, s.targets.rusty_fork])
        .collect();
    for target in [mode.scaling.target]
        .into_iter()
        .chain(allocator_floor::TARGETS)
        .chain(threads::TARGETS)
        .chain(print_lines::TARGETS)
    {
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    eprintln!(
        "building {} suites in the debug test profile",
        targets.len()
    );
    let mut executables = cargo::build_suites(&targets)?;
    build_size_suites(mode.size, &mut executables)?;
    let libtest_targets: Vec<&str> = SUITES.iter().map(|s| s.targets.libtest).collect();
    let nextest = Nextest::setup(&libtest_targets)?;
    let (nextest, nextest_skipped) = match nextest {
        NextestSetup::Ready(nextest) => (Some(nextest), None),
        NextestSetup::Skipped(reason) => (None, Some(reason)),
    };

    // The floor is sampled in every round too, so that it sees the machine as the runners do.
    // This process never starts a thread, so it forks single-threaded (floor.rs checks).
    let mut floor = FloorSamples::new(mode.floor_forks);
    let mut suites = Vec::new();
    for (suite, subset) in SUITES.iter().zip(mode.subsets) {
        suites.push(measure_suite(
            suite,
            subset,
            mode.runs,
            &executables,
            nextest.as_ref(),
            nextest_skipped.as_deref(),
            &mut floor,
        )?);
    }

    // On the small_allocs suite's subset, so that it is judged on the tests that its target is.
    let small_allocs = SUITES.iter().position(|s| s.name == "small_allocs");
    let allocator_floor = allocator_floor::measure(
        mode.subsets[small_allocs.expect("small_allocs is a suite")],
        mode.allocator_floor_rounds,
        &executables,
    )?;

    // The many-thread row: its suite has as many tests as small_allocs, taken by the same subset.
    let condvar_threads = threads::measure(
        mode.subsets[small_allocs.expect("small_allocs is a suite")],
        mode.runs,
        &executables,
    )?;
    let print_lines = print_lines::measure(mode.runs, &executables)?;

    let plan = &mode.scaling;
    eprintln!(
        "scaling: {} isolated-test tests at --test-threads=2",
        plan.subset.tests
    );
    let scaling = scaling::measure(
        &executables[plan.target],
        plan.subset.filter,
        plan.subset.tests,
        plan.window,
    )?;
    let size = size::measure(mode.size, mode.runs, &executables)?;

    let report = Report {
        mode: mode.name,
        runs: mode.runs,
        machine,
        nextest_version: nextest.as_ref().map(|n| n.version.clone()),
        rusty_fork_version: cargo::locked_version("rusty-fork"),
        floor: floor.floor(),
        suites,
        allocator_floor,
        condvar_threads,
        print_lines,
        scaling,
        size,
        load: [load_at_start, machine::load_average()],
        elapsed: started.elapsed(),
    };
    print!("{}", report.table());
    println!("{}", report.json());
    Ok(())
}

/// Builds what `plan` runs and `executables` lacks, one suite per cargo command: each of the
/// 100,000-test suites takes minutes and up to 12 GB of memory to compile, and cargo would
/// compile two at once.
fn build_size_suites(
    plan: &SizePlan,
    executables: &mut HashMap<String, PathBuf>,
) -> Result<(), String> {
    for target in plan.targets() {
        if !executables.contains_key(target) {
            eprintln!("building {target} in the debug test profile");
            executables.extend(cargo::build_suites(&[target])?);
        }
    }
    Ok(())
}

/// `--size`: the suite-size measurement alone, as the full run makes it.
fn run_size_only() -> Result<(), String> {
    let started = Instant::now();
    let machine = Machine::describe();
    let load_at_start = machine::load_average();
    let mut executables = HashMap::new();
    build_size_suites(&size::FULL, &mut executables)?;
    let size = size::measure(&size::FULL, FULL.runs, &executables)?;
    let report = SizeReport {
        runs: FULL.runs,
        machine,
        size,
        load: [load_at_start, machine::load_average()],
        elapsed: started.elapsed(),
    };
    print!("{}", report.table());
    println!("{}", report.json());
    Ok(())
}

/// Floor measurements: the wall times of `forks` round trips, with 1 and with 2 in flight.
struct FloorSamples {
    forks: usize,
    walls: [Vec<Duration>; 2],
}

impl FloorSamples {
    fn new(forks: usize) -> Self {
        Self {
            forks,
            walls: [Vec::new(), Vec::new()],
        }
    }

    /// Measures the floor once at each parallelism.
    fn sample(&mut self) -> Result<(), String> {
        for (in_flight, walls) in [1, 2].into_iter().zip(&mut self.walls) {
            let wall = floor::round_trips(self.forks, in_flight)
                .map_err(|error| format!("floor: {error}"))?;
            walls.push(wall);
        }
        Ok(())
    }

    /// The median cost of one round trip at each parallelism.
    fn floor(&self) -> Floor {
        let per_fork = |walls: &[Duration]| numbers::median(walls) / self.forks as u32;
        Floor {
            forks: self.forks,
            j1: per_fork(&self.walls[0]),
            j2: per_fork(&self.walls[1]),
        }
    }
}

/// Runs `subset` of `suite` under every runner, `runs` rounds, the runners taking turns (the
/// floor first in each round), and checks that every run passed exactly the subset's tests.
fn measure_suite(
    suite: &Suite,
    subset: Subset,
    runs: usize,
    executables: &HashMap<String, PathBuf>,
    nextest: Option<&Nextest>,
    nextest_skipped: Option<&str>,
    floor: &mut FloorSamples,
) -> Result<SuiteResult, String> {
    let mut walls: Vec<Vec<Duration>> = vec![Vec::new(); RUNNERS.len()];
    for round in 1..=runs {
        eprintln!(
            "{}: {} tests, round {round}/{runs}",
            suite.name, subset.tests
        );
        floor.sample()?;
        for (runner, walls) in RUNNERS.iter().zip(&mut walls) {
            let Some(command) =
                runner::command(*runner, &suite.targets, executables, nextest, subset.filter)
            else {
                continue;
            };
            let what = format!("{} on the {} suite", runner.label(), suite.name);
            walls.push(runner::run_subset(*runner, command, subset, &what)?);
        }
    }
    let rows = RUNNERS
        .iter()
        .zip(walls)
        .map(|(runner, walls)| {
            let measured = if walls.is_empty() {
                Measured::Skipped(nextest_skipped.unwrap_or("skipped").to_owned())
            } else {
                Measured::Walls(walls)
            };
            (*runner, measured)
        })
        .collect();
    Ok(SuiteResult {
        name: suite.name,
        size: suite.size,
        subset,
        rows,
    })
}
