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

/// The end of the run, as libtest's pretty and terse formats write it: under `--show-output`
/// the successes, then each failure under `---- NAME ----` (with what isolated-test says of it),
/// the tests over their time limit (pretty only), and the summary line.
pub(super) fn finish(tally: &Tally, elapsed: Duration, terse: bool, colour: bool) -> String {
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
