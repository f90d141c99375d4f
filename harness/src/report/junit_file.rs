//! `ISOLATED_TEST_JUNIT` (or Bazel's `XML_OUTPUT_FILE`): the JUnit report written to a file
//! when the run ends, or is interrupted, with every selected test in it.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ::console::style;

use super::event::{Event, Sink, TestEnd, TestResult};
use super::junit::{self, JunitCase, JunitOutcome, JunitReport};
use super::memory::Captured;

/// The sink that gathers a case per test and writes the file at the end.
pub(crate) struct JunitFile {
    path: PathBuf,
    started_at: SystemTime,
    cases: Vec<JunitCase>,
    /// The selected tests reported as ignored, written as skipped cases.
    ignored: Vec<String>,
}

impl JunitFile {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            started_at: SystemTime::now(),
            cases: Vec::new(),
            ignored: Vec::new(),
        }
    }

    fn case(&mut self, name: String, result: &TestResult) {
        let outcome = match &result.end {
            TestEnd::Passed(passed) if passed.earlier_failures.is_empty() => JunitOutcome::Passed,
            TestEnd::Passed(passed) => JunitOutcome::Flaky {
                failures: (passed.earlier_failures.iter())
                    .map(ToString::to_string)
                    .collect(),
            },
            // The reason alone as the message; all that was said of the failure as its text
            // (captured output has elements of its own).
            TestEnd::Failed(report) => JunitOutcome::Failed {
                message: report.failure.to_string(),
                details: report.details(&result.captured),
            },
            // Written at the end, with the rest of the ignored tests.
            TestEnd::Ignored => return,
        };
        self.cases.push(junit_case(name, outcome, result));
    }

    /// Writes the report, with the ignored tests, whether the run ended or was interrupted.
    fn write(&mut self, elapsed: std::time::Duration) {
        let mut cases = std::mem::take(&mut self.cases);
        let ignored = TestResult::ignored();
        for name in self.ignored.drain(..) {
            cases.push(junit_case(name, JunitOutcome::Ignored, &ignored));
        }
        cases.sort_by(|a, b| a.name.cmp(&b.name));
        let report = JunitReport {
            suite: suite_name(),
            started: self.started_at,
            time: elapsed,
            cases,
        };
        // `%p` names one file per process: cargo-nextest runs a process per test.
        let path = PathBuf::from(
            (self.path.to_string_lossy()).replace("%p", &std::process::id().to_string()),
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

impl Sink for JunitFile {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::RunStarted(start) => self.ignored = start.ignored.clone(),
            Event::TestFinished(test, result) => self.case(test.case.full_name(), result),
            Event::Interrupted(interruption) => self.write(interruption.elapsed),
            Event::RunFinished(end) => self.write(end.elapsed),
            _ => {}
        }
    }

    /// Every test case carries its output.
    fn shows_passing_output(&self) -> bool {
        true
    }
}

fn junit_case(name: String, outcome: JunitOutcome, result: &TestResult) -> JunitCase {
    let Captured {
        memory,
        stdout,
        stderr,
    } = &result.captured;
    JunitCase {
        name,
        outcome,
        time: result.time,
        stdout: stdout.text(),
        stderr: stderr.text(),
        properties: memory.properties(),
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
