//! libtest's `pretty` format (and the end of `terse`, which is the same): a line per test, the
//! failures with what is said of each, and `test result: ...`.

use std::time::Duration;

use ::console::Style;

use super::{paint, Outcome, Tally, TestName};

/// `test NAME ... `, or `test NAME - should panic ... `.
pub(super) fn name(test: TestName<'_>) -> String {
    format!("test {}{} ... ", test.name, test.mode())
}

/// `ok`, `FAILED`, `ignored, REASON`, `FAILED (time limit exceeded)`.
pub(super) fn result(outcome: &Outcome, ignore_message: Option<&str>, colour: bool) -> String {
    match outcome {
        Outcome::Passed => paint("ok", Style::new().green(), colour),
        Outcome::Failed(_) => paint("FAILED", Style::new().red(), colour),
        Outcome::TimeLimitExceeded => {
            paint("FAILED (time limit exceeded)", Style::new().red(), colour)
        }
        Outcome::Ignored => {
            let ignored = paint("ignored", Style::new().yellow(), colour);
            match ignore_message {
                Some(message) => format!("{ignored}, {message}"),
                None => ignored,
            }
        }
    }
}

/// The end of the run: each failure under `---- NAME ----`, the tests over their time limit,
/// and the summary line.
pub(super) fn finish(tally: &Tally, elapsed: Duration, colour: bool) -> String {
    let mut text = String::new();
    if !tally.failures.is_empty() {
        text.push_str("\nfailures:\n\n");
        for (name, failed) in &tally.failures {
            text.push_str(&format!("---- {name} ----\n{}\n\n", failed.message));
        }
        text.push_str("\nfailures:\n");
        for (name, _) in &tally.failures {
            text.push_str(&format!("    {name}\n"));
        }
    }
    if !tally.time_failures.is_empty() {
        text.push_str("\nfailures (time limit exceeded):\n");
        text.push_str("\nfailures (time limit exceeded):\n");
        for name in &tally.time_failures {
            text.push_str(&format!("    {name}\n"));
        }
    }
    let verdict = if tally.failed == 0 {
        paint("ok", Style::new().green(), colour)
    } else {
        paint("FAILED", Style::new().red(), colour)
    };
    text.push_str(&format!(
        "\ntest result: {verdict}. {} passed; {} failed; {} ignored; 0 measured; {} filtered out; finished in {:.2}s\n\n",
        tally.passed,
        tally.failed,
        tally.ignored,
        tally.filtered_out,
        elapsed.as_secs_f64(),
    ));
    // libtest's word on a run of one test that was ignored: why.
    if let (1, Some((name, message))) = (tally.total, &tally.lone_ignored) {
        text.push_str(&format!("test: {name}, ignore_message: {message}\n\n"));
    }
    text
}
