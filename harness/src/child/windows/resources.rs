//! What a test's body left behind, on Windows: not told there. Descriptors are handles a test's
//! child cannot list without the system's undocumented calls, and threads still running are the
//! Job Object's to end: nothing is reported, so nothing is failed on a guess.

use crate::outcome::HeapDelta;
use crate::wire::Message;

/// The descriptors the body left open: none are listed here.
pub(crate) type DescriptorSet = ();

/// Where a test's new descriptors are renumbered: never, here.
pub(super) enum Shift {}

impl Shift {
    pub(super) fn new() -> Option<Self> {
        None
    }
}

/// Taken before the body: nothing to take.
pub(super) struct Baseline;

impl Baseline {
    pub(super) fn now(_shift: Option<Shift>) -> Self {
        Self
    }

    /// The C runtime's heap is not read here.
    pub(super) fn foreign_heap(&self, _rust: HeapDelta) -> Option<i64> {
        None
    }

    pub(super) fn left_open(&self) -> DescriptorSet {}

    pub(super) fn left_behind(
        &self,
        _foreign_heap: Option<i64>,
        _threads_ran: bool,
    ) -> Vec<Message> {
        Vec::new()
    }
}
