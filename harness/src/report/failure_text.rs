//! What is said of a failed test: its reason, the evidence under it (where a hung test was
//! stuck, where leaked blocks came from), its memory figures and its captured output.

use ::console::style;

use super::memory::Captured;
use super::reasons;
use crate::outcome::CapturedStream;
use crate::registry::Source;
use crate::symbols::Frame;
use crate::verdict::{Failure, LeakSiteSearch};

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

    /// All that is said of the failure, as plain text (JSON's message, JUnit's failure text):
    /// the reason, the evidence and the memory line.
    pub(crate) fn details(&self, captured: &Captured) -> String {
        std::iter::once(self.failure.to_string())
            .chain(self.evidence())
            .chain(captured.memory.line())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The text the console prints under `---- NAME ----`: the reason, the evidence, the
    /// memory figures, then the captured output.
    pub(crate) fn message(&self, captured: &Captured) -> String {
        let mut message = style(self.failure.to_string()).red().bold().to_string();
        for line in self.evidence() {
            message.push('\n');
            message.push_str(&line);
        }
        if let Some(line) = captured.memory.line() {
            message.push('\n');
            message.push_str(&style(line).dim().to_string());
        }
        let output = sections(&captured.stdout, &captured.stderr);
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
