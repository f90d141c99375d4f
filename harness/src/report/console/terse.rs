//! libtest's `terse` format (`-q`): a character per test, 87 to a line with the count so far,
//! and each failure on a line of its own, named.

use std::time::Duration;

use super::pretty::{finish, running};
use super::tally::Tally;
use super::terminfo::{paint, Colour, Palette};
use super::TestName;
use super::{interruption_text, ConsoleResult, Interruption, Outcome, OutputFormatter, RunStart};

/// libtest's `terse` format.
pub(super) struct Terse {
    palette: Option<Palette>,
    marks: Marks,
}

impl Terse {
    pub(super) fn new(palette: Option<Palette>) -> Self {
        Self {
            palette,
            marks: Marks::default(),
        }
    }
}

impl OutputFormatter for Terse {
    fn run_start(&mut self, start: &RunStart) -> String {
        self.marks.total = start.total;
        running(start)
    }

    fn result(&mut self, test: TestName<'_>, result: &ConsoleResult) -> String {
        (self.marks).result(test.name, &result.outcome, self.palette.as_ref())
    }

    fn run_finish(&mut self, tally: &Tally, elapsed: Duration) -> String {
        finish(tally, elapsed, true, self.palette.as_ref())
    }

    fn interrupted(&mut self, tally: &Tally, interruption: &Interruption) -> String {
        interruption_text(tally, interruption, false)
    }
}

/// Where the marks stand.
#[derive(Default)]
struct Marks {
    total: usize,
    done: usize,
    column: usize,
}

/// libtest ends a line of marks at this column, so that the count still fits in 100.
const MAX_COLUMN: usize = 88;

impl Marks {
    /// The text for one result: a mark (`.`, `i`), or a failure's own line.
    fn result(&mut self, name: &str, outcome: &Outcome, palette: Option<&Palette>) -> String {
        match outcome {
            Outcome::Passed => self.mark(paint(".", Colour::Green, palette)),
            Outcome::Ignored => self.mark(paint("i", Colour::Yellow, palette)),
            Outcome::Failed(_) | Outcome::TimeLimitExceeded => {
                // After the marks so far, unless the line is empty.
                let mut text = if self.column == 0 {
                    String::new()
                } else {
                    self.progress()
                };
                self.done += 1;
                text.push_str(&format!(
                    "{name} --- {}\n",
                    paint("FAILED", Colour::Red, palette)
                ));
                text
            }
        }
    }

    fn mark(&mut self, mark: String) -> String {
        self.done += 1;
        self.column += 1;
        if self.column % MAX_COLUMN == MAX_COLUMN - 1 {
            mark + &self.progress()
        } else {
            mark
        }
    }

    /// ` 87/208` and the end of the line.
    fn progress(&mut self) -> String {
        self.column = 0;
        format!(" {}/{}\n", self.done, self.total)
    }
}
