//! What a test's body left behind when it ended: processes, open descriptors, running threads.

/// What the body left behind, as its child said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Leftovers {
    /// The test left processes behind (or may have: it sent no report).
    pub(crate) processes: bool,
    /// The processes it said it left.
    pub(crate) descendants: Vec<i32>,
    /// Descriptors the body left open: how many, and the first few with what each refers to.
    pub(crate) descriptors: Option<LeftDescriptors>,
    /// Threads of the test's own still running when the body returned.
    pub(crate) threads: u32,
}

/// Descriptors a test's body left open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LeftDescriptors {
    pub(crate) count: u32,
    /// The first few (a frame is bounded): number, and what it refers to (`/tmp/x.db`,
    /// `socket`, `pipe`).
    pub(crate) named: Vec<(i32, String)>,
}
