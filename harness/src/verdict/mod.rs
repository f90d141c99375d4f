//! Turning what a child did into pass or fail: typed, with no text (the report words it).
//!
//! A pure function of plain data: a test passes only when its child sent a valid report that
//! says so and then ended normally.
//!
//! By concern: what a test must do ([`expectations`]) and what a verdict says ([`findings`]); how
//! a child ended ([`ending`]); a child that finished its body ([`finished`]), its heap
//! ([`heap`]) and what it left behind ([`left`]); whether a run must be run again tracking its
//! allocations ([`tracking`]), and the verdict once it was ([`tracked`]).
//!
//! Each run of a test is judged once: [`first_look`] gives its verdict, or the tracked run it
//! needs first; [`with_tracked_run`] then gives the verdict. The scheduler runs what it is told.

mod ending;
mod expectations;
mod findings;
mod finished;
mod heap;
mod left;
// Their reasons are Unix's: signals, process groups.
#[cfg(all(test, unix))]
mod tests;
mod tracked;
mod tracking;

use crate::outcome::{ChildEnd, ChildOutcome, ProtocolError, SignalNumber};
use crate::registry::ExpectedEnd;
use ending::lost_channel;
use finished::judge_finished;

pub(crate) use ending::{Ending, LastWords};
pub(crate) use expectations::Expectations;
pub(crate) use findings::{Death, Failure, Note, Verdict};
pub(crate) use heap::{left, LARGE_GROWTH};
pub(crate) use tracked::{with_tracked_run, LeakSiteSearch, SearchFailure, SCAN_RUNS};
pub(crate) use tracking::{first_look, Judgement, Provisional, TrackingPlan, TrackingPolicy};

fn fail(failure: Failure) -> Verdict {
    Verdict::Fail(failure)
}

const PASS: Verdict = Verdict::Pass(None);

/// The verdict on one child's run.
pub(crate) fn judge(outcome: &ChildOutcome, expect: &Expectations) -> Verdict {
    if let Some(timed_out) = outcome.timed_out {
        return fail(Failure::TimedOut(timed_out));
    }
    if let Some(panicked) = outcome.clues.forked_copy_returned {
        return fail(Failure::ForkedCopyReturned { panicked });
    }
    if let Some(signal) = outcome.signalled_harness {
        return fail(Failure::SignalledHarness(signal));
    }
    let verdict = match expect.end {
        ExpectedEnd::Finish => judge_finished(outcome, expect),
        ExpectedEnd::Signal(expected) => match outcome.end {
            ChildEnd::Signaled { signal, .. } if signal.0 == expected => PASS,
            _ => fail(Failure::NotKilledBy {
                expected: SignalNumber(expected),
                ending: Ending::of(outcome),
            }),
        },
        ExpectedEnd::ExitCode(expected) => match (&outcome.report, outcome.end) {
            (Err(ProtocolError::NoReport), ChildEnd::Exited(code))
                if code == expected && !lost_channel(outcome) =>
            {
                PASS
            }
            _ => fail(Failure::NotExitedWith {
                expected,
                ending: Ending::of(outcome),
            }),
        },
    };
    match (verdict, expect.stderr) {
        (Verdict::Pass(note), Some(pattern)) => match stderr_matches(outcome, pattern) {
            Ok(true) => Verdict::Pass(note),
            Ok(false) => fail(Failure::StderrMismatch { pattern }),
            Err(error) => fail(Failure::InvalidStderrRegex {
                pattern,
                error: error.to_string(),
            }),
        },
        (verdict, _) => verdict,
    }
}

fn stderr_matches(outcome: &ChildOutcome, pattern: &str) -> Result<bool, regex_lite::Error> {
    Ok(regex_lite::Regex::new(pattern)?.is_match(&outcome.stderr.text()))
}
