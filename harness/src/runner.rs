//! The run from top to bottom: configuration, registry, plan, then libtest-mimic driving the
//! scheduler one trial at a time on the main thread.

use std::io::{self, IsTerminal, Write};
use std::sync::{Mutex, MutexGuard};

use libtest_mimic::{Failed, FormatSetting, Trial};

use crate::config::Invocation;
use crate::fork::ForkContext;
use crate::plan::{self, PlannedTest};
use crate::report::{self, AfterRun};
use crate::scheduler::Scheduler;
use crate::supervisor::Supervisor;
use crate::verdict::{self, Note, Verdict};
use crate::{alloc, child, registry, signals};

/// The run in progress, driven from the main thread only: every fork happens there.
struct Run {
    scheduler: Scheduler,
    show_output: bool,
    after: AfterRun,
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

    let tests: Vec<PlannedTest> = registry::registered_tests()
        .into_iter()
        .map(|(name, case)| PlannedTest::new(name, case, &invocation.defaults))
        .collect();
    let trials: Vec<Trial> = tests
        .iter()
        .enumerate()
        .map(|(index, test)| {
            Trial::test(test.name.clone(), move || run_trial(index))
                .with_ignored_flag(test.is_ignored())
        })
        .collect();
    let args = &invocation.args;
    if args.list {
        libtest_mimic::run(args, trials).exit();
    }

    let order = plan::run_order(args, &trials);
    let supervisor = match start_supervisor(args.nocapture) {
        Ok(supervisor) => supervisor,
        Err(error) => report::config_error(&format!("could not set up the harness: {error}")),
    };
    let jobs = invocation.jobs.min(signals::MAX_CHILDREN);
    *current_run() = Some(Run {
        scheduler: Scheduler::new(tests, order, supervisor, jobs),
        show_output: args.show_output,
        after: AfterRun::default(),
    });

    let conclusion = libtest_mimic::run(args, trials);

    let run = current_run().take().expect("the run is still there");
    run.scheduler.shut_down();
    if args.format != Some(FormatSetting::Json) {
        run.after.print();
    }
    let _ = io::stdout().flush();
    conclusion.exit()
}

/// Everything the children share, with what std allocates lazily and keeps already allocated,
/// so that it is not counted as any test's leak.
fn start_supervisor(nocapture: bool) -> io::Result<Supervisor> {
    child::install_panic_hook();
    let _ = io::stdout().lock().flush();
    let _ = io::stderr().lock().flush();
    // Its 8 KiB buffer is allocated on first use and kept.
    drop(io::stdin().lock());
    let context = ForkContext {
        capture: !nocapture,
        counting: alloc::counting_is_installed(),
        dev_null: std::fs::File::open("/dev/null")?.into(),
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
            Err(error) => {
                return Err(style_reason(&format!(
                    "could not start the test's child process: {error}"
                )))
            }
        };
        let test = self.scheduler.test(index);
        match verdict::judge(&outcome, &test.expect) {
            Verdict::Pass { note } => {
                match note {
                    Some(Note::AllowedLeak(leak)) => {
                        self.after.allowed_leaks.push((test.name.clone(), leak))
                    }
                    Some(Note::LeakCheckUnavailable) => self.after.unchecked += 1,
                    None => {}
                }
                if self.show_output {
                    if let Some(output) = report::success_output(outcome.stdout, outcome.stderr) {
                        self.after.successes.push((test.name.clone(), output));
                    }
                }
                Ok(())
            }
            Verdict::Fail { reason } => {
                Err(report::failure_message(&reason, outcome.stdout, outcome.stderr).into())
            }
        }
    }
}

fn style_reason(reason: &str) -> Failed {
    report::failure_message(reason, Default::default(), Default::default()).into()
}
