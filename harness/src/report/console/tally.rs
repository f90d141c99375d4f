//! What the console counted so far: libtest's `test result:` line and the sections before it.

use super::{ConsoleResult, Failed, Outcome, RunStart, TestName};

/// What the run counted so far.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) passed: usize,
    pub(crate) failed: usize,
    pub(crate) ignored: usize,
    pub(crate) total: usize,
    pub(crate) filtered_out: usize,
    /// Failed tests and what is said of each, in the order they ran.
    pub(crate) failures: Vec<(String, Failed)>,
    /// Tests over their time limit under `--ensure-time`.
    pub(crate) time_failures: Vec<String>,
    /// The one test of a run of one that is ignored, with its reason.
    pub(crate) lone_ignored: Option<(String, &'static str)>,
    /// Under `--show-output`, each passed test and its output, in the order they ran.
    pub(crate) successes: Option<Vec<(String, String)>>,
}

impl Tally {
    /// `show_output`: the passed tests' output is kept, for libtest's `successes:` section.
    pub(super) fn new(show_output: bool) -> Self {
        Self {
            successes: show_output.then(Vec::new),
            ..Self::default()
        }
    }

    pub(super) fn started(&mut self, start: &RunStart) {
        self.total = start.total;
        self.filtered_out = start.filtered_out;
    }

    /// Counts a result; a passing test's output is kept where `--show-output` shows it.
    pub(super) fn count(&mut self, test: TestName<'_>, result: ConsoleResult) {
        match result.outcome {
            Outcome::Passed => {
                self.passed += 1;
                if let Some(successes) = &mut self.successes {
                    successes.push((test.name.to_owned(), result.output));
                }
            }
            Outcome::Ignored => {
                self.ignored += 1;
                if let Some(message) = test.ignore_message() {
                    self.lone_ignored = Some((test.name.to_owned(), message));
                }
            }
            Outcome::Failed(failed) => {
                self.failed += 1;
                self.failures.push((test.name.to_owned(), failed));
            }
            Outcome::TimeLimitExceeded => {
                self.failed += 1;
                self.time_failures.push(test.name.to_owned());
            }
        }
    }
}
