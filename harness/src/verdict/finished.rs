//! Judging a child that must finish its body: it returned, or panicked as `should_panic` asks.

use crate::sys::Signal;

use super::heap::judge_heap;
use super::left::judge_left;
use super::{fail, Ending, Expectations, Failure, Verdict, PASS};
use crate::outcome::{ChildOutcome, ChildReport, SignalNumber};
use crate::registry::ShouldPanic;

/// The verdict on a test that must finish its body: return, or panic as `should_panic` asks.
pub(super) fn judge_finished(outcome: &ChildOutcome, expect: &Expectations) -> Verdict {
    if let (Err(_), Some(hit)) = (&outcome.report, &outcome.clues.mishaps.memory_limit) {
        // The refused allocation is why it died: `handle_alloc_error` aborts.
        return fail(Failure::OverMemoryLimit(*hit));
    }
    let report = match (Ending::of(outcome), &outcome.report) {
        // Built with `panic = "abort"`, a panic reports itself and then aborts the child.
        (Ending::Killed { signal, .. }, Ok(report @ ChildReport::Panicked(_)))
            if expect.panic_aborts && signal == SignalNumber(Signal::SIGABRT as i32) =>
        {
            report.clone()
        }
        (Ending::Reported(report), _) => report,
        (ending, _) => return fail(Failure::Ended(ending)),
    };
    match (report, expect.should_panic) {
        (ChildReport::Returned { .. }, ShouldPanic::Yes) => {
            fail(Failure::ShouldHavePanicked { expected: None })
        }
        (ChildReport::Returned { .. }, ShouldPanic::WithMessage(expected)) => {
            fail(Failure::ShouldHavePanicked {
                expected: Some(expected),
            })
        }
        (ChildReport::Returned { heap }, ShouldPanic::No) => {
            judge_left(judge_heap(heap, expect), &outcome.clues.left, expect)
        }
        (ChildReport::Panicked(_), ShouldPanic::Yes) => PASS,
        (ChildReport::Panicked(panic), ShouldPanic::WithMessage(expected)) => {
            // Decided by the child on the whole message: what arrived may be shortened.
            let found = panic.contains_expected.unwrap_or_else(|| {
                panic
                    .message
                    .as_ref()
                    .is_some_and(|message| message.contains(expected))
            });
            match found {
                true => PASS,
                false => fail(Failure::WrongPanic { panic, expected }),
            }
        }
        (report @ (ChildReport::ReturnedErr { .. } | ChildReport::Panicked(_)), _) => {
            fail(Failure::Ended(Ending::Reported(report)))
        }
    }
}
