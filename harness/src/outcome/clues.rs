//! What a child said besides its report: what went wrong on the test's thread on the way
//! (which is what a child that died without a report was doing), where the thread was stuck,
//! what the body left behind, and what only some runs send.

use super::PanicRecord;
use super::{Leftovers, RecordedSite, TrackedLeaks};

/// What a child said before (or, for a forked copy, after) its report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Clues {
    /// The panic and the allocations that failed on the test's thread.
    pub(crate) mishaps: Mishaps,
    /// Where the test's thread was when its timeout came (return addresses, innermost first).
    pub(crate) stuck_at: Vec<u64>,
    /// What the body left behind.
    pub(crate) left: Leftovers,
    /// A process the test forked returned from the test body: `Some(panicked)`.
    pub(crate) forked_copy_returned: Option<bool>,
    /// How much the C library's heap grew beyond the counting allocator's figure.
    pub(crate) foreign_heap: Option<i64>,
    /// Where a tracked run's leaked blocks came from, as recorded.
    pub(crate) tracked_leaks: Option<TrackedLeaks<RecordedSite>>,
    /// An isolated call's value, encoded.
    pub(crate) value: Option<Vec<u8>>,
}

/// What went wrong on the test's thread, whether or not the test went on: what a child that
/// died was doing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Mishaps {
    /// The first panic on the test's thread (a panic while panicking aborts after the second).
    pub(crate) first_panic: Option<PanicRecord>,
    /// The size of the last allocation that failed.
    pub(crate) failed_allocation: Option<u64>,
    /// The first allocation refused for the test's memory limit.
    pub(crate) memory_limit: Option<MemoryLimitHit>,
}

/// An allocation the counting allocator refused for the test's memory limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MemoryLimitHit {
    pub(crate) limit: u64,
    /// The refused allocation's size.
    pub(crate) size: u64,
    /// The test's live heap when it was refused.
    pub(crate) live: u64,
}
