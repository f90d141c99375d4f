//! What the other threads of a test's child ran, as `sys::usage` tells on Unix: not told here,
//! so a test's child always looks for threads still exiting (and finds none to wait for).

/// The CPU time of the process's threads other than the caller: not told here.
pub(crate) struct OthersUsage;

impl OthersUsage {
    pub(crate) fn now() -> Option<Self> {
        None
    }

    pub(crate) fn ran_since(&self, _earlier: &Self) -> bool {
        true
    }
}
