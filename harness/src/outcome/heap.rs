//! The heap figures of one test body, as the counting allocator saw them.

use serde::{Deserialize, Serialize};

/// The heap growth of one test body, as the counting allocator saw it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HeapDelta {
    /// Bytes allocated and not freed (negative when the body freed more than it allocated).
    pub(crate) net_bytes: i64,
    /// Blocks allocated and not freed.
    pub(crate) net_blocks: i64,
    /// Every allocation the body made, freed or not.
    pub(crate) allocations: u64,
    /// The most the live heap grew above where it was when the body began.
    pub(crate) peak_bytes: u64,
}

impl HeapDelta {
    /// Whether the heap holds more than before: bytes or blocks.
    pub(crate) fn holds_memory(&self) -> bool {
        self.net_bytes > 0 || self.net_blocks > 0
    }
}
