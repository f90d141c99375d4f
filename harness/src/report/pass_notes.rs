//! What isolated-test says of a passing test beyond libtest's `ok`: that it passed only on a
//! retry, what its leak check let pass or found still reachable. The notes after the run print
//! it; libtest's JSON carries it in the test's `stdout`.

use super::event::Passed;
use super::reasons;
use crate::outcome::LeakTally;
use crate::size;
use crate::verdict::{Failure, Note, LARGE_GROWTH};

/// What is said of one passing test.
pub(crate) struct SaidOfPass {
    /// It passed only on a retry.
    pub(crate) flaky: Option<Flaky>,
    pub(crate) notes: Vec<PassNote>,
    /// No counting allocator was installed: its leak check could not be done.
    pub(crate) unchecked: bool,
}

/// What a passing test's heap did that is worth a note.
pub(crate) enum PassNote {
    /// What `allow_leaks` let pass, or growth a second run did not reproduce.
    Leak(Note),
    /// What it left still reachable, with where from.
    StillReachable(LeakTally),
}

/// A test that failed, then passed when run again.
pub(crate) struct Flaky {
    pub(crate) name: String,
    /// How many runs it was allowed.
    pub(crate) attempts: usize,
    /// Why each run before the passing one failed.
    pub(crate) failures: Vec<Failure>,
}

impl SaidOfPass {
    /// What is said of test `name`, which `passed`. Still reachable memory is said where it is
    /// large, or where every test's memory is shown (`show_memory`).
    pub(crate) fn of(name: &str, passed: &Passed, show_memory: bool) -> Self {
        let mut notes = Vec::new();
        let mut unchecked = false;
        match &passed.note {
            Some(Note::LeakCheckUnavailable) => unchecked = true,
            Some(note) => notes.push(PassNote::Leak(note.clone())),
            None => {}
        }
        if let Some(tally) = &passed.still_reachable {
            if !tally.sites.is_empty() && (show_memory || tally.bytes >= LARGE_GROWTH) {
                notes.push(PassNote::StillReachable(tally.clone()));
            }
        }
        let flaky = (!passed.earlier_failures.is_empty()).then(|| Flaky {
            name: name.to_owned(),
            attempts: passed.attempts,
            failures: passed.earlier_failures.clone(),
        });
        Self {
            flaky,
            notes,
            unchecked,
        }
    }

    /// As plain lines (`FLAKY ...`, `note: NAME ...`), for JSON's event.
    pub(crate) fn plain_lines(&self, name: &str) -> String {
        let mut said = match &self.flaky {
            Some(flaky) => flaky.lines("FLAKY"),
            None => String::new(),
        };
        for note in &self.notes {
            said.push_str(&format!("note: {name} {}\n", note.text()));
        }
        said
    }
}

impl PassNote {
    /// What is said after `note: NAME `.
    pub(crate) fn text(&self) -> String {
        match self {
            PassNote::Leak(note) => note.to_string(),
            PassNote::StillReachable(tally) => {
                let mut lines = vec![format!(
                    "left {} still reachable (not a leak), from:",
                    size::format(tally.bytes)
                )];
                reasons::site_lines(&tally.sites, &mut lines);
                lines.join("\n")
            }
        }
    }
}

impl Flaky {
    /// `LABEL NAME passed on attempt 2 of 3`, then why each earlier attempt failed.
    pub(crate) fn lines(&self, label: &str) -> String {
        let mut text = format!(
            "{label} {} passed on attempt {} of {}\n",
            self.name,
            self.failures.len() + 1,
            self.attempts,
        );
        for (attempt, reason) in self.failures.iter().enumerate() {
            text.push_str(&format!("    attempt {}: {reason}\n", attempt + 1));
        }
        text
    }
}
