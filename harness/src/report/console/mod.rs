//! libtest's console output, in each of its formats (`pretty`, `terse`, `json`, `junit`), with
//! its `--logfile`, `--report-time` and `--ensure-time`: one printer for the whole run, which the
//! runner tells each test's start and result.

mod json;
mod junit;
mod list;
mod pretty;
mod terminfo;
mod terse;

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::cli::{Arguments, Format};
use crate::registry::TestCase;
pub(crate) use list::list;
pub(crate) use terminfo::Palette;
use terminfo::{paint, Colour};

/// Colour on or off for isolated-test's own text, on stdout and stderr.
pub(crate) fn set_colors(colour: bool) {
    ::console::set_colors_enabled(colour);
    ::console::set_colors_enabled_stderr(colour);
}

/// One test as the console names it.
#[derive(Clone, Copy)]
pub(crate) struct TestName<'a> {
    pub(crate) name: &'a str,
    pub(crate) case: &'static TestCase,
    /// What kind of test libtest would call it, by where its target's root is.
    pub(crate) kind: TestKind,
}

impl TestName<'_> {
    /// libtest's ` - should panic` after the name.
    pub(super) fn mode(&self) -> &'static str {
        match self.case.should_panic {
            crate::registry::ShouldPanic::No => "",
            _ => " - should panic",
        }
    }

    /// `Some` for an ignored test, with its reason if it has one.
    fn ignore(&self) -> Option<Option<&'static str>> {
        match self.case.ignore {
            crate::registry::Ignore::Yes(message) => Some(message),
            crate::registry::Ignore::No => None,
        }
    }

    fn ignore_message(&self) -> Option<&'static str> {
        self.ignore().flatten()
    }
}

/// What kind of test rustc's libtest harness calls a test, by the folder of its target's root:
/// `src/` for unit tests, `tests/` for integration tests, anything else unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TestKind {
    Unit,
    Integration,
    Unknown,
}

impl TestKind {
    /// The kind of the tests of the target whose root file is `root_file` (`file!()` there).
    pub(crate) fn of_root(root_file: &str) -> Self {
        let folder = Path::new(root_file).parent().and_then(Path::file_name);
        match folder.and_then(|folder| folder.to_str()) {
            Some("src") => TestKind::Unit,
            Some("tests") => TestKind::Integration,
            _ => TestKind::Unknown,
        }
    }
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

/// A finished test: how it ended, its time, and its captured output (stdout, then stderr).
pub(crate) struct Finished {
    pub(crate) outcome: Outcome,
    pub(crate) time: Duration,
    pub(crate) output: String,
    /// What isolated-test says of a passing test (it passed on a retry, its leak was allowed),
    /// as plain lines: JSON's `stdout` carries them, the other formats print them after the run.
    pub(crate) notes: String,
}

/// The time limits of `--report-time` and `--ensure-time`: libtest's defaults, or
/// `RUST_TEST_TIME_UNIT` / `RUST_TEST_TIME_INTEGRATION` as `WARN_MS,CRITICAL_MS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimeLimits {
    pub(crate) warn: Duration,
    pub(crate) critical: Duration,
}

impl TimeLimits {
    /// For the target's kind of test; `Err` names a malformed variable.
    pub(crate) fn from_env(
        kind: TestKind,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let (name, warn, critical) = match kind {
            TestKind::Unit => ("RUST_TEST_TIME_UNIT", 50, 100),
            TestKind::Integration => ("RUST_TEST_TIME_INTEGRATION", 500, 1000),
            // libtest assumes nothing of a test of no known kind: a minute, and two.
            TestKind::Unknown => {
                return Ok(Self {
                    warn: Duration::from_secs(60),
                    critical: Duration::from_secs(120),
                })
            }
        };
        let Some(value) = env(name) else {
            return Ok(Self {
                warn: Duration::from_millis(warn),
                critical: Duration::from_millis(critical),
            });
        };
        let parsed = value.split_once(',').and_then(|(warn, critical)| {
            Some((warn.trim().parse().ok()?, critical.trim().parse().ok()?))
        });
        match parsed {
            Some((warn, critical)) if warn <= critical => Ok(Self {
                warn: Duration::from_millis(warn),
                critical: Duration::from_millis(critical),
            }),
            _ => Err(format!(
                "{name}={value:?} is not WARN_MS,CRITICAL_MS with WARN_MS at most CRITICAL_MS (try \"50,100\")"
            )),
        }
    }
}

/// What the run counted so far.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    ignored: usize,
    total: usize,
    filtered_out: usize,
    /// Failed tests and what is said of each, in the order they ran.
    failures: Vec<(String, Failed)>,
    /// Tests over their time limit under `--ensure-time`.
    time_failures: Vec<String>,
    /// The one test of a run of one that is ignored, with its reason.
    lone_ignored: Option<(String, &'static str)>,
    /// Under `--show-output`, each passed test and its output, in the order they ran.
    successes: Option<Vec<(String, String)>>,
}

/// The printer of one run.
pub(crate) struct Console {
    format: Format,
    /// Where libtest's words are coloured: its terminal's bytes.
    palette: Option<Palette>,
    /// More than one test thread: libtest's pretty format writes `test NAME ... ` only with the
    /// result, so that a test's own output (`--nocapture`) never splits the line.
    multithreaded: bool,
    /// `--show-output`: passing tests' output in JSON and JUnit.
    show_output: bool,
    /// `--report-time`: each test's time, against these limits.
    time_limits: Option<TimeLimits>,
    /// `--ensure-time`: a passing test over its critical time fails.
    ensure_time: bool,
    started: Instant,
    tally: Tally,
    terse: terse::Progress,
    junit: Vec<junit::Case>,
    log: Option<File>,
    out: io::Stdout,
}

impl Console {
    pub(crate) fn new(
        args: &Arguments,
        palette: Option<Palette>,
        jobs: usize,
        time_limits: Option<TimeLimits>,
    ) -> Self {
        Self {
            format: args.format,
            palette,
            multithreaded: jobs > 1,
            show_output: args.show_output,
            time_limits: time_limits.filter(|_| args.report_time),
            ensure_time: args.ensure_time,
            started: Instant::now(),
            tally: Tally {
                successes: args.show_output.then(Vec::new),
                ..Tally::default()
            },
            terse: terse::Progress::default(),
            junit: Vec::new(),
            log: open_log(args.logfile.as_deref()),
            out: io::stdout(),
        }
    }

    /// `running N tests`, before the first.
    pub(crate) fn run_start(&mut self, total: usize, filtered_out: usize, seed: Option<u64>) {
        self.tally.total = total;
        self.tally.filtered_out = filtered_out;
        match self.format {
            Format::Pretty | Format::Terse => {
                self.terse.total = total;
                let noun = if total == 1 { "test" } else { "tests" };
                let seed = seed.map_or_else(String::new, |seed| format!(" (shuffle seed: {seed})"));
                self.write(&format!("\nrunning {total} {noun}{seed}\n"));
            }
            Format::Json => self.write(&json::suite_started(total, seed)),
            Format::Junit => self.write("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        }
    }

    /// A test starts (pretty, at one thread: its open `test NAME ... ` line, where a hang is
    /// seen).
    pub(crate) fn test_start(&mut self, test: TestName<'_>) {
        match self.format {
            Format::Pretty if !self.multithreaded => self.write(&pretty::name(test)),
            Format::Pretty => {}
            Format::Json => self.write(&json::test_started(test.name)),
            Format::Terse | Format::Junit => {}
        }
    }

    /// A test's result; returns whether the test failed.
    pub(crate) fn result(&mut self, test: TestName<'_>, mut finished: Finished) -> bool {
        if let (true, Some(limits), Outcome::Passed) =
            (self.ensure_time, self.time_limits, &finished.outcome)
        {
            if finished.time >= limits.critical {
                finished.outcome = Outcome::TimeLimitExceeded;
            }
        }
        self.log_result(test, &finished);
        // libtest times the tests it runs, not the ignored ones.
        let ran = !matches!(finished.outcome, Outcome::Ignored);
        let time = self.time_limits.filter(|_| ran).map(|_| finished.time);
        match self.format {
            Format::Pretty => {
                let name = match self.multithreaded {
                    true => pretty::name(test),
                    false => String::new(),
                };
                let text = pretty::result(
                    &finished.outcome,
                    test.ignore_message(),
                    self.palette.as_ref(),
                );
                let time = time.map_or_else(String::new, |time| self.time_text(time));
                self.write(&format!("{name}{text}{time}\n"));
            }
            Format::Terse => {
                let text = self
                    .terse
                    .result(test.name, &finished.outcome, self.palette.as_ref());
                self.write(&text);
            }
            Format::Json => {
                let text = json::result(test, &finished, time, self.show_output);
                self.write(&text);
            }
            Format::Junit => self.junit.push(junit::Case::new(test, &finished, time)),
        }
        let failed = matches!(
            finished.outcome,
            Outcome::Failed(_) | Outcome::TimeLimitExceeded
        );
        if let (Some(successes), Outcome::Passed) = (&mut self.tally.successes, &finished.outcome) {
            successes.push((test.name.to_owned(), finished.output));
        }
        self.count(test, finished.outcome);
        failed
    }

    fn count(&mut self, test: TestName<'_>, outcome: Outcome) {
        let tally = &mut self.tally;
        match outcome {
            Outcome::Passed => tally.passed += 1,
            Outcome::Ignored => {
                tally.ignored += 1;
                if let Some(message) = test.ignore_message() {
                    tally.lone_ignored = Some((test.name.to_owned(), message));
                }
            }
            Outcome::Failed(failed) => {
                tally.failed += 1;
                tally.failures.push((test.name.to_owned(), failed));
            }
            Outcome::TimeLimitExceeded => {
                tally.failed += 1;
                tally.time_failures.push(test.name.to_owned());
            }
        }
    }

    /// The end of the run: the failures and `test result: ...`. Returns whether every test
    /// passed.
    pub(crate) fn run_finish(&mut self) -> bool {
        let elapsed = self.started.elapsed();
        let text = match self.format {
            Format::Pretty | Format::Terse => {
                let terse = self.format == Format::Terse;
                pretty::finish(&self.tally, elapsed, terse, self.palette.as_ref())
            }
            Format::Json => json::suite_finished(&self.tally, elapsed),
            Format::Junit => junit::document(&self.tally, std::mem::take(&mut self.junit)),
        };
        self.write(&text);
        self.tally.failed == 0
    }

    /// ` <0.012s>` under `--report-time`, coloured past the warning and the critical time.
    fn time_text(&self, time: Duration) -> String {
        let Some(limits) = self.time_limits else {
            return String::new();
        };
        let text = format!(" <{:.3}s>", time.as_secs_f64());
        if time >= limits.critical {
            paint(&text, Colour::Red, self.palette.as_ref())
        } else if time >= limits.warn {
            paint(&text, Colour::Yellow, self.palette.as_ref())
        } else {
            text
        }
    }

    /// `--logfile`: a line per result, as libtest writes it.
    fn log_result(&mut self, test: TestName<'_>, finished: &Finished) {
        let Some(log) = &mut self.log else {
            return;
        };
        let verdict = match (&finished.outcome, test.ignore_message()) {
            (Outcome::Passed, _) => "ok".to_owned(),
            (Outcome::Failed(_), _) => "failed".to_owned(),
            (Outcome::TimeLimitExceeded, _) => "failed (time limit exceeded)".to_owned(),
            (Outcome::Ignored, Some(message)) => format!("ignored: {message}"),
            (Outcome::Ignored, None) => "ignored".to_owned(),
        };
        let ran = !matches!(finished.outcome, Outcome::Ignored);
        let time = match self.time_limits {
            Some(_) if ran => format!(" <{:.3}s>", finished.time.as_secs_f64()),
            _ => String::new(),
        };
        let _ = writeln!(log, "{verdict} {}{time}", test.name);
    }

    fn write(&mut self, text: &str) {
        let mut out = self.out.lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

/// `--logfile PATH`: created as libtest creates it, with libtest's warning that it is deprecated.
fn open_log(path: Option<&Path>) -> Option<File> {
    let path = path?;
    // libtest's words, and its missing newline.
    eprint!("warning: `--logfile` is deprecated");
    match File::create(path) {
        Ok(file) => Some(file),
        Err(error) => crate::report::config_error(&format!(
            "could not create the log file {}: {error}",
            path.display()
        )),
    }
}
