//! Judging a returning test's heap figures: its peak, and what it left.

use super::{fail, Expectations, Failure, Note, Verdict, PASS};
use crate::outcome::HeapDelta;

/// Heap growth this large is worth naming the sites of, still reachable or not.
pub(crate) const LARGE_GROWTH: u64 = 1 << 20;

/// The verdict on a returning test's heap figures (`None`: no counting allocator is installed).
pub(super) fn judge_heap(heap: Option<HeapDelta>, expect: &Expectations) -> Verdict {
    let Some(heap) = heap else {
        return Verdict::Pass(Some(Note::LeakCheckUnavailable));
    };
    if let Some(max) = expect.max_peak {
        if heap.peak_bytes > max {
            return fail(Failure::PeakOverMax {
                peak: heap.peak_bytes,
                max,
            });
        }
    }
    let (bytes, blocks) = left(heap);
    match expect.leak_limit {
        Some(limit) if bytes > limit => fail(Failure::Leaked {
            bytes,
            blocks,
            limit,
        }),
        None if bytes > 0 => Verdict::Pass(Some(Note::AllowedLeak { bytes, blocks })),
        _ => PASS,
    }
}

/// The bytes and blocks a heap delta left, none below zero.
pub(crate) fn left(heap: HeapDelta) -> (u64, u64) {
    (heap.net_bytes.max(0) as u64, heap.net_blocks.max(0) as u64)
}
