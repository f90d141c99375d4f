//! libtest's `terse` format (`-q`): a character per test, 87 to a line with the count so far,
//! and each failure on a line of its own, named.

use super::terminfo::{paint, Colour, Palette};
use super::Outcome;

/// Where the marks stand.
#[derive(Default)]
pub(super) struct Progress {
    pub(super) total: usize,
    done: usize,
    column: usize,
}

/// libtest ends a line of marks at this column, so that the count still fits in 100.
const MAX_COLUMN: usize = 88;

impl Progress {
    /// The text for one result: a mark (`.`, `i`), or a failure's own line.
    pub(super) fn result(
        &mut self,
        name: &str,
        outcome: &Outcome,
        palette: Option<&Palette>,
    ) -> String {
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
