//! Naming return addresses a child sent: the symboliser answers, a child of the harness that
//! may take seconds the first time (it loads the binary's debug info). Children that end
//! meanwhile are finished as they end, not left zombies until it answers.

use super::Supervisor;
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
        self.spare_symbolizer();
        let Some(mut question) = question else {
            return Vec::new();
        };
        let frames = loop {
            if let Some(frames) = self.symbolizer.hear(&mut question) {
                break frames;
            }
            self.keep_children_going(question.patience_left());
        };
        self.spare_symbolizer();
        frames
    }

    /// Names and locates `addresses`: the harness itself, at once.
    #[cfg(windows)]
    pub(crate) fn resolve(&mut self, addresses: &[u64]) -> Vec<Frame> {
        let frames = self.symbolizer.resolve(addresses);
        self.spare_symbolizer();
        frames
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
