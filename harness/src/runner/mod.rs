//! The run from top to bottom: configuration, registry, selection, then each selected test in
//! turn on the main thread, told to the console as libtest tells it.

mod scheduler;
mod tracked_first;
mod trial;

use std::io::{self, IsTerminal};

use crate::cli::Format;
use crate::config::{Backend, Invocation, NoRun};
use crate::parent::launch::exec::{self, ExecLauncher};
#[cfg(unix)]
use crate::parent::launch::fork::prepare::{prepare, ForkPlan};
#[cfg(unix)]
use crate::parent::launch::fork::zygote::Zygotes;
#[cfg(unix)]
use crate::parent::launch::fork::{ForkContext, ForkLauncher};
use crate::parent::launch::Launcher;
use crate::parent::supervisor::Supervisor;
use crate::parent::{orphans, signals};
use crate::plan::{self, PlannedTest};
use crate::registry::{self, SuiteDefaults};
use crate::report::console::{self, Console, ConsoleOptions};
use crate::report::{
    AfterRun, Event, HarnessError, JunitFile, Reporter, RunStart, Sink, SlowNotice, StatusLine,
    TestResult,
};
use crate::report::{TestKind, TestName, TimeLimits};
use crate::sys;
use crate::verdict::{Death, TrackingPolicy};
use scheduler::Scheduler;
use trial::{Interrupted, Run};

/// Runs every selected test and exits: the body of the `main` that [`main!`](crate::main)
/// writes, with the suite's defaults it was given. The one place the harness exits.
pub fn run_main(suite: SuiteDefaults) -> ! {
    // The harness's own allocations are counted without a locked instruction; a child hands
    // that over to its test's thread.
    crate::child::no_alloc::counter::claim_unlocked_share();
    // Started by the harness's exec backend to run one test: that test's child, nothing else.
    if let Some(order) = exec::order_from_env() {
        exec::run_child(order, &suite)
    }
    signals::end_quietly_on_broken_pipe();
    signals::note_ignored_at_start();
    match run(&suite) {
        Ok(RunEnding::Status(code)) => std::process::exit(code),
        Ok(RunEnding::DeathBy(signal)) => sys::signals::die_by(signal),
        Err(error) => std::process::exit(error.report()),
    }
}

/// How the harness ends when its run is over.
enum RunEnding {
    /// With this exit status.
    Status(i32),
    /// By this signal, as the one test it ran died.
    DeathBy(i32),
}

/// Runs the selected tests (or lists them) and says how the harness ends.
fn run(suite: &SuiteDefaults) -> Result<RunEnding, HarnessError> {
    let Some(invocation) = invocation(suite)? else {
        return Ok(RunEnding::Status(0));
    };
    console::set_colors(invocation.colour);
    prepare_for_the_build_system(&invocation)?;
    let descriptors_at_start = invocation.self_check.then(open_descriptors);
    // Before the registry and the plan exist: what children are forked from stays this small.
    let forks = prepare_forks(&invocation)?;
    let registered = registry::in_order();
    let kind = TestKind::of_root(suite.root_file);
    let args = &invocation.args;
    let selection = plan::select(args, &registered, invocation.shard.as_ref());
    // The selection's `position`th test.
    let name_of = |position: usize| TestName {
        name: &selection.names[position],
        case: registered[selection.tests[position]],
        kind,
    };
    if args.list {
        let listed: Vec<TestName<'_>> = (0..selection.tests.len()).map(name_of).collect();
        console::list(args, &listed)?;
        return Ok(RunEnding::Status(0));
    }
    if args.force_run_in_process {
        eprintln!(
            "note: --force-run-in-process is ignored: every test runs in a process of its own"
        );
    }
    let time_limits = invocation.time_limits;
    // Only the selected tests, in the selection's order: the run knows a test by its position.
    let tests: Vec<PlannedTest> = selection
        .tests
        .iter()
        .map(|&index| PlannedTest::new(registered[index], index, &invocation.defaults))
        .collect();
    let mut run = start_run(&invocation, forks, tests, time_limits)?;
    let start = RunStart {
        total: selection.tests.len(),
        filtered_out: selection.filtered_out,
        shuffle_seed: args.shuffle_seed,
        ignored: run.ignored_names(),
    };
    run.emit(&Event::RunStarted(&start));
    let tests = (0..selection.tests.len()).map(name_of);
    let failed = match run_each(&mut run, args, tests) {
        Ok(failed) => failed,
        Err((interrupted, position)) => {
            run.interrupt(interrupted, position);
            return Ok(RunEnding::Status(128 + interrupted.0 as i32));
        }
    };
    // In a run of one test, the harness's end is that test's: cargo-nextest (one test per
    // process) and a test that runs its own binary on one test read a crash from it.
    let lone_death = (selection.tests.len() == 1)
        .then(|| run.last_death())
        .flatten();
    run.finish();
    if let Some(at_start) = descriptors_at_start {
        self_check(at_start)?;
    }
    if let Some(signal) = signals::interrupted() {
        return Ok(RunEnding::Status(128 + signal as i32));
    }
    Ok(match lone_death {
        Some(Death::Signal(signal)) => RunEnding::DeathBy(signal.0),
        Some(Death::Exit(code)) => RunEnding::Status(code),
        None => RunEnding::Status(if failed { 101 } else { 0 }),
    })
}

/// Runs and reports each test of the selection in turn (their children already run ahead):
/// an ignored one without running, the rest as the run judges them; under `--fail-fast`,
/// nothing after the first failure. Returns whether a test failed, or the signal that stopped
/// the run and the position of the test it stopped.
fn run_each<'a>(
    run: &mut Run,
    args: &crate::cli::Arguments,
    tests: impl Iterator<Item = TestName<'a>>,
) -> Result<bool, (Interrupted, usize)> {
    let mut failed = false;
    for (position, test) in tests.enumerate() {
        run.emit(&Event::TestStarted(test));
        let result = match plan::runs(args, test.case) {
            true => run
                .run_test(position, test)
                .map_err(|interrupted| (interrupted, position))?,
            false => TestResult::ignored(),
        };
        run.emit(&Event::TestFinished(test, &result));
        if result.failed() {
            failed = true;
            if args.fail_fast {
                // libtest's `--fail-fast`: nothing more is reported; the tests still running die
                // with the run.
                break;
            }
        }
    }
    Ok(failed)
}

/// Bazel's test environment: the shard status file touched (this suite shards), and the tests'
/// temporary files under `TEST_TMPDIR`.
fn prepare_for_the_build_system(invocation: &Invocation) -> Result<(), HarnessError> {
    if let Some(path) = invocation
        .shard
        .as_ref()
        .and_then(|shard| shard.status_file.as_ref())
    {
        std::fs::write(path, "").map_err(|error| {
            HarnessError::Config(format!(
                "could not touch the shard status file {}: {error}",
                path.display()
            ))
        })?;
    }
    if let Some(dir) = &invocation.test_tmpdir {
        // Still the only thread: every child inherits it.
        std::env::set_var("TMPDIR", dir);
    }
    Ok(())
}

/// Runs an `async fn` test's future to completion on a current-thread tokio runtime, built and
/// dropped in the test's child.
#[cfg(feature = "tokio")]
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime builds")
        .block_on(future)
}

/// Without the `tokio` feature, an `async fn` test needs a runtime named: a compile error says so.
#[cfg(not(feature = "tokio"))]
pub fn block_on<F: std::future::Future + NeedsARuntime>(_future: F) -> F::Output {
    unreachable!("NeedsARuntime is implemented for no future")
}

/// Implemented for no type: the bound that makes an `async fn` test without a runtime a compile
/// error that says what to write.
#[cfg(not(feature = "tokio"))]
#[diagnostic::on_unimplemented(
    message = "`#[isolated_test] async fn` needs a runtime to run on",
    label = "enable isolated-test's `tokio` feature, or write `#[isolated_test(runtime = path::to::block_on)]`"
)]
pub trait NeedsARuntime {}

/// Runs a future that finishes without waiting (a sync test made `async` for test-case's
/// cases); one that waits is a bug in the test, said as a panic.
pub fn run_ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!(
            "a test-case case waited for something: make the test an `async fn` on a runtime (`runtime = ...` or the `tokio` feature)"
        ),
    }
}

/// What the test that `main!` writes for libtest's harness says: the target runs under libtest,
/// which runs none of its isolated tests. `integration` for a `[[test]]` target (cargo sets
/// `CARGO_TARGET_TMPDIR` only for those and benches), `bin` for a `[[bin]]` target's name.
pub fn harness_missing(integration: bool, bin: Option<&str>, crate_name: &str) -> String {
    let target = match (integration, bin) {
        (true, _) => format!("the [[test]] target {crate_name}"),
        (false, Some(bin)) => format!("the [[bin]] target {bin}"),
        (false, None) => "the [lib] target".to_owned(),
    };
    format!(
        "add harness = false to {target} in Cargo.toml: libtest ran this target, so none of its #[isolated_test] tests ran"
    )
}

/// Everything the run needs: the scheduler with its supervisor, and the outputs.
fn start_run(
    invocation: &Invocation,
    forks: Forks,
    tests: Vec<PlannedTest>,
    time_limits: Option<TimeLimits>,
) -> Result<Run, HarnessError> {
    let args = &invocation.args;
    let runs: Vec<bool> = tests
        .iter()
        .map(|test| plan::runs(args, test.case))
        .collect();
    let order: Vec<usize> = (0..tests.len())
        .filter(|&position| runs[position])
        .collect();
    let show_memory = invocation.report_memory || args.show_output;
    // JSON or XML on stdout is for a tool: no room for a notice line there, and what is said
    // after the run goes to stderr.
    let stdout_for_tools = matches!(args.format, Format::Json | Format::Junit);
    let slow_after = invocation.defaults.slow_after.filter(|_| !stdout_for_tools);
    let supervisor = Supervisor::new(launcher(invocation, forks)?, slow_after)
        .map_err(|error| HarnessError::Config(format!("could not set up the harness: {error}")))?;
    let scheduler = Scheduler::new(
        tests,
        order,
        supervisor,
        invocation.jobs.min(signals::MAX_CHILDREN),
        TrackingPolicy {
            // Without `symbols` no call stack is walked: a run would record empty ones.
            leak_sites: invocation.leak_sites && cfg!(feature = "symbols"),
            report_memory: show_memory,
        },
    );
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    // Only where a person watches libtest's lines on a terminal that moves its cursor; never
    // between its JSON or dots, nor among a test's own output.
    if args.format == Format::Pretty
        && !args.nocapture
        && !invocation.dumb_terminal
        && io::stdout().is_terminal()
        && io::stderr().is_terminal()
    {
        sinks.push(Box::new(StatusLine::new(scheduler.upcoming())));
    }
    // libtest opens a test's line when it starts only when it runs one test at a time.
    let line_open = args.format == Format::Pretty && invocation.jobs == 1;
    if let Some(after) = slow_after {
        sinks.push(Box::new(SlowNotice::new(after, line_open)));
    }
    let options = ConsoleOptions {
        format: args.format,
        palette: invocation.palette.clone(),
        multithreaded: invocation.jobs > 1,
        show_output: args.show_output,
        show_memory,
        nocapture: args.nocapture,
        time_limits,
    };
    sinks.push(Box::new(Console::new(options, args.logfile.as_deref())?));
    if let Some(path) = &invocation.junit {
        sinks.push(Box::new(JunitFile::new(path.clone())));
    }
    sinks.push(Box::new(AfterRun::new(show_memory, stdout_for_tools)));
    let critical_time = time_limits
        .filter(|_| args.ensure_time)
        .map(|limits| limits.critical);
    Ok(Run::new(
        scheduler,
        Reporter::new(sinks),
        runs,
        critical_time,
    ))
}

/// How the run's children are started: the backend `ISOLATED_TEST_BACKEND` chose.
fn launcher(invocation: &Invocation, forks: Forks) -> Result<Box<dyn Launcher>, HarnessError> {
    Ok(match invocation.backend {
        #[cfg(unix)]
        Backend::Fork => {
            let (context, zygotes) = forks;
            Box::new(ForkLauncher::new(context, zygotes))
        }
        Backend::Exec => {
            #[cfg(windows)]
            let Forks = forks;
            let binary = std::env::current_exe().map_err(|error| {
                HarnessError::Config(format!("could not find the test binary to run: {error}"))
            })?;
            Box::new(ExecLauncher::new(binary, !invocation.args.nocapture))
        }
    })
}

/// The command line and the environment, over the suite's defaults; `None` where `--help` was
/// answered. A mistake in them ends the run with one `error:` line: a flag's with libtest's exit
/// code, the environment's with 2.
fn invocation(suite: &SuiteDefaults) -> Result<Option<Invocation>, HarnessError> {
    let parsed = Invocation::parse(
        std::env::args_os().collect(),
        &crate::env::of_this_process,
        suite,
        io::stdout().is_terminal(),
    );
    match parsed {
        Ok(invocation) => Ok(Some(invocation)),
        Err(NoRun::Help(help)) => {
            print!("{help}");
            Ok(None)
        }
        Err(NoRun::Flag(refused)) => Err(HarnessError::RefusedFlag(refused.0)),
        Err(NoRun::Config(error)) => Err(HarnessError::Config(error.to_string())),
    }
}

/// `ISOLATED_TEST_SELF_CHECK`: the harness must end with the descriptors it started with and no
/// child left.
fn self_check(descriptors_at_start: usize) -> Result<(), HarnessError> {
    let at_end = open_descriptors();
    let children = orphans::child_count();
    eprintln!(
        "isolated-test self-check: descriptors at start {descriptors_at_start}, at end {at_end}; children left {children}"
    );
    if at_end != descriptors_at_start || children != 0 {
        let error = "the harness leaked descriptors or processes";
        return Err(HarnessError::Config(error.to_owned()));
    }
    Ok(())
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/dev/fd").map_or(0, |entries| entries.count())
}

/// What the fork backend starts children from (Unix); nothing on Windows, where every child is
/// the test binary started again.
#[cfg(unix)]
type Forks = (ForkContext, Zygotes);
#[cfg(windows)]
struct Forks;

/// Nothing to prepare: see [`Forks`].
#[cfg(windows)]
fn prepare_forks(_invocation: &Invocation) -> Result<Forks, HarnessError> {
    Ok(Forks)
}

/// What children are forked from, made before the registry is built: see
/// [`fork::prepare`](crate::parent::launch::fork::prepare).
#[cfg(unix)]
fn prepare_forks(invocation: &Invocation) -> Result<Forks, HarnessError> {
    let args = &invocation.args;
    let plan = ForkPlan {
        capture: !args.nocapture,
        // cargo-nextest runs one test per process (`--exact NAME`): a zygote would only add a
        // fork.
        one_test: args.exact && args.filters.len() == 1,
        list: args.list,
        jobs: invocation.jobs,
        setup_timeout: invocation.defaults.setup_timeout,
        forks: invocation.backend == Backend::Fork,
    };
    prepare(&plan)
        .map_err(|error| HarnessError::Config(format!("could not set up the harness: {error}")))
}
