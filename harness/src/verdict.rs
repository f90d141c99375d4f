//! Turning what a child did into pass or fail, with the one reason line a failure shows.
//!
//! A pure function of plain data: a test passes only when its child sent a valid report that
//! says so and then ended normally.

use std::time::Duration;

use nix::sys::signal::Signal;

use crate::alloc::HeapDelta;
use crate::child::{CHANNEL_LOST_LINE, EXIT_CHANNEL_LOST};
use crate::leak_sites::TrackedLeaks;
use crate::protocol::{ChildReport, MemoryLimitHit, PanicRecord, ProtocolError};
use crate::registry::{ExpectedEnd, ShouldPanic};
use crate::size;
use crate::supervisor::{ChildEnd, ChildOutcome, DeathClues};

/// What a test must do to pass, resolved from its attributes and the run's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Expectations {
    pub(crate) should_panic: ShouldPanic,
    /// Bytes of heap growth allowed; `None` for `allow_leaks`.
    pub(crate) leak_limit: Option<u64>,
    /// How the child must end: finish the body, or die by a signal or an exit.
    pub(crate) end: ExpectedEnd,
    /// A regex the captured stderr of a passing death test or `should_panic` test must match.
    pub(crate) stderr: Option<&'static str>,
    /// The binary was built with `panic = "abort"`: a panic on the test's thread is reported,
    /// then aborts the child.
    pub(crate) panic_aborts: bool,
    /// `max_peak`: the most bytes the live heap may grow above where the body began.
    pub(crate) max_peak: Option<u64>,
    /// `strict_leaks`: all heap growth counts against `leak_limit`, still reachable or not.
    pub(crate) strict_leaks: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// `note` is said after the run.
    Pass { note: Option<Note> },
    Fail {
        reason: String,
        /// It failed for a leak: where the leaked blocks came from is worth finding out.
        leaked: bool,
    },
}

/// Something a passing test did that the user should still hear about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Note {
    /// `allow_leaks` let this leak pass.
    AllowedLeak(String),
    /// No counting allocator is installed, so the leak check could not be done.
    LeakCheckUnavailable,
    /// The heap grew, but not in a second run that tracked allocations: nothing to count.
    NotReproducible(String),
}

fn fail(reason: impl Into<String>) -> Verdict {
    Verdict::Fail {
        reason: reason.into(),
        leaked: false,
    }
}

const PASS: Verdict = Verdict::Pass { note: None };

/// The verdict on one child's run.
pub(crate) fn judge(outcome: &ChildOutcome, expect: &Expectations) -> Verdict {
    if let Some(timed_out) = outcome.timed_out {
        let stopped = timed_out
            .stopped_by
            .map(|signal| format!(" while stopped by signal {}", signal_name(signal)))
            .unwrap_or_default();
        return fail(format!(
            "timed out after {}{stopped}; its process group was killed",
            humantime::format_duration(round_to_millis(timed_out.after))
        ));
    }
    if let Some(panicked) = outcome.clues.forked_copy_returned {
        let how = if panicked {
            "unwound out of the test body with a panic"
        } else {
            "returned from the test body"
        };
        return fail(format!(
            "a process forked by the test {how} (end a forked process with `_exit`)"
        ));
    }
    if let Some(signal) = outcome.signalled_harness {
        return fail(format!(
            "sent signal {} to the harness",
            signal_name(signal)
        ));
    }
    let verdict = match expect.end {
        ExpectedEnd::Finish => judge_finished(outcome, expect),
        ExpectedEnd::Signal(expected) => match outcome.end {
            ChildEnd::Signaled { signal, .. } if signal == expected => PASS,
            _ => fail(format!(
                "should have been killed by signal {}, but it {}",
                signal_name(expected),
                what_happened(outcome)
            )),
        },
        ExpectedEnd::ExitCode(expected) => match (&outcome.report, outcome.end) {
            (Err(ProtocolError::NoReport), ChildEnd::Exited(code))
                if code == expected && !lost_channel(outcome) =>
            {
                PASS
            }
            _ => fail(format!(
                "should have exited with status {expected} before the test finished, but it {}",
                what_happened(outcome)
            )),
        },
    };
    match (verdict, expect.stderr) {
        (Verdict::Pass { note }, Some(pattern)) => match stderr_matches(outcome, pattern) {
            Ok(true) => Verdict::Pass { note },
            Ok(false) => fail(format!(
                "ended as expected, but its stderr does not match the regex {pattern:?}"
            )),
            Err(error) => fail(format!("has an invalid stderr regex {pattern:?}: {error}")),
        },
        (verdict, _) => verdict,
    }
}

fn stderr_matches(outcome: &ChildOutcome, pattern: &str) -> Result<bool, regex::Error> {
    Ok(regex::Regex::new(pattern)?.is_match(&outcome.stderr.text()))
}

/// Whether the child exited as it does when the test closed or replaced its result channel.
fn lost_channel(outcome: &ChildOutcome) -> bool {
    matches!(
        (&outcome.report, outcome.end),
        (
            Err(ProtocolError::NoReport),
            ChildEnd::Exited(EXIT_CHANNEL_LOST)
        )
    ) && outcome.stderr.ends_with(CHANNEL_LOST_LINE.as_bytes())
}

/// ` after it panicked at …` or ` after an allocation of N bytes failed`: what a child that died
/// was doing, when it said.
fn last_words(clues: &DeathClues) -> String {
    match clues {
        DeathClues {
            memory_limit: Some(hit),
            ..
        } => format!(" after it {}", memory_limit_text(hit)),
        DeathClues {
            failed_allocation: Some(size),
            ..
        } => format!(" after an allocation of {size} bytes failed"),
        DeathClues {
            first_panic: Some(panic),
            ..
        } => format!(" after it {}", panic_text(panic)),
        _ => String::new(),
    }
}

/// `exceeded its memory limit of 64 MiB (allocating 1048576 bytes with 63.5 MiB live)`.
fn memory_limit_text(hit: &MemoryLimitHit) -> String {
    format!(
        "exceeded its memory limit of {} (allocating {} bytes with {} live)",
        size::format(hit.limit),
        hit.size,
        size::format(hit.live)
    )
}

/// How the child ended, to follow "but it": `was killed by signal 6 (SIGABRT) after it
/// panicked at …`, `returned normally`, `exited with status 3 before the test finished`.
fn what_happened(outcome: &ChildOutcome) -> String {
    let after = last_words(&outcome.clues);
    match (&outcome.report, outcome.end) {
        (
            _,
            ChildEnd::Signaled {
                signal,
                core_dumped,
            },
        ) => format!("was {}{after}", killed_reason(signal, core_dumped)),
        (Ok(ChildReport::Returned { .. }), ChildEnd::Exited(0)) => "returned normally".to_owned(),
        (Ok(ChildReport::ReturnedErr { error }), ChildEnd::Exited(0)) => {
            format!("returned an error: {error}")
        }
        (Ok(ChildReport::Panicked(panic)), ChildEnd::Exited(0)) => panic_text(panic),
        (Ok(_), ChildEnd::Exited(code)) => {
            format!("exited with status {code} after reporting its result")
        }
        _ if lost_channel(outcome) => "closed or replaced its result channel".to_owned(),
        (Err(ProtocolError::NoReport), ChildEnd::Exited(code)) => {
            format!("exited with status {code} before the test finished{after}")
        }
        (Err(error), _) => format!("sent no valid result: {error}"),
    }
}

/// The verdict on a test that must finish its body: return, or panic as `should_panic` asks.
fn judge_finished(outcome: &ChildOutcome, expect: &Expectations) -> Verdict {
    if let (Err(_), Some(hit)) = (&outcome.report, &outcome.clues.memory_limit) {
        // The refused allocation is why it died: `handle_alloc_error` aborts.
        return fail(memory_limit_text(hit));
    }
    let after_panic = last_words(&outcome.clues);
    let report = match (&outcome.report, outcome.end) {
        // Built with `panic = "abort"`, a panic reports itself and then aborts the child.
        (Ok(report @ ChildReport::Panicked(_)), ChildEnd::Signaled { signal, .. })
            if expect.panic_aborts && signal == libc::SIGABRT =>
        {
            report
        }
        (
            _,
            ChildEnd::Signaled {
                signal,
                core_dumped,
            },
        ) => {
            return fail(format!(
                "{}{after_panic}",
                killed_reason(signal, core_dumped)
            ))
        }
        (Ok(report), ChildEnd::Exited(0)) => report,
        (Ok(_), ChildEnd::Exited(code)) => {
            return fail(format!(
                "exited with status {code} after reporting its result"
            ))
        }
        _ if lost_channel(outcome) => {
            return fail("sent no result: the test closed or replaced its result channel")
        }
        (Err(ProtocolError::NoReport), ChildEnd::Exited(0)) => {
            return fail(format!(
            "exited with status 0 before the test finished{after_panic} (exiting is never a pass)"
        ))
        }
        (Err(ProtocolError::NoReport), ChildEnd::Exited(code)) => {
            return fail(format!(
                "exited with status {code} before the test finished{after_panic}"
            ))
        }
        (Err(error), _) => return fail(format!("sent no valid result: {error}")),
    };
    match (report, expect.should_panic) {
        (ChildReport::ReturnedErr { error }, _) => fail(format!("returned an error: {error}")),
        (ChildReport::Returned { .. }, ShouldPanic::Yes) => {
            fail("returned normally, but should have panicked")
        }
        (ChildReport::Returned { .. }, ShouldPanic::WithMessage(expected)) => fail(format!(
            "returned normally, but should have panicked with a message containing {expected:?}"
        )),
        (ChildReport::Returned { heap }, ShouldPanic::No) => judge_heap(*heap, expect),
        (ChildReport::Panicked(panic), ShouldPanic::No) => fail(panic_text(panic)),
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
                false => fail(format!(
                    "{}, but should have panicked with a message containing {expected:?}",
                    panic_text(panic)
                )),
            }
        }
    }
}

fn judge_heap(heap: Option<HeapDelta>, expect: &Expectations) -> Verdict {
    let Some(heap) = heap else {
        return Verdict::Pass {
            note: Some(Note::LeakCheckUnavailable),
        };
    };
    if let Some(max_peak) = expect.max_peak {
        if heap.peak_bytes > max_peak {
            return fail(format!(
                "its heap peaked at {} above where it began, over its max_peak of {}",
                size::format(heap.peak_bytes),
                size::format(max_peak)
            ));
        }
    }
    let limit = expect.leak_limit;
    let leaked = heap.net_bytes.max(0) as u64;
    match limit {
        Some(limit) if leaked > limit => Verdict::Fail {
            leaked: true,
            reason: leak_reason(leaked, heap.net_blocks.max(0) as u64, limit),
        },
        None if leaked > 0 => Verdict::Pass {
            note: Some(Note::AllowedLeak(format!(
                "leaked {} in {} (allowed)",
                count(leaked, "byte"),
                count(heap.net_blocks.max(0) as u64, "allocation"),
            ))),
        },
        _ => Verdict::Pass { note: None },
    }
}

/// `leaked 24 bytes in 1 allocation (limit: 0 bytes); allow it with ...`.
fn leak_reason(bytes: u64, blocks: u64, limit: u64) -> String {
    format!(
        "leaked {} in {} (limit: {}); allow it with #[isolated_test(leak_limit = {bytes})] or #[isolated_test(allow_leaks)]",
        count(bytes, "byte"),
        count(blocks, "allocation"),
        count(limit, "byte"),
    )
}

/// The verdict on a test whose heap grew over its leak limit (`first`), once a second run that
/// tracked its allocations (growing by `second`) told the blocks it left apart: only the lost
/// ones count. A second run that grew by nothing cannot tell them apart: the growth, not
/// reproducible, is noted and not counted (a blocking call that allocated a thread-local only
/// when it had to wait grows the heap on some runs only).
pub(crate) fn judge_tracked(
    first: HeapDelta,
    second: HeapDelta,
    leaks: &TrackedLeaks,
    expect: &Expectations,
) -> Verdict {
    let limit = expect.leak_limit.unwrap_or(u64::MAX);
    if leaks.lost.bytes > limit {
        return Verdict::Fail {
            leaked: true,
            reason: leak_reason(leaks.lost.bytes, leaks.lost.blocks, limit),
        };
    }
    if second.net_bytes <= 0 && second.net_blocks <= 0 {
        return Verdict::Pass {
            note: Some(Note::NotReproducible(format!(
                "grew its heap by {} in {}, but a second run that tracked allocations did not: not reproducible, not counted",
                count(first.net_bytes.max(0) as u64, "byte"),
                count(first.net_blocks.max(0) as u64, "allocation"),
            ))),
        };
    }
    PASS
}

/// `1 byte`, `2 bytes`.
pub(crate) fn count(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

fn panic_text(panic: &PanicRecord) -> String {
    let at = panic
        .location
        .as_ref()
        .map(|l| format!(" at {}:{}:{}", l.file, l.line, l.column))
        .unwrap_or_default();
    match &panic.message {
        Some(message) => format!("panicked{at}: {message}"),
        None => format!("panicked{at} with a payload that is not a string"),
    }
}

/// `killed by signal 11 (SIGSEGV)`.
fn killed_reason(signal: i32, core_dumped: bool) -> String {
    let core = if core_dumped { ", core dumped" } else { "" };
    format!("killed by signal {}{core}", signal_name(signal))
}

/// `11 (SIGSEGV)`, or the bare number of a signal without a name.
fn signal_name(signal: i32) -> String {
    match Signal::try_from(signal) {
        Ok(named) => format!("{signal} ({})", named.as_str()),
        Err(_) => signal.to_string(),
    }
}

fn round_to_millis(duration: Duration) -> Duration {
    Duration::from_millis(duration.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::CapturedStream;
    use crate::supervisor::TimedOut;

    fn outcome(report: Result<ChildReport, ProtocolError>, end: ChildEnd) -> ChildOutcome {
        let first_panic = match &report {
            Ok(ChildReport::Panicked(panic)) => Some(panic.clone()),
            _ => None,
        };
        ChildOutcome {
            report,
            clues: DeathClues {
                first_panic,
                failed_allocation: None,
                memory_limit: None,
                stuck_at: Vec::new(),
                tracked_leaks: None,
                left_processes: false,
                descendants: Vec::new(),
                forked_copy_returned: None,
            },
            end,
            signalled_harness: None,
            timed_out: None,
            duration: Duration::ZERO,
            usage: None,
            stdout: CapturedStream::default(),
            stderr: CapturedStream::default(),
        }
    }

    const STRICT: Expectations = Expectations {
        should_panic: ShouldPanic::No,
        leak_limit: Some(0),
        end: ExpectedEnd::Finish,
        stderr: None,
        panic_aborts: false,
        max_peak: None,
        strict_leaks: false,
    };

    const SEGV: ChildEnd = ChildEnd::Signaled {
        signal: 11,
        core_dumped: false,
    };
    const ABRT: ChildEnd = ChildEnd::Signaled {
        signal: 6,
        core_dumped: false,
    };

    #[test]
    fn a_death_test_passes_only_by_its_signal() {
        let expect = Expectations {
            end: ExpectedEnd::Signal(11),
            ..STRICT
        };
        let crashed = outcome(Err(ProtocolError::NoReport), SEGV);
        assert_eq!(judge(&crashed, &expect), PASS);
        let mut aborted = outcome(Err(ProtocolError::NoReport), ABRT);
        aborted.clues.first_panic = Some(PanicRecord {
            message: Some("boom".to_owned()),
            location: None,
            contains_expected: None,
        });
        assert_eq!(
            reason(judge(&aborted, &expect)),
            "should have been killed by signal 11 (SIGSEGV), but it was killed by signal 6 (SIGABRT) after it panicked: boom"
        );
        assert_eq!(
            reason(judge(&outcome(returned(0), ChildEnd::Exited(0)), &expect)),
            "should have been killed by signal 11 (SIGSEGV), but it returned normally"
        );
        let mut timed_out = outcome(Err(ProtocolError::NoReport), SEGV);
        timed_out.timed_out = Some(TimedOut {
            after: Duration::from_secs(1),
            stopped_by: None,
        });
        assert_eq!(
            reason(judge(&timed_out, &expect)),
            "timed out after 1s; its process group was killed"
        );
    }

    #[test]
    fn an_exit_test_passes_only_by_exiting_early_with_its_status() {
        let expect = |code| Expectations {
            end: ExpectedEnd::ExitCode(code),
            ..STRICT
        };
        let exited = outcome(Err(ProtocolError::NoReport), ChildEnd::Exited(3));
        assert_eq!(judge(&exited, &expect(3)), PASS);
        assert_eq!(
            reason(judge(&exited, &expect(4))),
            "should have exited with status 4 before the test finished, but it exited with status 3 before the test finished"
        );
        assert_eq!(
            reason(judge(
                &outcome(returned(0), ChildEnd::Exited(0)),
                &expect(0)
            )),
            "should have exited with status 0 before the test finished, but it returned normally"
        );
        assert_eq!(
            reason(judge(&outcome(panicked("boom"), ChildEnd::Exited(0)), &expect(0))),
            "should have exited with status 0 before the test finished, but it panicked at tests/t.rs:4:9: boom"
        );
    }

    #[test]
    fn stderr_must_match_for_a_pass() {
        let expect = |pattern| Expectations {
            end: ExpectedEnd::Signal(11),
            stderr: Some(pattern),
            ..STRICT
        };
        let mut crashed = outcome(Err(ProtocolError::NoReport), SEGV);
        crashed.stderr.push(b"about to crash: null pointer\n");
        assert_eq!(judge(&crashed, &expect("null p[a-z]+")), PASS);
        assert_eq!(
            reason(judge(&crashed, &expect("^dangling"))),
            "ended as expected, but its stderr does not match the regex \"^dangling\""
        );
    }

    #[test]
    fn a_refused_allocation_names_the_memory_limit() {
        let mut aborted = outcome(Err(ProtocolError::NoReport), ABRT);
        aborted.clues.memory_limit = Some(MemoryLimitHit {
            limit: 64 << 20,
            size: 1 << 20,
            live: 127 << 19,
        });
        assert_eq!(
            reason(judge(&aborted, &STRICT)),
            "exceeded its memory limit of 64 MiB (allocating 1048576 bytes with 63.5 MiB live)"
        );
        let expect_segv = Expectations {
            end: ExpectedEnd::Signal(11),
            ..STRICT
        };
        assert_eq!(
            reason(judge(&aborted, &expect_segv)),
            "should have been killed by signal 11 (SIGSEGV), but it was killed by signal 6 (SIGABRT) after it exceeded its memory limit of 64 MiB (allocating 1048576 bytes with 63.5 MiB live)"
        );
    }

    #[test]
    fn a_heap_peak_over_max_peak_fails() {
        let expect = Expectations {
            max_peak: Some(8 << 20),
            ..STRICT
        };
        let mut big = outcome(returned(0), ChildEnd::Exited(0));
        if let Ok(ChildReport::Returned { heap: Some(heap) }) = &mut big.report {
            heap.peak_bytes = 16 << 20;
        }
        assert_eq!(
            reason(judge(&big, &expect)),
            "its heap peaked at 16 MiB above where it began, over its max_peak of 8 MiB"
        );
        let small = outcome(returned(0), ChildEnd::Exited(0));
        assert_eq!(judge(&small, &expect), PASS);
    }

    #[test]
    fn should_panic_passes_when_the_panic_aborts() {
        let aborting = Expectations {
            should_panic: ShouldPanic::WithMessage("boom"),
            panic_aborts: true,
            ..STRICT
        };
        let aborted = outcome(panicked("big boom"), ABRT);
        assert_eq!(judge(&aborted, &aborting), PASS);
        assert_eq!(
            reason(judge(
                &aborted,
                &Expectations {
                    panic_aborts: true,
                    ..STRICT
                }
            )),
            "panicked at tests/t.rs:4:9: big boom"
        );
        let unwinding = Expectations {
            panic_aborts: false,
            ..aborting
        };
        assert_eq!(
            reason(judge(&aborted, &unwinding)),
            "killed by signal 6 (SIGABRT) after it panicked at tests/t.rs:4:9: big boom"
        );
    }

    fn returned(net_bytes: i64) -> Result<ChildReport, ProtocolError> {
        Ok(ChildReport::Returned {
            heap: Some(HeapDelta {
                net_bytes,
                net_blocks: net_bytes.signum(),
                allocations: 1,
                peak_bytes: net_bytes.max(0) as u64,
            }),
        })
    }

    fn panicked(message: &str) -> Result<ChildReport, ProtocolError> {
        Ok(ChildReport::Panicked(PanicRecord {
            contains_expected: None,
            message: Some(message.to_owned()),
            location: Some(crate::protocol::PanicLocation {
                file: "tests/t.rs".to_owned(),
                line: 4,
                column: 9,
            }),
        }))
    }

    fn reason(verdict: Verdict) -> String {
        match verdict {
            Verdict::Fail { reason, .. } => reason,
            pass => panic!("expected a failure, got {pass:?}"),
        }
    }

    #[test]
    fn a_pass_needs_a_report_and_a_clean_exit() {
        let ok = judge(&outcome(returned(0), ChildEnd::Exited(0)), &STRICT);
        assert_eq!(ok, Verdict::Pass { note: None });
        let silent = judge(
            &outcome(Err(ProtocolError::NoReport), ChildEnd::Exited(0)),
            &STRICT,
        );
        assert_eq!(
            reason(silent),
            "exited with status 0 before the test finished (exiting is never a pass)"
        );
        let garbage = outcome(Err(ProtocolError::WrongToken), ChildEnd::Exited(0));
        assert_eq!(
            reason(judge(&garbage, &STRICT)),
            "sent no valid result: the result did not come from this run"
        );
    }

    #[test]
    fn signals_are_named() {
        let end = ChildEnd::Signaled {
            signal: 11,
            core_dumped: false,
        };
        assert_eq!(
            reason(judge(&outcome(Err(ProtocolError::NoReport), end), &STRICT)),
            "killed by signal 11 (SIGSEGV)"
        );
        let end = ChildEnd::Signaled {
            signal: 6,
            core_dumped: true,
        };
        assert_eq!(
            reason(judge(&outcome(panicked("boom"), end), &STRICT)),
            "killed by signal 6 (SIGABRT), core dumped after it panicked at tests/t.rs:4:9: boom"
        );
    }

    #[test]
    fn a_panic_before_dying_is_named_but_never_passes() {
        let mut aborted = outcome(
            Err(ProtocolError::NoReport),
            ChildEnd::Signaled {
                signal: 6,
                core_dumped: false,
            },
        );
        aborted.clues.first_panic = Some(PanicRecord {
            message: Some("first".to_owned()),
            location: None,
            contains_expected: None,
        });
        let should_panic = Expectations {
            should_panic: ShouldPanic::Yes,
            ..STRICT
        };
        assert_eq!(
            reason(judge(&aborted, &should_panic)),
            "killed by signal 6 (SIGABRT) after it panicked: first"
        );
        aborted.end = ChildEnd::Exited(0);
        assert_eq!(
            reason(judge(&aborted, &should_panic)),
            "exited with status 0 before the test finished after it panicked: first (exiting is never a pass)"
        );
    }

    #[test]
    fn clues_name_what_killed_the_child() {
        let mut aborted = outcome(
            Err(ProtocolError::NoReport),
            ChildEnd::Signaled {
                signal: 6,
                core_dumped: false,
            },
        );
        aborted.clues.failed_allocation = Some(1 << 46);
        assert_eq!(
            reason(judge(&aborted, &STRICT)),
            "killed by signal 6 (SIGABRT) after an allocation of 70368744177664 bytes failed"
        );
    }

    #[test]
    fn signalling_the_harness_fails_even_a_passing_test() {
        let mut rude = outcome(returned(0), ChildEnd::Exited(0));
        rude.signalled_harness = Some(15);
        assert_eq!(
            reason(judge(&rude, &STRICT)),
            "sent signal 15 (SIGTERM) to the harness"
        );
    }

    #[test]
    fn should_panic_checks_the_message() {
        let expect = |should_panic| Expectations {
            should_panic,
            ..STRICT
        };
        let boom = outcome(panicked("big boom"), ChildEnd::Exited(0));
        assert_eq!(
            judge(&boom, &expect(ShouldPanic::WithMessage("boom"))),
            Verdict::Pass { note: None }
        );
        assert_eq!(
            reason(judge(&boom, &expect(ShouldPanic::WithMessage("bang")))),
            "panicked at tests/t.rs:4:9: big boom, but should have panicked with a message containing \"bang\""
        );
        assert_eq!(
            reason(judge(
                &outcome(returned(0), ChildEnd::Exited(0)),
                &expect(ShouldPanic::Yes)
            )),
            "returned normally, but should have panicked"
        );
    }

    #[test]
    fn leaks_fail_above_the_limit_only() {
        let leaky = outcome(returned(24), ChildEnd::Exited(0));
        assert_eq!(
            reason(judge(&leaky, &STRICT)),
            "leaked 24 bytes in 1 allocation (limit: 0 bytes); allow it with #[isolated_test(leak_limit = 24)] or #[isolated_test(allow_leaks)]"
        );
        let roomy = Expectations {
            leak_limit: Some(24),
            ..STRICT
        };
        assert_eq!(judge(&leaky, &roomy), Verdict::Pass { note: None });
        let allowed = Expectations {
            leak_limit: None,
            ..STRICT
        };
        assert_eq!(
            judge(&leaky, &allowed),
            Verdict::Pass {
                note: Some(Note::AllowedLeak(
                    "leaked 24 bytes in 1 allocation (allowed)".to_owned()
                ))
            }
        );
    }

    #[test]
    fn timeouts_win() {
        let mut hung = outcome(
            Err(ProtocolError::NoReport),
            ChildEnd::Signaled {
                signal: 9,
                core_dumped: false,
            },
        );
        hung.timed_out = Some(TimedOut {
            after: Duration::from_millis(2000),
            stopped_by: None,
        });
        assert_eq!(
            reason(judge(&hung, &STRICT)),
            "timed out after 2s; its process group was killed"
        );
        hung.timed_out = Some(TimedOut {
            after: Duration::from_millis(300),
            stopped_by: Some(libc::SIGSTOP),
        });
        assert_eq!(
            reason(judge(&hung, &STRICT)),
            "timed out after 300ms while stopped by signal 19 (SIGSTOP); its process group was killed"
        );
    }
}
