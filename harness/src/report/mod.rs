//! All the text the harness prints, made from typed data: libtest's console (`console`), the
//! reason, evidence and captured output under each failure, the live status line, the slow
//! notice, the notes after the run, the interruption summary and the JUnit report.

pub(crate) mod console;
pub(crate) mod junit;
pub(crate) mod reasons;
mod status;

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use ::console::style;
use nix::sys::signal::Signal;

use crate::outcome::{CapturedStream, Escapee, Usage};
use crate::parent::supervisor::Progress;
use crate::registry::{Source, TestCase};
use crate::size;
use crate::symbols::Frame;
use crate::verdict::{Failure, LeakSiteSearch, Note, LARGE_GROWTH};
use crate::wire::{HeapDelta, LeakTally};
use junit::{JunitCase, JunitOutcome, JunitReport};
use status::StatusLine;

/// What a test's child used: its heap (when it returned and a counting allocator is installed)
/// and what the kernel counted.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MemoryFigures {
    pub(crate) heap: Option<HeapDelta>,
    pub(crate) usage: Option<Usage>,
    /// Of what the heap kept, the bytes still reachable, where a run that tracked allocations
    /// told them apart.
    pub(crate) still_reachable: Option<u64>,
    /// How much the C library's heap grew beyond the counting allocator's figure: memory code
    /// called through FFI kept.
    pub(crate) foreign_heap: Option<i64>,
}

impl MemoryFigures {
    /// `memory: heap peak 1.5 MiB, 12 allocations, 0 B left in 0 blocks; max RSS 4.1 MiB; CPU
    /// 0.3 ms user, 0.5 ms system`, with what is known; `None` when nothing is.
    pub(crate) fn line(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(heap) = self.heap {
            parts.push(format!(
                "heap peak {}, {} allocation{}, {} left in {} block{}",
                size::format(heap.peak_bytes),
                heap.allocations,
                if heap.allocations == 1 { "" } else { "s" },
                size::format(heap.net_bytes.max(0) as u64),
                heap.net_blocks.max(0),
                if heap.net_blocks == 1 { "" } else { "s" },
            ));
            let reachable = self.still_reachable.filter(|&bytes| bytes > 0);
            if let (Some(reachable), Some(last)) = (reachable, parts.last_mut()) {
                last.push_str(&format!(" ({} still reachable)", size::format(reachable)));
            }
        }
        if let Some(bytes) = self.foreign_heap {
            parts.push(format!(
                "C heap grew by about {} beyond the Rust heap's",
                size::format(bytes.max(0) as u64)
            ));
        }
        if let Some(usage) = self.usage {
            parts.push(format!("max RSS {}", size::format(usage.max_rss_bytes)));
            parts.push(format!(
                "CPU {} user, {} system",
                millis(usage.user),
                millis(usage.system)
            ));
        }
        (!parts.is_empty()).then(|| format!("memory: {}", parts.join("; ")))
    }

    /// The figures as JUnit properties.
    pub(crate) fn properties(&self) -> Vec<(String, String)> {
        let mut properties = Vec::new();
        if let Some(heap) = self.heap {
            properties.push(("heap.peak_bytes".to_owned(), heap.peak_bytes.to_string()));
            properties.push(("heap.allocations".to_owned(), heap.allocations.to_string()));
            properties.push(("heap.leaked_bytes".to_owned(), heap.net_bytes.to_string()));
            properties.push(("heap.leaked_blocks".to_owned(), heap.net_blocks.to_string()));
        }
        if let Some(reachable) = self.still_reachable {
            properties.push((
                "heap.still_reachable_bytes".to_owned(),
                reachable.to_string(),
            ));
        }
        if let Some(bytes) = self.foreign_heap {
            properties.push(("heap.foreign_bytes".to_owned(), bytes.to_string()));
        }
        if let Some(usage) = self.usage {
            properties.push(("max_rss_bytes".to_owned(), usage.max_rss_bytes.to_string()));
            properties.push(("cpu.user_us".to_owned(), usage.user.as_micros().to_string()));
            properties.push((
                "cpu.system_us".to_owned(),
                usage.system.as_micros().to_string(),
            ));
        }
        properties
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// A test's captured output and memory figures.
#[derive(Default)]
pub(crate) struct Captured {
    pub(crate) memory: MemoryFigures,
    pub(crate) stdout: CapturedStream,
    pub(crate) stderr: CapturedStream,
}

impl Captured {
    /// Everything the test printed, as libtest's formats carry it: stdout, then stderr.
    pub(crate) fn output(&self) -> String {
        self.stdout.text() + &self.stderr.text()
    }
}

/// Everything said of one failed test.
pub(crate) struct FailureReport {
    pub(crate) failure: Failure,
    /// Where the test function is.
    pub(crate) source: Source,
    /// The test's frames where a timed-out test was stuck, innermost first.
    pub(crate) stuck_at: Vec<Frame>,
    /// Where a leak's blocks came from, when a tracked run was made to find out.
    pub(crate) leak_sites: Option<LeakSiteSearch>,
    /// The test is strict about leaks: its still reachable blocks' sites count too.
    pub(crate) strict_leaks: bool,
    pub(crate) captured: Captured,
}

impl FailureReport {
    /// The lines under the reason: where a hung test was stuck, where leaked blocks came from.
    fn evidence(&self) -> Vec<String> {
        let mut lines = reasons::libtest_note(&self.failure, self.source);
        lines.extend(reasons::stuck_evidence(&self.stuck_at));
        if let Some(search) = &self.leak_sites {
            lines.extend(reasons::leak_evidence(search, self.strict_leaks));
        }
        lines
    }

    /// All that is said of the failure, as plain text (JUnit's failure text): the reason, the
    /// evidence and the memory line.
    fn details(&self) -> String {
        std::iter::once(self.failure.to_string())
            .chain(self.evidence())
            .chain(self.captured.memory.line())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The text the console prints under `---- NAME ----`: the reason, the evidence, the
    /// memory figures, then the captured output.
    fn message(&self) -> String {
        let mut message = style(self.failure.to_string()).red().bold().to_string();
        for line in self.evidence() {
            message.push('\n');
            message.push_str(&line);
        }
        if let Some(line) = self.captured.memory.line() {
            message.push('\n');
            message.push_str(&style(line).dim().to_string());
        }
        let output = sections(&self.captured.stdout, &self.captured.stderr);
        if !output.is_empty() {
            message.push('\n');
            message.push_str(&output);
        }
        message
    }
}

/// Each non-empty stream under a `--- stdout ---` or `--- stderr ---` heading.
fn sections(stdout: &CapturedStream, stderr: &CapturedStream) -> String {
    let mut text = String::new();
    for (title, stream) in [("stdout", stdout), ("stderr", stderr)] {
        if stream.is_empty() {
            continue;
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&style(format!("--- {title} ---")).dim().to_string());
        text.push('\n');
        // std starts some of its own messages (stack overflow) with a blank line.
        let body = stream.text();
        text.push_str(body.trim_start_matches('\n').trim_end_matches('\n'));
    }
    text
}

/// What the run has to say after libtest-mimic's summary.
#[derive(Default)]
struct AfterRun {
    /// Passing tests with something to say of their heap.
    notes: Vec<(String, PassNote)>,
    /// How many tests passed without a leak check.
    unchecked: usize,
    /// Processes that escaped a test's process group, killed.
    escapees: Vec<Escapee>,
    /// Which test said it left which process.
    left_by: HashMap<i32, String>,
    /// Tests that passed only on a retry.
    flaky: Vec<Flaky>,
    /// Each passing test's memory, for `ISOLATED_TEST_REPORT=memory` and `--show-output`.
    memory: Vec<(String, MemoryFigures)>,
}

/// What a passing test's heap did that is worth a note.
enum PassNote {
    /// What `allow_leaks` let pass, or growth a second run did not reproduce.
    Leak(Note),
    /// What it left still reachable, with where from.
    StillReachable(LeakTally),
}

/// A test that failed, then passed when run again.
struct Flaky {
    name: String,
    /// How many runs it was allowed.
    attempts: usize,
    /// Why each run before the passing one failed.
    failures: Vec<Failure>,
}

impl PassNote {
    /// What is said after `note: NAME `.
    fn text(&self) -> String {
        match self {
            PassNote::Leak(note) => note.to_string(),
            PassNote::StillReachable(tally) => {
                let mut lines = vec![format!(
                    "left {} still reachable (not a leak), from:",
                    size::format(tally.bytes)
                )];
                reasons::site_lines(&tally.sites, &mut lines);
                lines.join("\n")
            }
        }
    }
}

impl Flaky {
    /// `LABEL NAME passed on attempt 2 of 3`, then why each earlier attempt failed.
    fn lines(&self, label: &str) -> String {
        let mut text = format!(
            "{label} {} passed on attempt {} of {}\n",
            self.name,
            self.failures.len() + 1,
            self.attempts,
        );
        for (attempt, reason) in self.failures.iter().enumerate() {
            text.push_str(&format!("    attempt {}: {reason}\n", attempt + 1));
        }
        text
    }
}

impl AfterRun {
    /// Everything said after the summary, to `out`: stdout, or stderr where stdout carries JSON
    /// or XML.
    fn print(&self, out: &mut dyn Write) {
        if !self.memory.is_empty() {
            let _ = writeln!(out, "memory of the tests that passed:");
            for (name, figures) in &self.memory {
                let line = figures.line().unwrap_or_default();
                let line = line.strip_prefix("memory: ").unwrap_or(&line);
                let _ = writeln!(out, "    {name}: {line}");
            }
            let _ = writeln!(out);
        }
        self.print_flaky(out);
        for (name, note) in &self.notes {
            let note_label = style("note:").yellow().bold();
            let _ = writeln!(out, "{note_label} {name} {}", note.text());
        }
        self.print_escapees(out);
        if self.unchecked > 0 {
            let _ = writeln!(
                out,
                "{} leak check unavailable for {} test{}: no counting allocator is installed (end the test file with `isolated_test::main!();`)",
                style("warning:").yellow().bold(),
                self.unchecked,
                if self.unchecked == 1 { "" } else { "s" },
            );
        }
    }

    fn print_flaky(&self, out: &mut dyn Write) {
        for flaky in &self.flaky {
            let label = style("FLAKY").yellow().bold().to_string();
            let _ = out.write_all(flaky.lines(&label).as_bytes());
        }
        if !self.flaky.is_empty() {
            let count = self.flaky.len();
            let _ = writeln!(
                out,
                "{} {count} flaky test{} passed only on a retry",
                style("flaky:").yellow().bold(),
                if count == 1 { "" } else { "s" },
            );
        }
    }

    fn print_escapees(&self, out: &mut dyn Write) {
        for Escapee { pid, command } in &self.escapees {
            let warning = style("warning:").yellow().bold();
            let _ = match self.left_by.get(pid) {
                Some(name) => writeln!(
                    out,
                    "{warning} {name} left process {pid} ({command}) running outside its process group; it was killed"
                ),
                None => writeln!(
                    out,
                    "{warning} process {pid} ({command}) escaped the process group of a test; it was killed"
                ),
            };
        }
    }
}

/// A test that failed, with the message libtest-mimic printed for it.
struct FailedTest {
    name: String,
    message: String,
}

/// What finished so far, for the summary of an interrupted run.
struct Tally {
    started: Instant,
    started_at: SystemTime,
    passed: usize,
    failures: Vec<FailedTest>,
}

/// What the user asked to see.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Show {
    /// `ISOLATED_TEST_REPORT=memory` or `--show-output`: every passing test's memory.
    pub(crate) memory: bool,
    /// libtest's pretty format at one test thread, where `test NAME ... ` is open on the line
    /// while the test runs.
    pub(crate) pretty: bool,
    /// `--nocapture`: a stderr captured only to be checked is passed through.
    pub(crate) nocapture: bool,
    /// JSON or XML on stdout (`--format json` or `junit`): no room for a notice line, and what
    /// is said after the run goes to stderr.
    pub(crate) json: bool,
}

/// Everything the run prints of its own, and the JUnit report it writes.
pub(crate) struct Reporter {
    show: Show,
    /// The live status line, on a terminal.
    status: Option<StatusLine>,
    /// When a test is announced as still running.
    slow_after: Option<Duration>,
    after: AfterRun,
    tally: Tally,
    /// `ISOLATED_TEST_JUNIT`: where the JUnit report goes, and its cases so far.
    junit: Option<(PathBuf, Vec<JunitCase>)>,
}

impl Reporter {
    pub(crate) fn new(show: Show, slow_after: Option<Duration>, junit: Option<PathBuf>) -> Self {
        Self {
            show,
            status: None,
            slow_after: slow_after.filter(|_| !show.json),
            after: AfterRun::default(),
            tally: Tally {
                started: Instant::now(),
                started_at: SystemTime::now(),
                passed: 0,
                failures: Vec::new(),
            },
            junit: junit.map(|path| (path, Vec::new())),
        }
    }

    /// Shows a live status line from now on, for a run of `total` tests.
    pub(crate) fn show_status(&mut self, total: usize) {
        self.status = Some(StatusLine::new(total));
    }

    /// When the supervisor is to say that a test runs long.
    pub(crate) fn slow_after(&self) -> Option<Duration> {
        self.slow_after
    }

    /// A test's verdict is in: counted on the status line, which leaves the screen so that
    /// libtest-mimic can print the verdict.
    fn test_done(&mut self, passed: bool) {
        if let Some(status) = &mut self.status {
            status.count(passed);
            status.clear();
        }
    }

    /// What a finished child left: processes it said it left, escapees killed since, and the
    /// stderr it captured only to be checked, passed through under `--nocapture`.
    pub(crate) fn left_behind(
        &mut self,
        case: &TestCase,
        descendants: &[i32],
        escapees: Vec<Escapee>,
        checked_stderr: &CapturedStream,
    ) {
        self.after.escapees.extend(escapees);
        for &pid in descendants {
            self.after.left_by.insert(pid, case.full_name());
        }
        if self.show.nocapture && case.stderr.is_some() {
            let _ = io::stderr().write_all(checked_stderr.text().as_bytes());
        }
    }

    /// A test passed (after `earlier_failures`, of the `attempts` it was allowed): returns what
    /// is said of it, as plain lines (`FLAKY ...`, `note: ...`), for JSON's event.
    pub(crate) fn passed(&mut self, case: &TestCase, passed: Passed, captured: Captured) -> String {
        self.test_done(true);
        let name = case.full_name();
        let notes_before = self.after.notes.len();
        match passed.note {
            Some(Note::LeakCheckUnavailable) => self.after.unchecked += 1,
            Some(note) => self.after.notes.push((name.clone(), PassNote::Leak(note))),
            None => {}
        }
        if let Some(tally) = passed.still_reachable {
            if !tally.sites.is_empty() && (self.show.memory || tally.bytes >= LARGE_GROWTH) {
                self.after
                    .notes
                    .push((name.clone(), PassNote::StillReachable(tally)));
            }
        }
        let earlier = passed.earlier_failures;
        if let Some((_, cases)) = &mut self.junit {
            let outcome = if earlier.is_empty() {
                JunitOutcome::Passed
            } else {
                let failures = earlier.iter().map(ToString::to_string).collect();
                JunitOutcome::Flaky { failures }
            };
            cases.push(junit_case(name.clone(), outcome, passed.time, &captured));
        }
        if !earlier.is_empty() {
            self.after.flaky.push(Flaky {
                name: name.clone(),
                attempts: passed.attempts,
                failures: earlier,
            });
        }
        if self.show.memory && captured.memory.line().is_some() {
            self.after.memory.push((name.clone(), captured.memory));
        }
        self.tally.passed += 1;
        let mut said = match self.after.flaky.last() {
            Some(flaky) if flaky.name == name => flaky.lines("FLAKY"),
            _ => String::new(),
        };
        for (_, note) in &self.after.notes[notes_before..] {
            said.push_str(&format!("note: {name} {}\n", note.text()));
        }
        said
    }

    /// A test failed: returns the message libtest-mimic prints under its name.
    pub(crate) fn failed(
        &mut self,
        case: &TestCase,
        report: FailureReport,
        time: Duration,
    ) -> console::Failed {
        self.test_done(false);
        let name = case.full_name();
        if let Some((_, cases)) = &mut self.junit {
            // The reason alone as the message; all that was said of the failure as its text
            // (captured output has elements of its own).
            let outcome = JunitOutcome::Failed {
                message: report.failure.to_string(),
                details: report.details(),
            };
            cases.push(junit_case(name.clone(), outcome, time, &report.captured));
        }
        let message = report.message();
        self.tally.failures.push(FailedTest {
            name,
            message: message.clone(),
        });
        console::Failed {
            message,
            details: report.details(),
        }
    }

    /// Ends the run's output: the JUnit report (with the `ignored` tests libtest-mimic never
    /// asked about), then the notes after libtest-mimic's summary.
    pub(crate) fn finish(&mut self, ignored: Vec<String>, escapees: Vec<Escapee>) {
        self.write_junit(ignored);
        self.after.escapees.extend(escapees);
        self.after.print(&mut *self.human_text());
        let _ = io::stdout().flush();
    }

    /// Where text for a person goes: stdout, unless stdout carries JSON or XML for a tool.
    fn human_text(&self) -> Box<dyn Write> {
        if self.show.json {
            Box::new(io::stderr().lock())
        } else {
            Box::new(io::stdout().lock())
        }
    }

    /// A signal from outside stopped the run: libtest's closing lines for a run that did not
    /// close, the notes, and the JUnit report so far.
    pub(crate) fn interrupted(
        &mut self,
        signal: Signal,
        counts: Unfinished,
        escapees: Vec<Escapee>,
    ) {
        self.clear_status();
        self.after.escapees.extend(escapees);
        let mut out = self.human_text();
        self.print_interruption(signal, &counts, &mut *out);
        self.after.print(&mut *out);
        drop(out);
        self.write_junit(counts.ignored_names);
        let _ = io::stdout().flush();
    }

    fn clear_status(&mut self) {
        if let Some(status) = &mut self.status {
            status.clear();
        }
    }

    /// libtest's closing lines, for a run that did not close: the failures so far and a count.
    fn print_interruption(&self, signal: Signal, counts: &Unfinished, out: &mut dyn Write) {
        if self.show.pretty {
            let _ = writeln!(out, "{}", style("interrupted").red());
        }
        let failures = &self.tally.failures;
        if !failures.is_empty() {
            let _ = writeln!(out, "\nfailures:\n");
            for failed in failures {
                let _ = writeln!(out, "---- {} ----\n{}\n", failed.name, failed.message);
            }
            let _ = writeln!(out, "\nfailures:");
            for failed in failures {
                let _ = writeln!(out, "    {}", failed.name);
            }
        }
        let _ = writeln!(
            out,
            "\ntest result: {}. {} passed; {} failed; {} ignored; {} did not finish; finished in {:.2}s\n",
            style(format!("interrupted by {}", signal.as_str())).red(),
            self.tally.passed,
            failures.len(),
            counts.ignored,
            counts.unfinished,
            self.tally.started.elapsed().as_secs_f64(),
        );
    }

    /// Writes the JUnit report, with the `ignored` tests that libtest-mimic never asked about.
    fn write_junit(&mut self, ignored: Vec<String>) {
        let Some((path, mut cases)) = self.junit.take() else {
            return;
        };
        let captured = Captured::default();
        for name in ignored {
            cases.push(junit_case(
                name,
                JunitOutcome::Ignored,
                Duration::ZERO,
                &captured,
            ));
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
        if let Err(error) = std::fs::write(&path, junit::render(&report)) {
            eprintln!(
                "{} could not write the JUnit report to {}: {error}",
                style("error:").red().bold(),
                path.display()
            );
        }
    }
}

/// What a passing test's runs left to say.
pub(crate) struct Passed {
    pub(crate) note: Option<Note>,
    /// What it left still reachable, where a tracked run told.
    pub(crate) still_reachable: Option<LeakTally>,
    /// Why each earlier run failed, before the one that passed.
    pub(crate) earlier_failures: Vec<Failure>,
    /// How many runs it was allowed.
    pub(crate) attempts: usize,
    pub(crate) time: Duration,
}

/// How much of an interrupted run did not finish.
pub(crate) struct Unfinished {
    /// Ignored tests before the one interrupted.
    pub(crate) ignored: usize,
    /// Tests not finished, the interrupted one among them.
    pub(crate) unfinished: usize,
    /// Every ignored test's name, for the JUnit report.
    pub(crate) ignored_names: Vec<String>,
}

fn junit_case(
    name: String,
    outcome: JunitOutcome,
    time: Duration,
    captured: &Captured,
) -> JunitCase {
    JunitCase {
        name,
        outcome,
        time,
        stdout: captured.stdout.text(),
        stderr: captured.stderr.text(),
        properties: captured.memory.properties(),
    }
}

impl Progress for Reporter {
    fn tick_every(&self) -> Option<Duration> {
        self.status.as_ref().map(|_| status::REDRAW_EVERY)
    }

    fn tick(&mut self, running: &mut dyn Iterator<Item = (&'static TestCase, Instant)>) {
        let Some(status) = &mut self.status else {
            return;
        };
        let now = Instant::now();
        if status.due(now) {
            let running: Vec<(String, Duration)> = running
                .map(|(case, started)| (case.full_name(), now - started))
                .collect();
            status.draw(&running, now);
        }
    }

    /// libtest's notice, on stderr: on stdout it would split the `test NAME ... ok` line that
    /// tools parse. On a terminal that line is open, so the notice starts a line of its own.
    /// Under it, where the test's thread is (`at`), innermost first: with no timeout, this is
    /// where the user of a test that hangs learns where it is.
    fn slow(&mut self, case: &'static TestCase, at: &[Frame]) {
        self.clear_status();
        let Some(after) = self.slow_after else {
            return;
        };
        let seconds = after.as_secs();
        let span = if after == Duration::from_secs(seconds) {
            format!("{seconds} second{}", if seconds == 1 { "" } else { "s" })
        } else {
            humantime::format_duration(after).to_string()
        };
        let newline = if self.show.pretty { "\n" } else { "" };
        let mut out = io::stderr().lock();
        let _ = writeln!(
            out,
            "{newline}test {} has been running for over {span}",
            case.full_name()
        );
        for line in reasons::where_evidence(at) {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
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

/// A flag libtest refuses too: libtest's line, uncoloured, and its exit code.
pub(crate) fn refused_flag(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(101)
}

/// One line on stderr for a mistake in how the harness was invoked.
pub(crate) fn config_error(message: &str) -> ! {
    eprintln!("{} {message}", style("error:").red().bold());
    std::process::exit(2)
}
