//! The run from top to bottom: configuration, registry, plan, then libtest-mimic driving the
//! scheduler one trial at a time on the main thread.

use std::io::{self, IsTerminal, Write};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use libtest_mimic::{Failed, FormatSetting, Trial};
use nix::sys::signal::Signal;

use crate::config::Invocation;
use crate::fork::ForkContext;
use crate::plan::{self, PlannedTest};
use crate::report::{self, AfterRun};
use crate::scheduler::{RunError, Scheduler};
use crate::supervisor::Supervisor;
use crate::verdict::{self, Note, Verdict};
use crate::{alloc, child, orphans, registry, signals};

/// The run in progress, driven from the main thread only: every fork happens there.
struct Run {
    scheduler: Scheduler,
    show_output: bool,
    /// `--nocapture`: children write to the harness's own stdout and stderr.
    nocapture: bool,
    /// libtest's pretty format, where an interruption lands mid-line.
    pretty: bool,
    after: AfterRun,
    tally: Tally,
}

/// What has finished so far, for the summary of an interrupted run.
struct Tally {
    started: Instant,
    passed: usize,
    /// Failed tests with their messages.
    failures: Vec<(String, String)>,
    /// Per trial: whether libtest-mimic reports it as ignored without asking for it.
    ignored: Vec<bool>,
    /// The trials libtest-mimic will ask for, in order.
    order: Vec<usize>,
}

/// A static, not a thread-local: a child that calls `exit` runs thread-local destructors, and
/// must not run the harness's (closing its descriptors, killing its siblings).
static RUN: Mutex<Option<Run>> = Mutex::new(None);

fn current_run() -> MutexGuard<'static, Option<Run>> {
    RUN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs every registered test and exits: the body of the `main` that [`main!`](crate::main)
/// writes.
pub fn run_main() -> ! {
    signals::end_quietly_on_broken_pipe();
    let env = |name: &str| std::env::var_os(name).map(|value| value.to_string_lossy().into_owned());
    let invocation = match Invocation::parse(
        std::env::args_os().collect(),
        &env,
        io::stdout().is_terminal(),
    ) {
        Ok(invocation) => invocation,
        Err(error) => report::config_error(&error.to_string()),
    };
    console::set_colors_enabled(invocation.colour);
    console::set_colors_enabled_stderr(invocation.colour);

    let registered = registry::registered_tests();
    let tests: Vec<PlannedTest> = registered
        .iter()
        .map(|(_, case)| PlannedTest::new(case, &invocation.defaults))
        .collect();
    let trials: Vec<Trial> = registered
        .into_iter()
        .zip(&tests)
        .enumerate()
        .map(|(index, ((name, _), test))| {
            Trial::test(name, move || run_trial(index)).with_ignored_flag(test.is_ignored())
        })
        .collect();
    let args = &invocation.args;
    if args.list {
        libtest_mimic::run(args, trials).exit();
    }

    let order = plan::run_order(args, &trials);
    let ignored = trials
        .iter()
        .map(|trial| args.is_ignored(trial) && !args.is_filtered_out(trial))
        .collect();
    let descriptors_at_start = invocation.self_check.then(open_descriptors);
    let supervisor = match start_supervisor(args.nocapture) {
        Ok(supervisor) => supervisor,
        Err(error) => report::config_error(&format!("could not set up the harness: {error}")),
    };
    let jobs = invocation.jobs.min(signals::MAX_CHILDREN);
    *current_run() = Some(Run {
        scheduler: Scheduler::new(tests, order.clone(), supervisor, jobs),
        show_output: args.show_output,
        nocapture: args.nocapture,
        pretty: !args.quiet && matches!(args.format, None | Some(FormatSetting::Pretty)),
        after: AfterRun::default(),
        tally: Tally {
            started: Instant::now(),
            passed: 0,
            failures: Vec::new(),
            ignored,
            order,
        },
    });

    let conclusion = libtest_mimic::run(args, trials);

    let mut run = current_run().take().expect("the run is still there");
    let leftovers = run.scheduler.shut_down();
    run.after.escapees.extend(leftovers);
    if args.format != Some(FormatSetting::Json) {
        run.after.print();
    }
    let _ = io::stdout().flush();
    if let Some(at_start) = descriptors_at_start {
        self_check(at_start);
    }
    if let Some(signal) = signals::interrupted() {
        std::process::exit(128 + signal as i32);
    }
    conclusion.exit()
}

/// `ISOLATED_TEST_SELF_CHECK`: the harness must end with the descriptors it started with and no
/// child left.
fn self_check(descriptors_at_start: usize) {
    let at_end = open_descriptors();
    let children = orphans::child_count();
    eprintln!(
        "isolated-test self-check: descriptors at start {descriptors_at_start}, at end {at_end}; children left {children}"
    );
    if at_end != descriptors_at_start || children != 0 {
        report::config_error("the harness leaked descriptors or processes");
    }
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/dev/fd").map_or(0, |entries| entries.count())
}

/// Everything the children share, with what std allocates lazily and keeps already allocated,
/// so that it is not counted as any test's leak.
fn start_supervisor(nocapture: bool) -> io::Result<Supervisor> {
    child::install_panic_hook();
    let _ = io::stdout().lock().flush();
    let _ = io::stderr().lock().flush();
    // Its 8 KiB buffer is allocated on first use and kept.
    drop(io::stdin().lock());
    // Every fork copies the page tables of the parent's heap: give back what setup freed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns free heap memory to the kernel.
    unsafe {
        libc::malloc_trim(0)
    };
    let context = ForkContext {
        capture: !nocapture,
        counting: alloc::counting_is_installed(),
        dev_null: std::fs::File::open("/dev/null")?.into(),
        task_dir: std::fs::File::open("/proc/self/task").ok().map(Into::into),
        parent: nix::unistd::getpid(),
    };
    Supervisor::new(context)
}

fn run_trial(index: usize) -> Result<(), Failed> {
    current_run()
        .as_mut()
        .expect("trials run only while the run is set up")
        .judge(index)
}

impl Run {
    fn judge(&mut self, index: usize) -> Result<(), Failed> {
        let outcome = match self.scheduler.outcome_of(index) {
            Ok(outcome) => outcome,
            Err(RunError::Spawn(error)) => {
                let reason = format!("could not start the test's child process: {error}");
                let message =
                    report::failure_message(&reason, Default::default(), Default::default());
                return Err(self.failed(index, message));
            }
            Err(RunError::Interrupted(signal)) => self.end_interrupted(signal, index),
        };
        let escapees = self.scheduler.take_escapees();
        self.after.escapees.extend(escapees);
        let test = self.scheduler.test(index);
        for &pid in &outcome.clues.descendants {
            self.after.left_by.insert(pid, test.name());
        }
        if self.nocapture && test.case.stderr.is_some() {
            // Captured only to be checked: the user asked to see it as it came.
            let _ = io::stderr().write_all(outcome.stderr.text().as_bytes());
        }
        match verdict::judge(&outcome, &test.expect) {
            Verdict::Pass { note } => {
                match note {
                    Some(Note::AllowedLeak(leak)) => {
                        self.after.allowed_leaks.push((test.name(), leak))
                    }
                    Some(Note::LeakCheckUnavailable) => self.after.unchecked += 1,
                    None => {}
                }
                if self.show_output {
                    if let Some(output) = report::success_output(outcome.stdout, outcome.stderr) {
                        self.after.successes.push((test.name(), output));
                    }
                }
                self.tally.passed += 1;
                Ok(())
            }
            Verdict::Fail { reason } => {
                let message = report::failure_message(&reason, outcome.stdout, outcome.stderr);
                Err(self.failed(index, message))
            }
        }
    }

    fn failed(&mut self, index: usize, message: String) -> Failed {
        let name = self.scheduler.test(index).name();
        self.tally.failures.push((name, message.clone()));
        message.into()
    }

    /// A signal from outside stopped the run while test `index` was running: its children are
    /// already dead; say what finished and end as the signal asks.
    fn end_interrupted(&mut self, signal: Signal, index: usize) -> ! {
        let escapees = self.scheduler.kill_all();
        self.after.escapees.extend(escapees);
        let tally = &self.tally;
        report::Interruption {
            signal,
            passed: tally.passed,
            failures: &tally.failures,
            ignored: tally.ignored[..index]
                .iter()
                .filter(|&&ignored| ignored)
                .count(),
            unfinished: tally.order.iter().filter(|&&trial| trial >= index).count(),
            elapsed: tally.started.elapsed(),
        }
        .print(self.pretty);
        self.after.print();
        let _ = io::stdout().flush();
        std::process::exit(128 + signal as i32)
    }
}
