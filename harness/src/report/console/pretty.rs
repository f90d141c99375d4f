//! libtest's `pretty` format (and the end of `terse`, which is the same): a line per test, the
//! failures with what is said of each, and `test result: ...`.

use std::time::Duration;

use super::tally::Tally;
use super::terminfo::{paint, Colour, Palette};
use super::{
    interruption_text, time_text, ConsoleResult, Interruption, Outcome, OutputFormatter, RunStart,
    TestName, TimeLimits,
};

/// libtest's `pretty` format.
pub(super) struct Pretty {
    palette: Option<Palette>,
    /// More than one test thread: `test NAME ... ` is written with the result, not when the
    /// test starts.
    multithreaded: bool,
    time_limits: Option<TimeLimits>,
}

impl Pretty {
    pub(super) fn new(
        palette: Option<Palette>,
        multithreaded: bool,
        time_limits: Option<TimeLimits>,
    ) -> Self {
        Self {
            palette,
            multithreaded,
            time_limits,
        }
    }
}

impl OutputFormatter for Pretty {
    fn run_start(&mut self, start: &RunStart) -> String {
        running(start)
    }

    /// At one test thread, the open `test NAME ... ` line, where a hang is seen.
    fn test_start(&mut self, test: TestName<'_>) -> String {
        match self.multithreaded {
            true => String::new(),
            false => name(test),
        }
    }

    fn result(&mut self, test: TestName<'_>, result: &ConsoleResult) -> String {
        let name = match self.multithreaded {
            true => name(test),
            false => String::new(),
        };
        let palette = self.palette.as_ref();
        let text = outcome(&result.outcome, test.ignore_message(), palette);
        let time = match (result.time, self.time_limits) {
            (Some(time), Some(limits)) => time_text(time, limits, palette),
            _ => String::new(),
        };
        format!("{name}{text}{time}\n")
    }

    fn run_finish(&mut self, tally: &Tally, elapsed: Duration) -> String {
        finish(tally, elapsed, false, self.palette.as_ref())
    }

    fn interrupted(&mut self, tally: &Tally, interruption: &Interruption) -> String {
        interruption_text(tally, interruption, !self.multithreaded)
    }
}

/// `running N tests`, with the shuffle's seed, before the first (pretty and terse).
pub(super) fn running(start: &RunStart) -> String {
    let total = start.total;
    let noun = if total == 1 { "test" } else { "tests" };
    let seed =
        (start.shuffle_seed).map_or_else(String::new, |seed| format!(" (shuffle seed: {seed})"));
    format!("\nrunning {total} {noun}{seed}\n")
}

/// `test NAME ... `, or `test NAME - should panic ... `.
fn name(test: TestName<'_>) -> String {
    format!("test {}{} ... ", test.name, test.mode())
}

/// `ok`, `FAILED`, `ignored, REASON`, `FAILED (time limit exceeded)`, each in its colour as a
/// whole, as libtest writes it.
fn outcome(outcome: &Outcome, ignore_message: Option<&str>, palette: Option<&Palette>) -> String {
    match (outcome, ignore_message) {
        (Outcome::Passed, _) => paint("ok", Colour::Green, palette),
        (Outcome::Failed(_), _) => paint("FAILED", Colour::Red, palette),
        (Outcome::TimeLimitExceeded, _) => {
            paint("FAILED (time limit exceeded)", Colour::Red, palette)
        }
        (Outcome::Ignored, Some(message)) => {
            paint(&format!("ignored, {message}"), Colour::Yellow, palette)
        }
        (Outcome::Ignored, None) => paint("ignored", Colour::Yellow, palette),
    }
}

/// The end of the run, as libtest's pretty and terse formats write it: under `--show-output`
/// the successes, then each failure under `---- NAME ----` (with what isolated-test says of it),
/// the tests over their time limit (pretty only), and the summary line.
pub(super) fn finish(
    tally: &Tally,
    elapsed: Duration,
    terse: bool,
    palette: Option<&Palette>,
) -> String {
    let mut text = String::new();
    if let Some(successes) = &tally.successes {
        let names = successes.iter().map(|(name, _)| name.as_str());
        let mut entries = String::new();
        for (name, output) in successes.iter().filter(|(_, output)| !output.is_empty()) {
            entries.push_str(&format!("---- {name} stdout ----\n{output}\n"));
        }
        section(&mut text, "successes", &entries, names);
    }
    if !tally.failures.is_empty() {
        let names = tally.failures.iter().map(|(name, _)| name.as_str());
        let mut entries = String::new();
        for (name, failed) in &tally.failures {
            entries.push_str(&format!("---- {name} ----\n{}\n\n", failed.message));
        }
        section(&mut text, "failures", &entries, names);
    }
    if !tally.time_failures.is_empty() && !terse {
        let names = tally.time_failures.iter().map(String::as_str);
        section(&mut text, "failures (time limit exceeded)", "", names);
    }
    let verdict = if tally.failed == 0 {
        paint("ok", Colour::Green, palette)
    } else {
        paint("FAILED", Colour::Red, palette)
    };
    text.push_str(&format!(
        "\ntest result: {verdict}. {} passed; {} failed; {} ignored; 0 measured; {} filtered out; finished in {:.2}s\n\n",
        tally.passed,
        tally.failed,
        tally.ignored,
        tally.filtered_out,
        elapsed.as_secs_f64(),
    ));
    // libtest's terse word on a run of one test that was ignored: why.
    if let (true, 1, Some((name, message))) = (terse, tally.total, &tally.lone_ignored) {
        text.push_str(&format!("test: {name}, ignore_message: {message}\n\n"));
    }
    text
}

/// libtest's section of results: `TITLE:`, the entries after a blank line (if any), then
/// `TITLE:` again and the names, sorted.
fn section<'a>(
    text: &mut String,
    title: &str,
    entries: &str,
    names: impl Iterator<Item = &'a str>,
) {
    text.push_str(&format!("\n{title}:\n"));
    if !entries.is_empty() {
        text.push('\n');
        text.push_str(entries);
    }
    text.push_str(&format!("\n{title}:\n"));
    let mut names: Vec<&str> = names.collect();
    names.sort_unstable();
    for name in names {
        text.push_str(&format!("    {name}\n"));
    }
}
