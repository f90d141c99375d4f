//! Reading libtest-style output (as libtest and isolated-test print it) into plain data.

use std::collections::BTreeMap;

/// What a suite printed on stdout, parsed. Built from text with colour already stripped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// `N` from `running N tests`.
    pub running: Option<usize>,
    /// Every `test NAME ... VERDICT` line in order, as (name, verdict), the name's padding
    /// removed. Under `--nocapture` a test's own output can land between `...` and the verdict;
    /// then the verdict is whatever followed `... ` on that line.
    pub verdicts: Vec<(String, String)>,
    /// Each `---- NAME ----` entry of the failures section.
    pub failures: BTreeMap<String, Failure>,
    pub summary: Option<Summary>,
    /// Each `---- NAME stdout ----` entry of the `successes:` section that `--show-output` adds
    /// before the failures, as libtest does: what the test printed, stdout then stderr.
    pub successes: BTreeMap<String, String>,
    /// Non-empty lines after the summary: notes and warnings.
    pub after_summary: Vec<String>,
}

/// One entry of the failures section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Failure {
    /// The first line under `---- NAME ----`.
    pub reason: String,
    /// Every line before the captured output: a panic message may span several.
    pub reason_lines: Vec<String>,
    pub output: Output,
}

/// Captured output as shown under `--- stdout ---` and `--- stderr ---`; `None` when the
/// heading is absent (the harness leaves out empty streams).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: Option<String>,
    pub stderr: Option<String>,
}

/// The `test result: ...` line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// `ok` rather than `FAILED`.
    pub ok: bool,
    pub passed: usize,
    pub failed: usize,
    pub ignored: usize,
    pub filtered_out: usize,
}

const STDOUT_HEADING: &str = "--- stdout ---";
const STDERR_HEADING: &str = "--- stderr ---";

impl Report {
    pub fn parse(text: &str) -> Self {
        let lines: Vec<&str> = text.lines().collect();
        let mut report = Report::default();
        let summary_at = lines
            .iter()
            .position(|line| line.starts_with("test result: "))
            .unwrap_or(lines.len());
        let (run, after) = lines.split_at(summary_at);

        // Verdict lines come before the first `successes:` or `failures:`; each section has its
        // entries between its first heading and its second, which starts the list of names.
        let sections_at = run
            .iter()
            .position(|line| *line == "failures:" || *line == "successes:")
            .unwrap_or(run.len());
        for line in &run[..sections_at] {
            if let Some(count) = line
                .strip_prefix("running ")
                .and_then(|rest| rest.split(' ').next())
            {
                report.running = count.parse().ok();
            } else if let Some(verdict) = parse_verdict_line(line) {
                report.verdicts.push(verdict);
            }
        }
        let sections = &run[sections_at..];
        for (name, body) in section_entries(sections, "successes:") {
            let name = name.strip_suffix(" stdout").unwrap_or(&name).to_owned();
            report.successes.insert(name, body.join("\n"));
        }
        for (name, body) in section_entries(sections, "failures:") {
            report.failures.insert(name, Failure::parse(&body));
        }

        if let Some((summary, rest)) = after.split_first() {
            report.summary = Summary::parse(summary);
            report
                .after_summary
                .extend(non_empty(rest).map(str::to_owned));
        }
        report
    }

    /// The verdict of each test, by name.
    pub fn verdict_map(&self) -> BTreeMap<&str, &str> {
        self.verdicts
            .iter()
            .map(|(name, verdict)| (name.as_str(), verdict.as_str()))
            .collect()
    }
}

fn non_empty<'a>(lines: &'a [&'a str]) -> impl Iterator<Item = &'a str> + 'a {
    lines.iter().copied().filter(|line| !line.trim().is_empty())
}

/// The `---- NAME ... ----` entries of the section headed `heading`, between its first heading
/// and its second.
fn section_entries(lines: &[&str], heading: &str) -> Vec<(String, Vec<String>)> {
    let Some(start) = lines.iter().position(|line| *line == heading) else {
        return Vec::new();
    };
    let entries = &lines[start + 1..];
    let end = entries
        .iter()
        .position(|line| *line == heading)
        .unwrap_or(entries.len());
    entries_of(&entries[..end])
}

/// `test NAME ... VERDICT`, or libtest's `test NAME - should panic ... VERDICT`.
fn parse_verdict_line(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("test ")?;
    let (name, verdict) = rest.split_once(" ... ")?;
    let name = name.trim_end();
    let name = name.strip_suffix(" - should panic").unwrap_or(name);
    Some((name.to_owned(), verdict.trim_end().to_owned()))
}

/// Splits a section into its `---- NAME ----` entries, each with its body lines (trailing blank
/// lines, which only separate entries, removed).
fn entries_of(lines: &[&str]) -> Vec<(String, Vec<String>)> {
    let mut entries: Vec<(String, Vec<String>)> = Vec::new();
    for line in lines {
        let header = line
            .strip_prefix("---- ")
            .and_then(|rest| rest.strip_suffix(" ----"));
        match (header, entries.last_mut()) {
            (Some(name), _) => entries.push((name.to_owned(), Vec::new())),
            (None, Some((_, body))) => body.push((*line).to_owned()),
            (None, None) => {}
        }
    }
    for (_, body) in &mut entries {
        while body.last().is_some_and(|line| line.is_empty()) {
            body.pop();
        }
    }
    entries
}

impl Failure {
    fn parse(body: &[String]) -> Self {
        let output_at = body
            .iter()
            .position(|line| line == STDOUT_HEADING || line == STDERR_HEADING)
            .unwrap_or(body.len());
        Self {
            reason: body.first().cloned().unwrap_or_default(),
            reason_lines: body[..output_at].to_vec(),
            output: Output::parse(&body[output_at..]),
        }
    }
}

impl Output {
    fn parse(lines: &[String]) -> Self {
        let mut stdout: Option<Vec<&str>> = None;
        let mut stderr: Option<Vec<&str>> = None;
        let mut in_stderr = false;
        for line in lines {
            if line == STDOUT_HEADING {
                stdout = Some(Vec::new());
                in_stderr = false;
            } else if line == STDERR_HEADING {
                stderr = Some(Vec::new());
                in_stderr = true;
            } else if let Some(section) = if in_stderr { &mut stderr } else { &mut stdout } {
                section.push(line);
            }
        }
        Output {
            stdout: stdout.map(|lines| lines.join("\n")),
            stderr: stderr.map(|lines| lines.join("\n")),
        }
    }
}

impl Summary {
    /// `test result: ok. 6 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.51s`
    fn parse(line: &str) -> Option<Self> {
        let rest = line.strip_prefix("test result: ")?;
        let (outcome, counts) = rest.split_once(". ")?;
        let mut summary = Summary {
            ok: outcome == "ok",
            ..Summary::default()
        };
        for part in counts.split("; ") {
            let Some((number, what)) = part.split_once(' ') else {
                continue;
            };
            let Ok(number) = number.parse() else {
                continue;
            };
            match what {
                "passed" => summary.passed = number,
                "failed" => summary.failed = number,
                "ignored" => summary.ignored = number,
                "filtered out" => summary.filtered_out = number,
                _ => {}
            }
        }
        Some(summary)
    }
}

/// `text` without ANSI escape sequences (`ESC [ ... final-byte`).
pub fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('\x40'..='\x7e').contains(&c) {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "
running 4 tests
test inner::prints ... ok
test panics        ... FAILED
test quiet         ... ignored
test returns_err   ... FAILED

successes:

---- inner::prints stdout ----
shown
and on stderr


successes:
    inner::prints

failures:

---- panics ----
panicked at examples/demo.rs:25:5: assertion `left == right` failed
  left: 42
 right: 43
--- stdout ---
about to check
--- stderr ---
thread 'main' panicked at examples/demo.rs:25:5:

note: run with `RUST_BACKTRACE=1`

---- returns_err ----
returned an error: \"the disk is full\"


failures:
    panics
    returns_err

test result: FAILED. 1 passed; 2 failed; 1 ignored; 0 measured; 3 filtered out; finished in 0.51s

note: leaks_allowed leaked 1024 bytes in 1 allocation (allowed)
";

    #[test]
    fn parses_verdicts_failures_summary_and_notes() {
        let report = Report::parse(SAMPLE);
        assert_eq!(report.running, Some(4));
        assert_eq!(
            report.verdict_map(),
            BTreeMap::from([
                ("inner::prints", "ok"),
                ("panics", "FAILED"),
                ("quiet", "ignored"),
                ("returns_err", "FAILED"),
            ])
        );
        let panics = &report.failures["panics"];
        assert_eq!(
            panics.reason,
            "panicked at examples/demo.rs:25:5: assertion `left == right` failed"
        );
        assert_eq!(panics.reason_lines.len(), 3);
        assert_eq!(panics.output.stdout.as_deref(), Some("about to check"));
        assert_eq!(
            panics.output.stderr.as_deref(),
            Some("thread 'main' panicked at examples/demo.rs:25:5:\n\nnote: run with `RUST_BACKTRACE=1`")
        );
        let err = &report.failures["returns_err"];
        assert_eq!(err.reason, "returned an error: \"the disk is full\"");
        assert_eq!(err.output, Output::default());
        assert_eq!(
            report.summary,
            Some(Summary {
                ok: false,
                passed: 1,
                failed: 2,
                ignored: 1,
                filtered_out: 3
            })
        );
        assert_eq!(report.successes["inner::prints"], "shown\nand on stderr");
        assert_eq!(
            report.after_summary,
            ["note: leaks_allowed leaked 1024 bytes in 1 allocation (allowed)"]
        );
    }

    #[test]
    fn strips_colour() {
        assert_eq!(
            strip_ansi("\x1b[31m\x1b[1mred\x1b[0m plain \x1b[2m--- stdout ---\x1b[0m"),
            "red plain --- stdout ---"
        );
    }
}
