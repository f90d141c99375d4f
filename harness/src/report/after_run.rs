//! The notes after libtest's summary: every passing test's memory where asked, the tests that
//! passed only on a retry, what leak checks let pass or found still reachable, the processes
//! killed for escaping a test's process group, and tests whose leaks went unchecked.

use std::collections::HashMap;
use std::io::{self, Write};

use ::console::style;

use super::event::{Event, LeftBehind, Sink, TestEnd};
use super::memory::MemoryFigures;
use super::pass_notes::{Flaky, PassNote, SaidOfPass};
use crate::outcome::Escapee;

/// The sink that gathers the notes while the run goes, and prints them when it ends.
pub(crate) struct AfterRun {
    /// Every passing test's memory is shown (`ISOLATED_TEST_REPORT=memory`, `--show-output`).
    show_memory: bool,
    /// stdout carries JSON or XML for a tool: the notes go to stderr.
    to_stderr: bool,
    /// Passing tests with something to say of their heap.
    notes: Vec<(String, PassNote)>,
    /// How many tests passed without a leak check.
    unchecked: usize,
    /// Processes that escaped a test's process group, killed.
    escapees: Vec<Escapee>,
    /// Which test said it left which process.
    left_by: HashMap<i32, String>,
    /// Tests that passed only on a retry.
    flaky: Vec<Flaky>,
    /// Each passing test's memory, where every test's is shown.
    memory: Vec<(String, MemoryFigures)>,
}

impl AfterRun {
    pub(crate) fn new(show_memory: bool, to_stderr: bool) -> Self {
        Self {
            show_memory,
            to_stderr,
            notes: Vec::new(),
            unchecked: 0,
            escapees: Vec::new(),
            left_by: HashMap::new(),
            flaky: Vec::new(),
            memory: Vec::new(),
        }
    }

    fn left_behind(&mut self, left: &LeftBehind<'_>) {
        self.escapees.extend(left.escapees.iter().cloned());
        for &pid in left.descendants {
            self.left_by.insert(pid, left.case.full_name());
        }
    }

    /// Everything said after the summary.
    fn print(&self) {
        let mut out: Box<dyn Write> = match self.to_stderr {
            true => Box::new(io::stderr().lock()),
            false => Box::new(io::stdout().lock()),
        };
        self.print_memory(&mut *out);
        self.print_flaky(&mut *out);
        for (name, note) in &self.notes {
            let note_label = style("note:").yellow().bold();
            let _ = writeln!(out, "{note_label} {name} {}", note.text());
        }
        self.print_escapees(&mut *out);
        if self.unchecked > 0 {
            let _ = writeln!(
                out,
                "{} leak check unavailable for {} test{}: no counting allocator is installed (end the test file with `isolated_test::main!();`)",
                style("warning:").yellow().bold(),
                self.unchecked,
                if self.unchecked == 1 { "" } else { "s" },
            );
        }
        let _ = out.flush();
    }

    fn print_memory(&self, out: &mut dyn Write) {
        if self.memory.is_empty() {
            return;
        }
        let _ = writeln!(out, "memory of the tests that passed:");
        for (name, figures) in &self.memory {
            let line = figures.line().unwrap_or_default();
            let line = line.strip_prefix("memory: ").unwrap_or(&line);
            let _ = writeln!(out, "    {name}: {line}");
        }
        let _ = writeln!(out);
    }

    fn print_flaky(&self, out: &mut dyn Write) {
        for flaky in &self.flaky {
            let label = style("FLAKY").yellow().bold().to_string();
            let _ = out.write_all(flaky.lines(&label).as_bytes());
        }
        if !self.flaky.is_empty() {
            let count = self.flaky.len();
            let _ = writeln!(
                out,
                "{} {count} flaky test{} passed only on a retry",
                style("flaky:").yellow().bold(),
                if count == 1 { "" } else { "s" },
            );
        }
    }

    fn print_escapees(&self, out: &mut dyn Write) {
        for Escapee { pid, command } in &self.escapees {
            let warning = style("warning:").yellow().bold();
            let _ = match self.left_by.get(pid) {
                Some(name) => writeln!(
                    out,
                    "{warning} {name} left process {pid} ({command}) running outside its process group; it was killed"
                ),
                None => writeln!(
                    out,
                    "{warning} process {pid} ({command}) escaped the process group of a test; it was killed"
                ),
            };
        }
    }
}

impl Sink for AfterRun {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::ChildLeft(left) => self.left_behind(left),
            Event::TestFinished(test, result) => {
                let TestEnd::Passed(passed) = &result.end else {
                    return;
                };
                let name = test.case.full_name();
                let said = SaidOfPass::of(&name, passed, self.show_memory);
                self.unchecked += usize::from(said.unchecked);
                self.flaky.extend(said.flaky);
                (self.notes).extend(said.notes.into_iter().map(|note| (name.clone(), note)));
                if self.show_memory && result.captured.memory.line().is_some() {
                    self.memory.push((name, result.captured.memory));
                }
            }
            Event::Interrupted(interruption) => {
                self.escapees.extend(interruption.escapees.iter().cloned());
                self.print();
            }
            Event::RunFinished(end) => {
                self.escapees.extend(end.escapees.iter().cloned());
                self.print();
            }
            _ => {}
        }
    }
}
