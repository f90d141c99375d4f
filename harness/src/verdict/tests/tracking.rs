//! Judging once: the first look gives the verdict or the tracked run it needs, and the tracked
//! run's findings make that verdict final.

use super::*;
use crate::outcome::{LeakTally, RecordedSite, TrackedLeaks};
use crate::verdict::tracking::Provisional;

const POLICY: TrackingPolicy = TrackingPolicy {
    leak_sites: true,
    report_memory: false,
};

/// The provisional verdict and plan of a first look that asks for a tracked run.
fn needs_tracked_run(judgement: Judgement) -> (TrackingPlan, Provisional) {
    match judgement {
        Judgement::NeedsTrackedRun(plan, provisional) => (plan, provisional),
        Judgement::Final(verdict) => panic!("expected a tracked run, got {verdict:?}"),
        Judgement::TrackedItself(_) => {
            panic!("expected a tracked run, got one that tracked itself")
        }
    }
}

/// A tracked run that returned, its heap grown by `net_bytes`, of which `lost` nothing reaches.
fn tracked(net_bytes: i64, lost: u64) -> ChildOutcome {
    let mut outcome = outcome(returned(net_bytes), ChildEnd::Exited(0));
    outcome.clues.tracked_leaks = Some(TrackedLeaks {
        lost: LeakTally {
            bytes: lost,
            blocks: lost.min(1),
            sites: Vec::new(),
        },
        ..TrackedLeaks::default()
    });
    outcome
}

/// The figures of what a tracked run recorded, its sites left unnamed.
fn unnamed(recorded: TrackedLeaks<RecordedSite>) -> TrackedLeaks {
    let tally = |tally: LeakTally<RecordedSite>| LeakTally {
        bytes: tally.bytes,
        blocks: tally.blocks,
        sites: Vec::new(),
    };
    TrackedLeaks {
        lost: tally(recorded.lost),
        reachable: tally(recorded.reachable),
        unrecorded: recorded.unrecorded,
        unscanned: recorded.unscanned,
        held_descriptors: recorded.held_descriptors,
    }
}

#[test]
fn a_run_within_its_limits_is_judged_final_at_first_look() {
    let clean = outcome(returned(0), ChildEnd::Exited(0));
    assert!(matches!(
        first_look(&clean, &STRICT, POLICY),
        Judgement::Final(PASS)
    ));
    let allowed = Expectations {
        leak_limit: None,
        ..STRICT
    };
    let leaky = outcome(returned(24), ChildEnd::Exited(0));
    assert!(matches!(
        first_look(&leaky, &allowed, POLICY),
        Judgement::Final(Verdict::Pass(Some(Note::AllowedLeak { .. })))
    ));
    let strict_without_sites = Expectations {
        strict_leaks: true,
        ..STRICT
    };
    let no_sites = TrackingPolicy {
        leak_sites: false,
        ..POLICY
    };
    assert!(matches!(
        first_look(&leaky, &strict_without_sites, no_sites),
        Judgement::Final(Verdict::Fail(Failure::Leaked { .. }))
    ));
}

#[test]
fn a_leak_asks_for_a_tracked_run_and_only_lost_blocks_then_count() {
    let leaky = outcome(returned(24), ChildEnd::Exited(0));
    let (plan, provisional) = needs_tracked_run(first_look(&leaky, &STRICT, POLICY));
    assert_eq!(
        plan,
        TrackingPlan {
            timeout: Duration::from_secs(2),
            stacks: true,
            reachable_sites: false,
            descriptors: false,
        }
    );
    let mut named = 0;
    let (verdict, search) =
        with_tracked_run(provisional, Ok(&mut tracked(24, 0)), &STRICT, |leaks| {
            named += 1;
            unnamed(leaks)
        });
    assert_eq!(verdict, PASS);
    assert!(matches!(search, LeakSiteSearch::Found { .. }));
    assert_eq!(named, 1);

    let (_, provisional) = needs_tracked_run(first_look(&leaky, &STRICT, POLICY));
    let (verdict, _) = with_tracked_run(provisional, Ok(&mut tracked(24, 24)), &STRICT, unnamed);
    assert!(reason(verdict).starts_with("leaked 24 bytes"));
}

// Linux's: where the scan runs, only it can clear a leak.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn the_first_verdict_stands_when_the_tracked_run_finds_nothing() {
    let leaky = outcome(returned(24), ChildEnd::Exited(0));
    let (_, provisional) = needs_tracked_run(first_look(&leaky, &STRICT, POLICY));
    let (verdict, search) = with_tracked_run(
        provisional,
        Err(SearchFailure::NoHeapFigures),
        &STRICT,
        |_| panic!("nothing to name"),
    );
    assert!(reason(verdict).starts_with("leaked 24 bytes"));
    assert!(matches!(
        search,
        LeakSiteSearch::Failed(SearchFailure::NoHeapFigures)
    ));
}

#[test]
fn a_leak_the_tracked_run_could_not_scan_is_noted_not_failed() {
    // As on macOS and FreeBSD, where the scan never runs: every block counts as reachable.
    let leaky = outcome(returned(24), ChildEnd::Exited(0));
    let (_, provisional) = needs_tracked_run(first_look(&leaky, &STRICT, POLICY));
    let mut unscanned = tracked(24, 0);
    if let Some(leaks) = unscanned.clues.tracked_leaks.as_mut() {
        leaks.unscanned = true;
    }
    let (verdict, _) = with_tracked_run(provisional, Ok(&mut unscanned), &STRICT, unnamed);
    assert_eq!(
        verdict,
        Verdict::Pass(Some(Note::LeakNotTold {
            bytes: 24,
            blocks: 1
        }))
    );
}

/// Where no scan runs (macOS, FreeBSD, Windows), a failed tracked run leaves the note it could
/// at best have given. Tested through `untold`, which `with_tracked_run` calls there.
#[test]
fn where_no_scan_runs_a_failed_tracked_run_leaves_a_note_not_a_failure() {
    let leaky = outcome(returned(24), ChildEnd::Exited(0));
    let (_, provisional) = needs_tracked_run(first_look(&leaky, &STRICT, POLICY));
    assert_eq!(
        crate::verdict::tracked::untold(provisional.verdict, provisional.heap),
        Verdict::Pass(Some(Note::LeakNotTold {
            bytes: 24,
            blocks: 1
        }))
    );
    let panicked = fail(Failure::SignalledHarness(SignalNumber(10)));
    assert_eq!(
        crate::verdict::tracked::untold(panicked.clone(), provisional.heap),
        panicked
    );
}

/// The provisional verdict of a first look at a run that tracked its own allocations.
fn tracked_itself(judgement: Judgement) -> Provisional {
    match judgement {
        Judgement::TrackedItself(provisional) => provisional,
        Judgement::Final(verdict) => panic!("expected it to track itself, got {verdict:?}"),
        Judgement::NeedsTrackedRun(plan, _) => panic!("expected no second run, got {plan:?}"),
    }
}

#[test]
fn a_run_that_tracked_itself_tells_reachable_from_lost_without_a_second_run() {
    let mut reachable_only = tracked(24, 0);
    let provisional = tracked_itself(first_look(&reachable_only, &STRICT, POLICY));
    let (verdict, search) =
        with_tracked_run(provisional, Ok(&mut reachable_only), &STRICT, unnamed);
    assert_eq!(verdict, PASS);
    assert!(matches!(search, LeakSiteSearch::Found { .. }));

    // Without call stacks to name, its lost blocks are the verdict too.
    let no_sites = TrackingPolicy {
        leak_sites: false,
        ..POLICY
    };
    let mut lost = tracked(24, 24);
    let provisional = tracked_itself(first_look(&lost, &STRICT, no_sites));
    let (verdict, _) = with_tracked_run(provisional, Ok(&mut lost), &STRICT, unnamed);
    assert!(reason(verdict).starts_with("leaked 24 bytes"));
}

#[test]
fn a_run_that_tracked_itself_runs_again_to_name_lost_blocks_sites() {
    let lost = tracked(24, 24);
    let (plan, _) = needs_tracked_run(first_look(&lost, &STRICT, POLICY));
    assert!(plan.stacks);
}
