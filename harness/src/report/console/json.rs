//! libtest's `json` format (`-Z unstable-options --format json`), event for event and field for
//! field, as editors read it; a failure's `message` carries the reason and what backs it.

use std::fmt::{self, Display, Write};
use std::time::Duration;

use super::tally::Tally;
use super::TestName;
use super::{interruption_text, ConsoleResult, Interruption, Outcome, OutputFormatter, RunStart};

/// libtest's `json` format.
pub(super) struct Json {
    /// `--show-output`: a passing test's output is in its event.
    show_output: bool,
}

impl Json {
    pub(super) fn new(show_output: bool) -> Self {
        Self { show_output }
    }
}

impl OutputFormatter for Json {
    fn run_start(&mut self, start: &RunStart) -> String {
        suite_started(start.total, start.shuffle_seed)
    }

    fn test_start(&mut self, test: TestName<'_>) -> String {
        test_started(test.name)
    }

    fn result(&mut self, test: TestName<'_>, result: &ConsoleResult) -> String {
        test_result(test, result, self.show_output)
    }

    fn run_finish(&mut self, tally: &Tally, elapsed: Duration) -> String {
        suite_finished(tally, elapsed)
    }

    /// Only JSON lines on stdout: the closing lines go to stderr.
    fn interrupted(&mut self, tally: &Tally, interruption: &Interruption) -> String {
        eprint!("{}", interruption_text(tally, interruption, false));
        String::new()
    }
}

fn suite_started(total: usize, seed: Option<u64>) -> String {
    let seed = seed.map_or_else(String::new, |seed| format!(", \"shuffle_seed\": {seed}"));
    format!("{{ \"type\": \"suite\", \"event\": \"started\", \"test_count\": {total}{seed} }}\n")
}

fn test_started(name: &str) -> String {
    format!(
        "{{ \"type\": \"test\", \"event\": \"started\", \"name\": \"{}\" }}\n",
        JsonText(name)
    )
}

/// A test's event: its time under `--report-time`, its captured output where it failed (or
/// under `--show-output`) followed by isolated-test's notes on it, and the failure's message or
/// the ignore's reason.
fn test_result(test: TestName<'_>, finished: &ConsoleResult, show_output: bool) -> String {
    let event = match finished.outcome {
        Outcome::Passed => "ok",
        Outcome::Failed(_) | Outcome::TimeLimitExceeded => "failed",
        Outcome::Ignored => "ignored",
    };
    let mut line = format!(
        "{{ \"type\": \"test\", \"name\": \"{}\", \"event\": \"{event}\"",
        JsonText(test.name)
    );
    if let Some(time) = finished.time {
        let _ = write!(line, ", \"exec_time\": {}", time.as_secs_f64());
    }
    let shown = show_output || !matches!(finished.outcome, Outcome::Passed);
    let output = if shown { finished.output.as_str() } else { "" };
    if !(output.is_empty() && finished.notes.is_empty()) {
        let stdout = format!("{output}{}", finished.notes);
        let _ = write!(line, ", \"stdout\": \"{}\"", JsonText(&stdout));
    }
    match (&finished.outcome, test.ignore_message()) {
        (Outcome::Failed(failed), _) => {
            let _ = write!(line, ", \"message\": \"{}\"", JsonText(&failed.details));
        }
        (Outcome::TimeLimitExceeded, _) => line.push_str(", \"reason\": \"time limit exceeded\""),
        (Outcome::Ignored, Some(message)) => {
            let _ = write!(line, ", \"message\": \"{}\"", JsonText(message));
        }
        _ => {}
    }
    line.push_str(" }\n");
    line
}

fn suite_finished(tally: &Tally, elapsed: Duration) -> String {
    format!(
        "{{ \"type\": \"suite\", \"event\": \"{}\", \"passed\": {}, \"failed\": {}, \"ignored\": {}, \"measured\": 0, \"filtered_out\": {}, \"exec_time\": {} }}\n",
        if tally.failed == 0 { "ok" } else { "failed" },
        tally.passed,
        tally.failed,
        tally.ignored,
        tally.filtered_out,
        elapsed.as_secs_f64(),
    )
}

/// A string inside JSON quotes, escaped as libtest escapes it.
pub(super) struct JsonText<'a>(pub(super) &'a str);

impl Display for JsonText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\u{8}' => f.write_str("\\b")?,
                '\t' => f.write_str("\\t")?,
                '\n' => f.write_str("\\n")?,
                '\u{c}' => f.write_str("\\f")?,
                '\r' => f.write_str("\\r")?,
                c if c < ' ' || c == '\u{7f}' => write!(f, "\\u{:04x}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}
