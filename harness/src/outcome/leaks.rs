//! What a run that tracked a test's allocations found: the blocks its body left, told apart
//! into lost and still reachable, and where the largest came from. The child records each site
//! as a call stack ([`RecordedSite`]); the harness names it ([`LeakSite`]).

use serde::{Deserialize, Serialize};

/// One place the leaked blocks came from, as the tracked child recorded it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RecordedSite {
    pub(crate) bytes: u64,
    pub(crate) blocks: u64,
    /// The call stack the child recorded for these blocks: return addresses, innermost first.
    pub(crate) stack: Vec<u64>,
}

/// One place the leaked blocks came from, as the harness named it from a [`RecordedSite`]'s
/// stack (sites that come to the same frames merged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LeakSite {
    pub(crate) bytes: u64,
    pub(crate) blocks: u64,
    /// The first frames of the test's own code, innermost first: `function at file:line:col`.
    pub(crate) frames: Vec<String>,
}

/// The blocks of one kind a tracked run left, and where the largest came from: `Site` is a
/// [`RecordedSite`] as sent, a [`LeakSite`] once named.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LeakTally<Site = LeakSite> {
    pub(crate) bytes: u64,
    pub(crate) blocks: u64,
    /// Empty where call stacks were not recorded.
    pub(crate) sites: Vec<Site>,
}

/// What the tracking run found: the blocks the body left that nothing reaches any more, those
/// still reachable, and the allocations it could not record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TrackedLeaks<Site = LeakSite> {
    pub(crate) lost: LeakTally<Site>,
    pub(crate) reachable: LeakTally<Site>,
    /// Allocations the full table could not record: neither lost nor reachable as far as the
    /// scan knows.
    pub(crate) unrecorded: u64,
    /// The scan could not run (no memory for it, or the mappings could not be read): every block
    /// counts as reachable.
    pub(crate) unscanned: bool,
    /// Of the descriptors the body left open, those something the body wrote still holds (a
    /// registry, a static, a live thread), where they were looked for and the search could run.
    pub(crate) held_descriptors: Option<Vec<i32>>,
}
