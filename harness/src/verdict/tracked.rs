//! Judging a leaking test again once a second run tracked its allocations: which blocks are
//! lost, which descriptors held.

use super::heap::{judge_heap, left};
use super::left::{judge_held, judge_left, judge_left_with};
use super::{fail, Expectations, Failure, Note, Verdict, PASS};
use crate::outcome::{HeapDelta, LeftDescriptors, Leftovers, TrackedLeaks};

/// The verdict on a test whose heap grew over its leak limit (`first`), once a second run that
/// tracked its allocations (growing by `second`) told the blocks it left apart: only the lost
/// ones count. A second run that grew by nothing cannot tell them apart: the growth, not
/// reproducible, is noted and not counted (a blocking call that allocated a thread-local only
/// when it had to wait grows the heap on some runs only).
/// Where the test also left descriptors open, the second run tells which are held by what its
/// body wrote (`second_left_open`: those it left): only the others count.
pub(crate) fn judge_tracked(
    first: (HeapDelta, &Leftovers),
    second: HeapDelta,
    leaks: &TrackedLeaks,
    second_left_open: Option<&LeftDescriptors>,
    expect: &Expectations,
) -> Verdict {
    let (first, first_left) = first;
    let heap_verdict = match expect.leak_limit {
        Some(limit) if left(first).0 > limit => judge_lost(first, second, leaks, expect),
        _ => judge_heap(Some(first), expect),
    };
    match (&leaks.held_descriptors, &first_left.descriptors) {
        (Some(held), Some(first_left_open)) => {
            let held = judge_held(first_left_open, second_left_open, held).map(Some);
            judge_left_with(heap_verdict, held, first_left.threads, expect)
        }
        _ => judge_left(heap_verdict, first_left, expect),
    }
}

/// [`judge_tracked`] on the heap alone.
fn judge_lost(
    first: HeapDelta,
    second: HeapDelta,
    leaks: &TrackedLeaks,
    expect: &Expectations,
) -> Verdict {
    let limit = expect.leak_limit.unwrap_or(u64::MAX);
    if leaks.lost.bytes > limit {
        return fail(Failure::Leaked {
            bytes: leaks.lost.bytes,
            blocks: leaks.lost.blocks,
            limit,
        });
    }
    if !second.holds_memory() {
        let (bytes, blocks) = left(first);
        return Verdict::Pass(Some(Note::NotReproducible { bytes, blocks }));
    }
    PASS
}

/// What the run that tracked a leaking test's allocations found.
#[derive(Debug)]
pub(crate) enum LeakSiteSearch {
    /// It returned: its blocks told apart, with their sites; its heap figures, and the failing
    /// run's.
    Found {
        leaks: TrackedLeaks,
        second: HeapDelta,
        first: HeapDelta,
        /// The descriptors it left open.
        left_open: Option<LeftDescriptors>,
    },
    /// It did not return as the failing run did.
    Failed(SearchFailure),
}

/// Why the run that tracked allocations found nothing.
#[derive(Debug)]
pub(crate) enum SearchFailure {
    NotStarted(String),
    /// It failed otherwise than for a leak.
    Failed(Failure),
    /// It passed without heap figures.
    NoHeapFigures,
}
