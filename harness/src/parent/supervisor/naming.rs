//! Naming return addresses a child sent: the symboliser answers, a child of the harness that
//! may take seconds the first time (it loads the binary's debug info). Children that end
//! meanwhile are finished as they end, not left zombies until it answers.

use super::Supervisor;
use crate::outcome::CapturedStream;
use crate::panic_backtrace;
#[cfg(unix)]
use crate::parent::symbolizer::{Question, Symbolizer};
use crate::parent::symbolizer::{RawSymbols, MOST_ASKED};
use crate::symbols::Frame;

impl Supervisor {
    /// The test's own frames among a child's stuck thread's `addresses`, named.
    pub(crate) fn test_frames(&mut self, addresses: &[u64]) -> Vec<Frame> {
        if addresses.is_empty() {
            return Vec::new();
        }
        crate::symbols::test_frames(&self.resolve(addresses)).to_vec()
    }

    /// Names and locates `addresses`, return addresses of this binary as a child saw them.
    #[cfg(unix)]
    pub(crate) fn resolve(&mut self, addresses: &[u64]) -> Vec<Frame> {
        let question = self.symbolizer.ask(addresses);
        self.answer(question, Symbolizer::hear).unwrap_or_default()
    }

    /// The symbols of `addresses` (at most [`MOST_ASKED`]) as the debug info has them.
    #[cfg(unix)]
    fn resolve_raw(&mut self, addresses: &[u64]) -> RawSymbols {
        let question = self.symbolizer.ask_raw(addresses);
        self.answer(question, Symbolizer::hear_raw)
            .unwrap_or_default()
    }

    /// Waits for `question`'s answer, keeping the children going meanwhile.
    #[cfg(unix)]
    fn answer<T>(
        &mut self,
        question: Option<Question>,
        hear: fn(&mut Symbolizer, &mut Question) -> Option<T>,
    ) -> Option<T> {
        self.spare_symbolizer();
        let mut question = question?;
        let answer = loop {
            if let Some(answer) = hear(&mut self.symbolizer, &mut question) {
                break answer;
            }
            self.keep_children_going(question.patience_left());
        };
        self.spare_symbolizer();
        Some(answer)
    }

    /// Replaces the marker lines of panics' backtraces on a child's captured `stderr` by the
    /// backtraces std would have written (see [`panic_backtrace`]).
    pub(crate) fn name_panic_backtraces(&mut self, stderr: &mut CapturedStream) {
        let Some(key) = panic_backtrace::key() else {
            return;
        };
        let mut addresses = Vec::new();
        stderr.for_each_part(|part| addresses.extend(panic_backtrace::marked_addresses(part, key)));
        if addresses.is_empty() {
            return;
        }
        addresses.sort_unstable();
        addresses.dedup();
        let mut symbols = RawSymbols::new();
        for chunk in addresses.chunks(MOST_ASKED) {
            symbols.extend(self.resolve_raw(chunk));
        }
        let symbols_of = |address| symbols.get(&address).map_or(&[][..], Vec::as_slice);
        stderr.rewrite_parts(|part| {
            panic_backtrace::replace_markers(part, key, |marker| {
                panic_backtrace::render_short(&marker.addresses, symbols_of, marker.cwd.as_deref())
            })
        });
    }

    /// Names and locates `addresses`: the harness itself, at once.
    #[cfg(windows)]
    pub(crate) fn resolve(&mut self, addresses: &[u64]) -> Vec<Frame> {
        let frames = self.symbolizer.resolve(addresses);
        self.spare_symbolizer();
        frames
    }

    /// The symbols of `addresses` as the debug info has them: the harness itself, at once.
    #[cfg(windows)]
    fn resolve_raw(&mut self, addresses: &[u64]) -> RawSymbols {
        self.symbolizer.resolve_raw(addresses)
    }

    /// Started or stopped since: never an orphan to sweep, and its pipes no test's business.
    fn spare_symbolizer(&mut self) {
        let fds = self.symbolizer.fds();
        self.spare(self.symbolizer.pid(), &fds);
    }

    /// Waits, at most `patience`, for the symboliser's answer or news of a child; meanwhile
    /// drains output, enforces deadlines (the notices they make are said later, by `wait`) and
    /// finishes every child that ended, its outcome kept for `wait` to return.
    #[cfg(unix)]
    fn keep_children_going(&mut self, patience: std::time::Duration) {
        let timeout = self
            .enforce_deadlines()
            .map_or(patience, |due| due.min(patience));
        if self.poll_also(Some(timeout), self.symbolizer.answers_fd()) {
            let exited = self.collect_exited();
            self.sweep_after(&exited);
            self.finished_early.extend(exited);
        }
    }
}
