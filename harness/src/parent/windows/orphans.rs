//! Windows: nothing escapes a test's Job Object (a process a member starts is a member, and the
//! job cannot be left), so there is no orphan to sweep; killing the job kills them all.

use crate::outcome::Escapee;

pub(crate) fn become_subreaper() {}

/// Children other than the tests': none the harness keeps count of there.
pub(crate) fn child_count() -> usize {
    0
}

#[derive(Default)]
pub(crate) struct OrphanSweeper {}

impl OrphanSweeper {
    pub(crate) fn group_finished(&mut self, _group: i32) {}

    pub(crate) fn sweep(&mut self, _is_running_test: impl Fn(i32) -> bool) -> Vec<Escapee> {
        Vec::new()
    }
}
