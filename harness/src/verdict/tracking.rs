//! Whether a test's run must be run again, tracking its allocations, before its verdict is
//! final: the first look at an outcome, and how that second run is to be made.

use std::time::Duration;

use super::heap::left;
use super::{judge, Expectations, Failure, Verdict, LARGE_GROWTH};
use crate::outcome::{ChildOutcome, ChildReport, HeapDelta, Leftovers};

/// What the run asks of tracked runs, beyond each test's expectations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TrackingPolicy {
    /// `ISOLATED_TEST_LEAK_SITES`: tracked runs record call stacks.
    pub(crate) leak_sites: bool,
    /// The report shows memory (`ISOLATED_TEST_REPORT=memory`, `--show-output`): tracked runs
    /// name the still reachable blocks' sites too.
    pub(crate) report_memory: bool,
}

/// How to run a test again to tell the blocks it left apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TrackingPlan {
    pub(crate) timeout: Duration,
    /// Record call stacks, to name sites.
    pub(crate) stacks: bool,
    /// Name the still reachable blocks' sites too: under `strict_leaks`, with
    /// `ISOLATED_TEST_REPORT=memory`, and where the growth is [`LARGE_GROWTH`] or more.
    pub(crate) reachable_sites: bool,
    /// Tell which descriptors left open are held by what the body wrote.
    pub(crate) descriptors: bool,
}

/// The verdict's first look at a test's own run.
#[derive(Debug)]
pub(crate) enum Judgement {
    /// The verdict.
    Final(Verdict),
    /// A verdict that a second run, tracking allocations as planned, may still change:
    /// [`with_tracked_run`](super::with_tracked_run) makes it final.
    NeedsTrackedRun(TrackingPlan, Provisional),
    /// The same, but the run tracked its own allocations (tests start so while the run's tests
    /// keep leaving heap: `runner::tracked_first`) and tells all the plan asks: no second run;
    /// [`with_tracked_run`](super::with_tracked_run) weighs the run against itself.
    TrackedItself(Provisional),
}

/// A verdict waiting on a tracked run, and what of the first run it is weighed against.
#[derive(Debug)]
pub(crate) struct Provisional {
    /// The verdict should the tracked run tell nothing.
    pub(super) verdict: Verdict,
    /// What the first run's heap grew by.
    pub(super) heap: HeapDelta,
    /// What the first run left besides heap.
    pub(super) left: Leftovers,
}

/// The verdict on a test's own run, or what must be run first: where its heap grew past its
/// leak limit, the blocks it left are to be told apart or traced; where it left descriptors
/// open, which of them what it wrote holds is to be told.
pub(crate) fn first_look(
    outcome: &ChildOutcome,
    expect: &Expectations,
    policy: TrackingPolicy,
) -> Judgement {
    let verdict = judge(outcome, expect);
    let Some((plan, heap)) = tracking_plan(outcome, &verdict, expect, policy) else {
        return Judgement::Final(verdict);
    };
    let provisional = Provisional {
        verdict,
        heap,
        left: outcome.clues.left.clone(),
    };
    if tells_itself(outcome, &plan, expect) {
        return Judgement::TrackedItself(provisional);
    }
    Judgement::NeedsTrackedRun(plan, provisional)
}

/// Whether `outcome`, if it tracked its own allocations, tells what `plan` asks of a tracked
/// run: which blocks are lost, with no call stack to name (it recorded none) and no descriptor to
/// judge (it numbered the body's descriptors as the test would see them, not shifted).
fn tells_itself(outcome: &ChildOutcome, plan: &TrackingPlan, expect: &Expectations) -> bool {
    let Some(leaks) = &outcome.clues.tracked_leaks else {
        return false;
    };
    let lost_over_limit = leaks.lost.bytes > expect.leak_limit.unwrap_or(u64::MAX);
    let names_sites = plan.stacks && (lost_over_limit || plan.reachable_sites);
    !plan.descriptors && !names_sites
}

/// The tracked run `outcome`, judged `verdict`, needs, and the heap figures it is weighed
/// against; `None` if it needs none.
fn tracking_plan(
    outcome: &ChildOutcome,
    verdict: &Verdict,
    expect: &Expectations,
    policy: TrackingPolicy,
) -> Option<(TrackingPlan, HeapDelta)> {
    let Ok(ChildReport::Returned { heap: Some(heap) }) = &outcome.report else {
        return None;
    };
    let over_limit = left(*heap).0 > expect.leak_limit?;
    let left_open = outcome.clues.left.descriptors.is_some();
    let Verdict::Fail(failure) = verdict else {
        return None;
    };
    if !over_limit && !left_open {
        return None;
    }
    // Under `strict_leaks` every descriptor counts, held or not.
    let descriptors = left_open && !expect.strict_leaks;
    let heap_sites = failure.is_leak() && (policy.leak_sites || !expect.strict_leaks);
    let for_descriptors = descriptors
        && matches!(
            failure,
            Failure::LeftDescriptors(_) | Failure::Leaked { .. }
        );
    let plan = TrackingPlan {
        timeout: tracking_timeout(outcome.duration, heap.allocations),
        stacks: policy.leak_sites && failure.is_leak(),
        reachable_sites: expect.strict_leaks
            || policy.report_memory
            || left(*heap).0 >= LARGE_GROWTH,
        descriptors,
    };
    (heap_sites || for_descriptors).then_some((plan, *heap))
}

/// How long the run that tracks a leaking test's allocations may take, whatever the test's own
/// timeout: ten times the failing run's time, plus 50 µs for each allocation it made (recording
/// a call stack costs about 4 µs on an idle machine), in whole seconds from 2 to 30. Naming the
/// sites is the harness's work, after the run, and not counted.
fn tracking_timeout(first_took: Duration, allocations: u64) -> Duration {
    let needed = first_took
        .saturating_mul(10)
        .saturating_add(Duration::from_micros(allocations.saturating_mul(50)));
    Duration::from_secs(needed.as_secs_f64().ceil() as u64)
        .clamp(Duration::from_secs(2), Duration::from_secs(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tracking_run_gets_whole_seconds_from_2_to_30() {
        let ms = Duration::from_millis;
        assert_eq!(tracking_timeout(ms(3), 10), Duration::from_secs(2));
        assert_eq!(tracking_timeout(ms(230), 240_000), Duration::from_secs(15));
        assert_eq!(tracking_timeout(ms(5_000), 0), Duration::from_secs(30));
        assert_eq!(tracking_timeout(ms(1), u64::MAX), Duration::from_secs(30));
    }
}
