//! Whether a test's own run tracks its allocations from the start.
//!
//! A test whose heap grew past its leak limit runs a second time, tracking its allocations, so
//! that the scan can tell the blocks nothing reaches from those still reachable. Some suites'
//! tests leave reachable heap as a rule (a static made on first use, a pool's threads still
//! winding down): each of those tests would run twice, and a thread pool's sleep-bound tests took
//! twice libtest's time. So tests track their allocations from their first run while the run's
//! tests keep leaving heap, and such a run tells lost blocks from reachable ones itself; a second
//! run is made only to name a lost block's call site or to judge descriptors. The run starts so
//! (a single slow test that leaves heap is often among a binary's first), and tests that leave
//! nothing soon turn it off: tracking without call stacks costs a test that allocates all the
//! time about a tenth more on one thread (60% with eight threads on two cores), and a second run
//! costs all of it again.
//! The verdicts are the same either way: only the number of runs they take changes.

/// What the run's tests said so far about their need for a tracked run.
#[derive(Debug)]
pub(super) struct TrackedFirst {
    /// Only where the scan runs (elsewhere a tracked run cannot tell blocks apart), and where the
    /// counting allocator calls `malloc` (a tracked body's blocks come from a heap of the harness's
    /// own, and a suite's own allocator would not see them).
    allowed: bool,
    /// Up by one for each run that needed tracking, down by one for each run tracked for nothing.
    evidence: u8,
}

/// Tests track from their first run while this many more needed it than were tracked for nothing
/// (counting from here at the start).
const ON_FROM: u8 = 2;
/// How far the evidence goes: three runs tracked for nothing in a row turn it off again.
const MOST: u8 = ON_FROM + 2;

impl TrackedFirst {
    pub(super) fn new() -> Self {
        Self {
            allowed: crate::verdict::SCAN_RUNS && !crate::child::wraps_another_allocator(),
            evidence: ON_FROM,
        }
    }

    /// Whether the next test's own run tracks its allocations.
    pub(super) fn wanted(&self) -> bool {
        self.allowed && self.evidence >= ON_FROM
    }

    /// Learns from a test's own run, which `tracked` its allocations or not, and whether the
    /// verdict's first look at it `needed` a tracked run (or had one in it).
    pub(super) fn learn(&mut self, needed: bool, tracked: bool) {
        if needed {
            self.evidence = (self.evidence + 1).min(MOST);
        } else if tracked {
            self.evidence = self.evidence.saturating_sub(1);
        }
    }
}

// Where the scan runs: elsewhere a run never tracks from the start.
#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;

    #[test]
    fn on_at_the_start_off_after_runs_tracked_for_nothing_on_again_after_two_that_needed_it() {
        let mut first = TrackedFirst::new();
        assert!(first.wanted());
        first.learn(false, true);
        assert!(!first.wanted());
        // Untracked runs that needed nothing say nothing.
        first.learn(false, false);
        first.learn(true, false);
        assert!(first.wanted());
        for _ in 0..5 {
            first.learn(true, true);
        }
        for _ in 0..2 {
            first.learn(false, true);
        }
        assert!(first.wanted());
        first.learn(false, true);
        assert!(!first.wanted());
    }
}
