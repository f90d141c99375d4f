//! libtest's notice that a test has been running for over a minute (or the run's `slow_after`),
//! followed by where its thread is: with no timeout, this is where the user of a test that hangs
//! learns where it is.

use std::io::{self, Write};
use std::time::Duration;

use super::event::{Event, Sink};
use super::reasons;
use crate::registry::TestCase;
use crate::symbols::Frame;

/// The sink that says which test runs long.
pub(crate) struct SlowNotice {
    after: Duration,
    /// libtest's pretty format at one test thread: `test NAME ... ` is open on the line.
    line_open: bool,
}

impl SlowNotice {
    pub(crate) fn new(after: Duration, line_open: bool) -> Self {
        Self { after, line_open }
    }

    /// On stderr: on stdout it would split the `test NAME ... ok` line that tools parse. Where
    /// that line is open, the notice starts a line of its own.
    fn say(&self, case: &TestCase, at: &[Frame]) {
        let seconds = self.after.as_secs();
        let span = if self.after == Duration::from_secs(seconds) {
            format!("{seconds} second{}", if seconds == 1 { "" } else { "s" })
        } else {
            humantime::format_duration(self.after).to_string()
        };
        let newline = if self.line_open { "\n" } else { "" };
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

impl Sink for SlowNotice {
    fn event(&mut self, event: &Event<'_>) {
        if let Event::Slow { case, at } = event {
            self.say(case, at);
        }
    }
}
