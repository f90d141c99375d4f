//! The verdict on a test whose first look asked for a second run that tracks its allocations,
//! once that run came back: which blocks it left are lost, which descriptors held.

use super::heap::{judge_heap, left};
use super::left::{judge_held, judge_left, judge_left_with};
use super::tracking::Provisional;
use super::{fail, judge, Expectations, Failure, Note, Verdict, PASS};
use crate::outcome::{ChildOutcome, ChildReport, HeapDelta, LeftDescriptors, Leftovers};
use crate::outcome::{RecordedSite, TrackedLeaks};

/// The verdict on a test whose first look was `provisional`, once the tracked run it asked for
/// came back (`tracked`, or why it could not be had); and what that run found, the failure's
/// evidence. `name_sites` names the call stacks the run recorded (the symboliser's work, done
/// only for a run that found something). Under `strict_leaks` all growth counts, and the
/// provisional verdict stands.
pub(crate) fn with_tracked_run(
    provisional: Provisional,
    tracked: Result<&mut ChildOutcome, SearchFailure>,
    expect: &Expectations,
    name_sites: impl FnOnce(TrackedLeaks<RecordedSite>) -> TrackedLeaks,
) -> (Verdict, LeakSiteSearch) {
    let Provisional {
        verdict,
        heap: first,
        left: first_left,
    } = provisional;
    let search = match tracked.and_then(|outcome| what_it_found(outcome, expect)) {
        Err(failure) => LeakSiteSearch::Failed(failure),
        Ok((second, recorded, left_open)) => LeakSiteSearch::Found {
            leaks: name_sites(recorded),
            second,
            first,
            left_open,
        },
    };
    let verdict = match &search {
        LeakSiteSearch::Found {
            leaks,
            second,
            left_open,
            ..
        } if !expect.strict_leaks => judge_tracked(
            (first, &first_left),
            *second,
            leaks,
            left_open.as_ref(),
            expect,
        ),
        LeakSiteSearch::Failed(_) if !SCAN_RUNS && !expect.strict_leaks => untold(verdict, first),
        _ => verdict,
    };
    (verdict, search)
}

/// Whether the scan that tells lost blocks from reachable ones runs on this platform.
pub(crate) const SCAN_RUNS: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// Where no scan can tell lost blocks from reachable ones, a tracked run could only have noted
/// the growth: one that failed (timed out under load, say) leaves the same note, never a
/// failure the run could not have reached.
pub(super) fn untold(verdict: Verdict, first: HeapDelta) -> Verdict {
    match verdict {
        Verdict::Fail(Failure::Leaked { .. }) => {
            let (bytes, blocks) = left(first);
            Verdict::Pass(Some(Note::LeakNotTold { bytes, blocks }))
        }
        other => other,
    }
}

/// What a tracked run found: its heap figures, the blocks it left as recorded, and the
/// descriptors it left open; or, where it did not return as the failing run did, why not.
fn what_it_found(
    outcome: &mut ChildOutcome,
    expect: &Expectations,
) -> Result<
    (
        HeapDelta,
        TrackedLeaks<RecordedSite>,
        Option<LeftDescriptors>,
    ),
    SearchFailure,
> {
    let second = match (&outcome.report, judge(outcome, expect)) {
        (_, Verdict::Fail(failure))
            if !failure.is_leak() && !matches!(failure, Failure::LeftDescriptors(_)) =>
        {
            return Err(SearchFailure::Failed(failure))
        }
        (Ok(ChildReport::Returned { heap: Some(heap) }), _) => *heap,
        (_, Verdict::Fail(failure)) => return Err(SearchFailure::Failed(failure)),
        (_, Verdict::Pass(_)) => return Err(SearchFailure::NoHeapFigures),
    };
    let recorded = outcome.clues.tracked_leaks.take().unwrap_or_default();
    Ok((second, recorded, outcome.clues.left.descriptors.clone()))
}

/// The verdict on a test whose heap grew over its leak limit (`first`), once a second run that
/// tracked its allocations (growing by `second`) told the blocks it left apart: only the lost
/// ones count. A second run that grew by nothing cannot tell them apart: the growth, not
/// reproducible, is noted and not counted (a blocking call that allocated a thread-local only
/// when it had to wait grows the heap on some runs only).
/// Where the test also left descriptors open, the second run tells which are held by what its
/// body wrote (`second_left_open`: those it left): only the others count.
fn judge_tracked(
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
        // Held or leaked could not be told: noted, not counted (see `Note::DescriptorsNotTold`).
        (None, Some(first_left_open))
            if leaks.unscanned && expect.leak_limit.is_some() && !expect.strict_leaks =>
        {
            let note = Note::DescriptorsNotTold(first_left_open.clone());
            judge_left_with(heap_verdict, Ok(Some(note)), first_left.threads, expect)
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
    if leaks.unscanned {
        let (bytes, blocks) = left(first);
        return Verdict::Pass(Some(Note::LeakNotTold { bytes, blocks }));
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
