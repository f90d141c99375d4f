//! The run from top to bottom: configuration, registry, plan, then libtest-mimic driving the
//! scheduler one trial at a time on the main thread.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use libtest_mimic::{Failed, FormatSetting, Trial};
use nix::sys::signal::Signal;

use crate::alloc::HeapDelta;
use crate::capture::CapturedStream;
use crate::config::Invocation;
use crate::fork::ForkContext;
use crate::junit::{self, JunitCase, JunitOutcome, JunitReport};
use crate::leak_sites::{LeakSite, TrackedLeaks};
use crate::plan::{self, PlannedTest};
use crate::protocol::ChildReport;
use crate::registry::SuiteDefaults;
use crate::report::{self, AfterRun, MemoryFigures};
use crate::scheduler::{RunError, Scheduler, TrackingPlan, LARGE_GROWTH};
use crate::supervisor::{ChildOutcome, SlowNotice, Supervisor};
use crate::verdict::{self, Note, Verdict};
use crate::{alloc, child, orphans, registry, signals, size, symbols};

/// The run in progress, driven from the main thread only: every fork happens there.
struct Run {
    scheduler: Scheduler,
    show_output: bool,
    /// `--nocapture`: children write to the harness's own stdout and stderr.
    nocapture: bool,
    /// `ISOLATED_TEST_REPORT=memory` or `--show-output`: list every passing test's memory.
    report_memory: bool,
    /// libtest's pretty format, where an interruption lands mid-line.
    pretty: bool,
    after: AfterRun,
    tally: Tally,
    /// `ISOLATED_TEST_JUNIT`: where the JUnit report goes, and its cases so far.
    junit_path: Option<PathBuf>,
    junit: Option<Vec<JunitCase>>,
}

/// What has finished so far, for the summary of an interrupted run.
struct Tally {
    started: Instant,
    started_at: SystemTime,
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
/// writes, with the suite's defaults it was given.
pub fn run_main(suite: SuiteDefaults) -> ! {
    signals::end_quietly_on_broken_pipe();
    let invocation = invocation(&suite);
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
        list(args, trials);
    }

    let order = plan::run_order(args, &trials);
    let ignored = trials
        .iter()
        .map(|trial| args.is_ignored(trial) && !args.is_filtered_out(trial))
        .collect();
    let descriptors_at_start = invocation.self_check.then(open_descriptors);
    let pretty = !args.quiet && matches!(args.format, None | Some(FormatSetting::Pretty));
    // JSON output has no room for a notice line.
    let slow_notice = invocation
        .defaults
        .slow_after
        .filter(|_| args.format != Some(FormatSetting::Json))
        .map(|after| SlowNotice {
            after,
            mid_line: pretty,
        });
    let supervisor = match start_supervisor(args.nocapture, slow_notice) {
        Ok(supervisor) => supervisor,
        Err(error) => report::config_error(&format!("could not set up the harness: {error}")),
    };
    let jobs = invocation.jobs.min(signals::MAX_CHILDREN);
    let mut scheduler = Scheduler::new(
        tests,
        order.clone(),
        supervisor,
        jobs,
        invocation.leak_sites,
        invocation.report_memory || args.show_output,
    );
    // Only where a person watches libtest's lines on a terminal that moves its cursor; never
    // between its JSON or dots, nor among a test's own output.
    if pretty
        && !args.nocapture
        && !invocation.dumb_terminal
        && io::stdout().is_terminal()
        && io::stderr().is_terminal()
    {
        scheduler.show_status();
    }
    *current_run() = Some(Run {
        scheduler,
        show_output: args.show_output,
        nocapture: args.nocapture,
        report_memory: invocation.report_memory || args.show_output,
        pretty,
        after: AfterRun::default(),
        junit: invocation.junit.is_some().then(Vec::new),
        junit_path: invocation.junit.clone(),
        tally: Tally {
            started: Instant::now(),
            started_at: SystemTime::now(),
            passed: 0,
            failures: Vec::new(),
            ignored,
            order,
        },
    });

    let conclusion = libtest_mimic::run(args, trials);

    let mut run = current_run().take().expect("the run is still there");
    if let Some(path) = run.junit_path.take() {
        run.write_junit(&path);
    }
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

/// `--list`: what libtest prints, down to its footer, which libtest-mimic leaves out (tools
/// compare the two outputs).
fn list(args: &libtest_mimic::Arguments, trials: Vec<Trial>) -> ! {
    let listed = trials
        .iter()
        .filter(|trial| !args.is_filtered_out(trial))
        .count();
    let conclusion = libtest_mimic::run(args, trials);
    if !args.quiet && matches!(args.format, None | Some(FormatSetting::Pretty)) {
        let tests = if listed == 1 { "test" } else { "tests" };
        let gap = if listed == 0 { "" } else { "\n" };
        println!("{gap}{listed} {tests}, 0 benchmarks");
    }
    conclusion.exit()
}

/// The command line and the environment, over the suite's defaults; a mistake in them ends the
/// run with one `error:` line.
fn invocation(suite: &SuiteDefaults) -> Invocation {
    let env = |name: &str| std::env::var_os(name).map(|value| value.to_string_lossy().into_owned());
    let parsed = Invocation::parse(
        std::env::args_os().collect(),
        &env,
        suite,
        io::stdout().is_terminal(),
    );
    parsed.unwrap_or_else(|error| report::config_error(&error.to_string()))
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
fn start_supervisor(nocapture: bool, slow_notice: Option<SlowNotice>) -> io::Result<Supervisor> {
    child::install_panic_hook();
    child::install_stuck_handler();
    crate::reach::install_stop_handler();
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
    Supervisor::new(context, slow_notice)
}

fn run_trial(index: usize) -> Result<(), Failed> {
    current_run()
        .as_mut()
        .expect("trials run only while the run is set up")
        .judge(index)
}

impl Run {
    /// Runs test `index` (again after a failure, as often as its `retries` allow) and gives
    /// libtest-mimic the verdict.
    fn judge(&mut self, index: usize) -> Result<(), Failed> {
        let retries = self.scheduler.test(index).retries;
        let mut earlier_failures = Vec::new();
        let mut time = Duration::ZERO;
        let mut next = self.scheduler.outcome_of(index);
        loop {
            let mut outcome = match next {
                Ok(outcome) => outcome,
                Err(RunError::Spawn(error)) => {
                    let reason = format!("could not start the test's child process: {error}");
                    return Err(self.fail(index, &reason, Captured::default(), time));
                }
                Err(RunError::Interrupted(signal)) => self.end_interrupted(signal, index),
            };
            time += outcome.duration;
            self.take_clues(index, &outcome);
            let heap = match &outcome.report {
                Ok(ChildReport::Returned { heap }) => *heap,
                _ => None,
            };
            let (verdict, tracked) = self.verdict_on(index, &outcome, heap);
            let captured = Captured {
                stuck_at: std::mem::take(&mut outcome.clues.stuck_at),
                memory: MemoryFigures {
                    heap,
                    usage: outcome.usage,
                    still_reachable: match &tracked {
                        Some(LeakSiteSearch::Found { leaks, .. }) => Some(leaks.reachable.bytes),
                        _ => None,
                    },
                },
                leak_sites: tracked,
                stdout: outcome.stdout,
                stderr: outcome.stderr,
            };
            match verdict {
                Verdict::Fail { reason, .. } if earlier_failures.len() < retries as usize => {
                    earlier_failures.push(reason);
                    next = self.scheduler.retry(index);
                }
                Verdict::Fail { reason, .. } => {
                    return Err(self.fail(index, &reason, captured, time));
                }
                Verdict::Pass { note } => {
                    self.pass(index, note, earlier_failures, captured, time);
                    self.scheduler.test_done(true);
                    return Ok(());
                }
            }
        }
    }

    /// The verdict on one run of test `index`. A run whose heap grew past its leak limit runs
    /// once more, tracking its allocations: unless the test is strict about leaks, only the
    /// blocks that nothing reaches any more then count.
    fn verdict_on(
        &mut self,
        index: usize,
        outcome: &ChildOutcome,
        heap: Option<HeapDelta>,
    ) -> (Verdict, Option<LeakSiteSearch>) {
        let expect = self.scheduler.test(index).expect;
        let verdict = verdict::judge(outcome, &expect);
        let (Some(plan), Some(first)) = (self.scheduler.tracking_for(index, outcome), heap) else {
            return (verdict, None);
        };
        let tracked = self.track_blocks(index, plan, first);
        let verdict = match &tracked {
            LeakSiteSearch::Found { leaks, second, .. } if !expect.strict_leaks => {
                verdict::judge_tracked(first, *second, leaks, &expect)
            }
            _ => verdict,
        };
        (verdict, Some(tracked))
    }

    /// The run of test `index` that tracked its allocations (with their call stacks, unless
    /// `ISOLATED_TEST_LEAK_SITES=0`): which blocks it left are lost and which still reachable,
    /// and where they came from; or why that could not be found. `first` is what the failing
    /// run left.
    fn track_blocks(
        &mut self,
        index: usize,
        plan: TrackingPlan,
        first: HeapDelta,
    ) -> LeakSiteSearch {
        let mut outcome = match self.scheduler.tracked(index, plan) {
            Ok(outcome) => outcome,
            Err(RunError::Interrupted(signal)) => self.end_interrupted(signal, index),
            Err(RunError::Spawn(error)) => {
                return LeakSiteSearch::Failed(format!("could not be started: {error}"))
            }
        };
        self.take_clues(index, &outcome);
        let test = self.scheduler.test(index);
        let verdict = verdict::judge(&outcome, &test.expect);
        let heap = match &outcome.report {
            Ok(ChildReport::Returned { heap: Some(heap) }) => *heap,
            _ => {
                let reason = match verdict {
                    Verdict::Fail { reason, .. } => reason,
                    Verdict::Pass { .. } => "sent no heap figures".to_owned(),
                };
                return LeakSiteSearch::Failed(reason);
            }
        };
        if let Verdict::Fail {
            reason,
            leaked: false,
        } = verdict
        {
            return LeakSiteSearch::Failed(reason);
        }
        let leaks = outcome.clues.tracked_leaks.take().unwrap_or_default();
        LeakSiteSearch::Found {
            leaks,
            second: heap,
            first,
        }
    }

    /// What a finished child said beyond its verdict: processes it left, stderr to pass through.
    fn take_clues(&mut self, index: usize, outcome: &ChildOutcome) {
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
    }

    fn pass(
        &mut self,
        index: usize,
        note: Option<Note>,
        earlier_failures: Vec<String>,
        captured: Captured,
        time: Duration,
    ) {
        let test = self.scheduler.test(index);
        match note {
            Some(Note::AllowedLeak(text) | Note::NotReproducible(text)) => {
                self.after.leak_notes.push((test.name(), text))
            }
            Some(Note::LeakCheckUnavailable) => self.after.unchecked += 1,
            None => {}
        }
        if let Some(LeakSiteSearch::Found { leaks, .. }) = &captured.leak_sites {
            let reachable = &leaks.reachable;
            if !reachable.sites.is_empty()
                && (self.report_memory || reachable.bytes >= LARGE_GROWTH)
            {
                let mut lines = vec![format!(
                    "left {} still reachable (not a leak), from:",
                    size::format(reachable.bytes)
                )];
                site_lines(&reachable.sites, &mut lines);
                self.after.leak_notes.push((test.name(), lines.join("\n")));
            }
        }
        if !earlier_failures.is_empty() {
            self.after.flaky.push(report::Flaky {
                name: test.name(),
                attempts: 1 + test.retries as usize,
                failures: earlier_failures.clone(),
            });
        }
        if let Some(junit) = &mut self.junit {
            junit.push(JunitCase {
                name: test.name(),
                outcome: if earlier_failures.is_empty() {
                    JunitOutcome::Passed
                } else {
                    JunitOutcome::Flaky {
                        failures: earlier_failures,
                    }
                },
                time,
                stdout: captured.stdout.text(),
                stderr: captured.stderr.text(),
                properties: captured.memory.properties(),
            });
        }
        if self.report_memory {
            if let Some(line) = captured.memory.line() {
                self.after.memory.push((test.name(), line));
            }
        }
        if self.show_output {
            if let Some(output) = report::success_output(captured.stdout, captured.stderr) {
                self.after.successes.push((test.name(), output));
            }
        }
        self.tally.passed += 1;
    }

    fn fail(&mut self, index: usize, reason: &str, captured: Captured, time: Duration) -> Failed {
        self.scheduler.test_done(false);
        let name = self.scheduler.test(index).name();
        let mut evidence = stuck_evidence(&mut self.scheduler, &captured.stuck_at);
        if let Some(search) = &captured.leak_sites {
            let strict = self.scheduler.test(index).expect.strict_leaks;
            evidence.extend(leak_evidence(search, strict));
        }
        if let Some(junit) = &mut self.junit {
            // The reason alone as the message; all that was said of the failure as its text
            // (captured output has elements of its own).
            let details = std::iter::once(reason.to_owned())
                .chain(evidence.iter().cloned())
                .chain(captured.memory.line())
                .collect::<Vec<_>>()
                .join("\n");
            junit.push(JunitCase {
                name: name.clone(),
                outcome: JunitOutcome::Failed {
                    message: reason.to_owned(),
                    details,
                },
                time,
                stdout: captured.stdout.text(),
                stderr: captured.stderr.text(),
                properties: captured.memory.properties(),
            });
        }
        let message = report::failure_message(
            reason,
            &evidence,
            &captured.memory,
            captured.stdout,
            captured.stderr,
        );
        self.tally.failures.push((name, message.clone()));
        message.into()
    }

    /// Writes the JUnit report, with the ignored tests that libtest-mimic never asked about.
    fn write_junit(&mut self, path: &Path) {
        let Some(mut cases) = self.junit.take() else {
            return;
        };
        for (index, _) in self
            .tally
            .ignored
            .iter()
            .enumerate()
            .filter(|(_, &ignored)| ignored)
        {
            cases.push(JunitCase {
                name: self.scheduler.test(index).name(),
                outcome: JunitOutcome::Ignored,
                time: Duration::ZERO,
                stdout: String::new(),
                stderr: String::new(),
                properties: Vec::new(),
            });
        }
        cases.sort_by(|a, b| a.name.cmp(&b.name));
        let report = JunitReport {
            suite: suite_name(),
            started: self.tally.started_at,
            time: self.tally.started.elapsed(),
            cases,
        };
        // `%p` names one file per process: cargo-nextest runs a process per test.
        let path = PathBuf::from(
            path.to_string_lossy()
                .replace("%p", &std::process::id().to_string()),
        );
        let path = path.as_path();
        if let Err(error) = std::fs::write(path, junit::render(&report)) {
            eprintln!(
                "{} could not write the JUnit report to {}: {error}",
                console::style("error:").red().bold(),
                path.display()
            );
        }
    }
}

/// A child's captured output and memory figures.
#[derive(Default)]
struct Captured {
    /// Where a leak's blocks came from, when a tracked run was made to find out.
    leak_sites: Option<LeakSiteSearch>,
    /// Where its test's thread was at the timeout, if it timed out and said.
    stuck_at: Vec<u64>,
    memory: MemoryFigures,
    stdout: CapturedStream,
    stderr: CapturedStream,
}

/// `stuck at:` and the test's frames, innermost first, when a timed-out child said where it was.
fn stuck_evidence(scheduler: &mut Scheduler, stuck_at: &[u64]) -> Vec<String> {
    if stuck_at.is_empty() {
        return Vec::new();
    }
    let frames = scheduler.resolve(stuck_at);
    let shown = symbols::test_frames(&frames);
    if shown.is_empty() {
        return Vec::new();
    }
    std::iter::once("stuck at:".to_owned())
        .chain(shown.iter().map(|frame| match &frame.location {
            Some(location) => format!("    {} at {location}", frame.function),
            None => format!("    {}", frame.function),
        }))
        .collect()
}

/// What the run that tracked a leaking test's allocations found.
#[derive(Debug)]
enum LeakSiteSearch {
    /// It returned: its blocks told apart, with their sites; its heap figures, and the failing
    /// run's.
    Found {
        leaks: TrackedLeaks,
        second: HeapDelta,
        first: HeapDelta,
    },
    /// It did not return as the failing run did: why, as a verdict's reason.
    Failed(String),
}

/// What the tracking run found, under a leak failure: where the lost blocks came from (with
/// `strict_leaks`, the still reachable ones too), or why that is not known.
fn leak_evidence(search: &LeakSiteSearch, strict: bool) -> Vec<String> {
    let (leaks, second, first) = match search {
        LeakSiteSearch::Failed(reason) => {
            return vec![format!(
                "leak sites: not found; the run that tracked allocations failed: {reason}"
            )]
        }
        LeakSiteSearch::Found {
            leaks,
            second,
            first,
        } => (leaks, second, first),
    };
    let mut lines = Vec::new();
    let amount = |heap: &HeapDelta| {
        format!(
            "{} in {}",
            verdict::count(heap.net_bytes.max(0) as u64, "byte"),
            verdict::count(heap.net_blocks.max(0) as u64, "allocation")
        )
    };
    if (second.net_bytes, second.net_blocks) != (first.net_bytes, first.net_blocks) {
        if second.net_bytes <= 0 && second.net_blocks <= 0 {
            return lines;
        }
        lines.push(format!(
            "not reproducible: the first run left {}, a second run that tracked allocations {}",
            amount(first),
            amount(second)
        ));
    }
    if leaks.unscanned {
        lines.push(
            "lost or still reachable: not known, the process's memory could not be scanned"
                .to_owned(),
        );
    }
    let mut kinds = vec![("lost", &leaks.lost)];
    if strict {
        kinds.push(("still reachable", &leaks.reachable));
    }
    let stacks = kinds.iter().any(|(_, tally)| !tally.sites.is_empty());
    if !stacks {
        return lines;
    }
    lines.push("leak sites (from a second run that tracked allocations):".to_owned());
    for (kind, tally) in kinds {
        if tally.blocks == 0 {
            continue;
        }
        if strict {
            lines.push(format!("  {kind}:"));
        }
        site_lines(&tally.sites, &mut lines);
    }
    if leaks.unrecorded > 0 {
        lines.push(format!(
            "    and {} not recorded: the tracking table was full",
            verdict::count(leaks.unrecorded, "allocation")
        ));
    }
    lines
}

/// For each site, its size and the test's frames that allocated it.
fn site_lines(sites: &[LeakSite], lines: &mut Vec<String>) {
    if sites.is_empty() {
        lines.push(
            "    none recorded: the blocks left were allocated outside the tracking".to_owned(),
        );
    }
    for site in sites {
        let mut frames = site.frames.iter();
        let first = frames.next().map_or("an unknown place", String::as_str);
        lines.push(format!(
            "    {} in {} block{}: {first}",
            size::format(site.bytes),
            site.blocks,
            if site.blocks == 1 { "" } else { "s" },
        ));
        lines.extend(frames.map(|frame| format!("        called from {frame}")));
    }
}

/// The test binary's name without the hash cargo appends (`death-0123456789abcdef` → `death`).
fn suite_name() -> String {
    let program = std::env::args_os().next().unwrap_or_default();
    let stem = Path::new(&program)
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name.to_owned()
        }
        _ => stem,
    }
}

impl Run {
    /// A signal from outside stopped the run while test `index` was running: its children are
    /// already dead; say what finished and end as the signal asks.
    fn end_interrupted(&mut self, signal: Signal, index: usize) -> ! {
        self.scheduler.clear_status();
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
        if let Some(path) = self.junit_path.take() {
            self.write_junit(&path);
        }
        let _ = io::stdout().flush();
        std::process::exit(128 + signal as i32)
    }
}
