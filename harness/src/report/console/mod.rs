//! libtest's console output, as a sink of the run's events: one [`OutputFormatter`] per format
//! (`pretty`, `terse`, `json`, `junit`), as libtest has one per format, fed by the [`Console`],
//! which keeps the run's tally, `--logfile`, `--report-time` and `--show-output`.

mod json;
mod junit;
mod list;
mod pretty;
mod tally;
mod terminfo;
mod terse;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use super::event::{Event, Interruption, LeftBehind, RunStart, Sink, TestEnd, TestResult};
use super::pass_notes::SaidOfPass;
use super::HarnessError;
use super::{TestKind, TestName, TimeLimits};
use crate::cli::Format;
pub(crate) use list::list;
use tally::Tally;
pub(crate) use terminfo::Palette;
use terminfo::{paint, Colour};

/// Colour on or off for isolated-test's own text, on stdout and stderr.
pub(crate) fn set_colors(colour: bool) {
    ::console::set_colors_enabled(colour);
    ::console::set_colors_enabled_stderr(colour);
}

/// How a test ended, as the console reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Passed,
    Failed(Failed),
    /// Passed, but over its critical time under `--ensure-time`.
    TimeLimitExceeded,
    Ignored,
}

/// What is said of a failed test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failed {
    /// The text under `---- NAME ----` (styled).
    pub(crate) message: String,
    /// The reason and the evidence, as plain text: JSON's and JUnit's message.
    pub(crate) details: String,
}

/// A finished test as the console shows it: how it ended, its time under `--report-time`, and
/// its captured output (stdout, then stderr).
pub(crate) struct ConsoleResult {
    pub(crate) outcome: Outcome,
    /// Its time, where `--report-time` shows it (not for an ignored test, which libtest does not
    /// time).
    pub(crate) time: Option<Duration>,
    pub(crate) output: String,
    /// What isolated-test says of a passing test (it passed on a retry, its leak was allowed),
    /// as plain lines: JSON's `stdout` carries them, the other formats print them after the run.
    pub(crate) notes: String,
}

/// One of libtest's formats: the text it writes for each event, given the tally so far.
pub(crate) trait OutputFormatter {
    /// `running N tests`, before the first.
    fn run_start(&mut self, start: &RunStart) -> String;
    /// A test starts.
    fn test_start(&mut self, _test: TestName<'_>) -> String {
        String::new()
    }
    /// A test's result.
    fn result(&mut self, test: TestName<'_>, result: &ConsoleResult) -> String;
    /// The end of the run: the failures and `test result: ...`.
    fn run_finish(&mut self, tally: &Tally, elapsed: Duration) -> String;
    /// A signal stopped the run: libtest's closing lines for a run that did not close, for a
    /// person. A format for tools keeps its stdout to itself and says them on stderr.
    fn interrupted(&mut self, tally: &Tally, interruption: &Interruption) -> String;
}

/// The console of one run, writing to `out` (stdout).
pub(crate) struct Console<W: Write = io::Stdout> {
    formatter: Box<dyn OutputFormatter>,
    /// `--report-time`: each test's time, against these limits.
    time_limits: Option<TimeLimits>,
    /// Every passing test's memory is said (`ISOLATED_TEST_REPORT=memory`, `--show-output`).
    show_memory: bool,
    /// `--nocapture`: a stderr captured only to be checked is passed through.
    nocapture: bool,
    /// `--show-output`.
    show_output: bool,
    tally: Tally,
    log: Option<File>,
    out: W,
}

/// What the console is asked to show, from the command line and the environment.
pub(crate) struct ConsoleOptions {
    pub(crate) format: Format,
    /// Where libtest's words are coloured: its terminal's bytes.
    pub(crate) palette: Option<Palette>,
    /// More than one test thread: libtest's pretty format writes `test NAME ... ` only with the
    /// result, so that a test's own output (`--nocapture`) never splits the line.
    pub(crate) multithreaded: bool,
    pub(crate) show_output: bool,
    pub(crate) show_memory: bool,
    pub(crate) nocapture: bool,
    pub(crate) time_limits: Option<TimeLimits>,
}

impl Console {
    /// The console on stdout, with `--logfile PATH` opened as libtest opens it.
    pub(crate) fn new(
        options: ConsoleOptions,
        logfile: Option<&Path>,
    ) -> Result<Self, HarnessError> {
        let log = logfile.map(open_log).transpose()?;
        Ok(Console::writing_to(options, log, io::stdout()))
    }
}

impl<W: Write> Console<W> {
    pub(crate) fn writing_to(options: ConsoleOptions, log: Option<File>, out: W) -> Self {
        let palette = options.palette;
        let formatter: Box<dyn OutputFormatter> = match options.format {
            Format::Pretty => Box::new(pretty::Pretty::new(
                palette,
                options.multithreaded,
                options.time_limits,
            )),
            Format::Terse => Box::new(terse::Terse::new(palette)),
            Format::Json => Box::new(json::Json::new(options.show_output)),
            Format::Junit => Box::new(junit::Junit::default()),
        };
        Self {
            formatter,
            time_limits: options.time_limits,
            show_memory: options.show_memory,
            nocapture: options.nocapture,
            show_output: options.show_output,
            tally: Tally::new(options.show_output),
            log,
            out,
        }
    }

    /// What was written, for a test of the console.
    #[cfg(test)]
    pub(crate) fn into_output(self) -> W {
        self.out
    }

    /// The console's view of a test's result.
    fn shown(&self, test: TestName<'_>, result: &TestResult) -> ConsoleResult {
        let name = test.case.full_name();
        let (outcome, notes) = match &result.end {
            TestEnd::Passed(passed) => {
                let notes = SaidOfPass::of(&name, passed, self.show_memory).plain_lines(&name);
                match passed.over_time_limit {
                    true => (Outcome::TimeLimitExceeded, notes),
                    false => (Outcome::Passed, notes),
                }
            }
            TestEnd::Failed(report) => {
                let failed = Failed {
                    message: report.message(&result.captured),
                    details: report.details(&result.captured),
                };
                (Outcome::Failed(failed), String::new())
            }
            TestEnd::Ignored => (Outcome::Ignored, String::new()),
        };
        // libtest times the tests it runs, not the ignored ones.
        let ran = !matches!(outcome, Outcome::Ignored);
        ConsoleResult {
            outcome,
            time: self.time_limits.filter(|_| ran).map(|_| result.time),
            output: result.captured.output(),
            notes,
        }
    }

    fn result(&mut self, test: TestName<'_>, result: &TestResult) {
        let shown = self.shown(test, result);
        self.log_result(test, &shown);
        let text = self.formatter.result(test, &shown);
        self.write(&text);
        self.tally.count(test, shown);
    }

    /// Under `--nocapture`, the stderr a child captured only to check it.
    fn pass_through(&self, left: &LeftBehind<'_>) {
        if self.nocapture && left.case.stderr.is_some() {
            let _ = io::stderr().write_all(left.checked_stderr.text().as_bytes());
        }
    }

    /// `--logfile`: a line per result, as libtest writes it.
    fn log_result(&mut self, test: TestName<'_>, shown: &ConsoleResult) {
        let Some(log) = &mut self.log else {
            return;
        };
        let verdict = match (&shown.outcome, test.ignore_message()) {
            (Outcome::Passed, _) => "ok".to_owned(),
            (Outcome::Failed(_), _) => "failed".to_owned(),
            (Outcome::TimeLimitExceeded, _) => "failed (time limit exceeded)".to_owned(),
            (Outcome::Ignored, Some(message)) => format!("ignored: {message}"),
            (Outcome::Ignored, None) => "ignored".to_owned(),
        };
        let time = shown
            .time
            .map_or_else(String::new, |time| format!(" <{:.3}s>", time.as_secs_f64()));
        let _ = writeln!(log, "{verdict} {}{time}", test.name);
    }

    fn write(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }
}

impl<W: Write> Sink for Console<W> {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::RunStarted(start) => {
                self.tally.started(start);
                let text = self.formatter.run_start(start);
                self.write(&text);
            }
            Event::TestStarted(test) => {
                let text = self.formatter.test_start(*test);
                self.write(&text);
            }
            Event::ChildLeft(left) => self.pass_through(left),
            Event::TestFinished(test, result) => self.result(*test, result),
            Event::Interrupted(interruption) => {
                let text = self.formatter.interrupted(&self.tally, interruption);
                self.write(&text);
            }
            Event::RunFinished(end) => {
                let text = self.formatter.run_finish(&self.tally, end.elapsed);
                self.write(&text);
            }
            Event::Tick(_) | Event::Slow { .. } | Event::Retrying(_) => {}
        }
    }

    fn shows_passing_output(&self) -> bool {
        self.show_output
    }
}

/// ` <0.012s>` under `--report-time`, coloured past the warning and the critical time.
fn time_text(time: Duration, limits: TimeLimits, palette: Option<&Palette>) -> String {
    let text = format!(" <{:.3}s>", time.as_secs_f64());
    if time >= limits.critical {
        paint(&text, Colour::Red, palette)
    } else if time >= limits.warn {
        paint(&text, Colour::Yellow, palette)
    } else {
        text
    }
}

/// `--logfile PATH`: created as libtest creates it, with libtest's warning that it is deprecated.
fn open_log(path: &Path) -> Result<File, HarnessError> {
    // libtest's words, and its missing newline.
    eprint!("warning: `--logfile` is deprecated");
    File::create(path).map_err(|error| {
        HarnessError::Config(format!(
            "could not create the log file {}: {error}",
            path.display()
        ))
    })
}

/// libtest's closing lines for a run a signal stopped: the failures so far and a count (after
/// `interrupted` where libtest's pretty line is open).
fn interruption_text(tally: &Tally, interruption: &Interruption, line_open: bool) -> String {
    use ::console::style;
    let mut text = String::new();
    if line_open {
        text.push_str(&format!("{}\n", style("interrupted").red()));
    }
    let failures = &tally.failures;
    if !failures.is_empty() {
        text.push_str("\nfailures:\n\n");
        for (name, failed) in failures {
            text.push_str(&format!("---- {name} ----\n{}\n\n", failed.message));
        }
        text.push_str("\nfailures:\n");
        for (name, _) in failures {
            text.push_str(&format!("    {name}\n"));
        }
    }
    text.push_str(&format!(
        "\ntest result: {}. {} passed; {} failed; {} ignored; {} did not finish; finished in {:.2}s\n\n",
        style(format!("interrupted by {}", interruption.signal.as_str())).red(),
        tally.passed,
        failures.len(),
        interruption.ignored,
        interruption.unfinished,
        interruption.elapsed.as_secs_f64(),
    ));
    text
}
