//! Whether a test's own run tracks its allocations from the start.
//!
//! A test whose heap grew past its leak limit runs a second time, tracking its allocations, so
//! that the scan can tell the blocks nothing reaches from those still reachable. Some suites'
//! tests leave reachable heap as a rule (a static made on first use, a pool's threads still
//! winding down): each of those tests would run twice, and a thread pool's sleep-bound tests took
//! twice libtest's time. Where the run's tests keep asking for that second run, the next tests
//! track their allocations from their first run, which then tells lost blocks from reachable ones
//! itself; a second run is made only to name a lost block's call site or to judge descriptors.
//! The verdicts are the same either way: only the number of runs they take changes.

/// What the run's tests said so far about their need for a tracked run.
#[derive(Debug)]
pub(super) struct TrackedFirst {
    /// Only where the scan runs: elsewhere a tracked run cannot tell blocks apart.
    allowed: bool,
    /// Up by one for each run that needed tracking, down by one for each run tracked for nothing.
    evidence: u8,
}

/// Tests track from their first run once this many more needed it than were tracked for nothing.
const ON_FROM: u8 = 2;
/// How far the evidence goes: three runs tracked for nothing in a row turn it off again.
const MOST: u8 = ON_FROM + 2;

impl TrackedFirst {
    pub(super) fn new() -> Self {
        Self {
            allowed: cfg!(any(target_os = "linux", target_os = "android")),
            evidence: 0,
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

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;

    #[test]
    fn turns_on_after_two_runs_that_asked_and_off_after_runs_tracked_for_nothing() {
        let mut first = TrackedFirst::new();
        first.learn(true, false);
        first.learn(false, false);
        assert!(!first.wanted());
        first.learn(true, false);
        assert!(first.wanted());
        // Untracked runs that needed nothing say nothing.
        first.learn(false, false);
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
