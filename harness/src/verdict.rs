//! Turning what a child did into pass or fail: typed, with no text (the report words it).
//!
//! A pure function of plain data: a test passes only when its child sent a valid report that
//! says so and then ended normally.

use nix::sys::signal::Signal;

use crate::outcome::{ChildEnd, ChildOutcome, ChildReport, HeapDelta, LeftDescriptors};
use crate::outcome::{Leftovers, MemoryLimitHit, Mishaps, PanicRecord, ProtocolError};
use crate::outcome::{SetupFailure, SignalNumber, TimedOut, TrackedLeaks};
use crate::outcome::{CHANNEL_LOST_LINE, EXIT_CHANNEL_LOST};
use crate::registry::{ExpectedEnd, ShouldPanic};

/// Heap growth this large is worth naming the sites of, still reachable or not.
pub(crate) const LARGE_GROWTH: u64 = 1 << 20;

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
    /// Passed; the note is said after the run.
    Pass(Option<Note>),
    Fail(Failure),
}

/// Something a passing test did that the user should still hear about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Note {
    /// `allow_leaks` let this leak pass.
    AllowedLeak { bytes: u64, blocks: u64 },
    /// No counting allocator is installed, so the leak check could not be done.
    LeakCheckUnavailable,
    /// The heap grew by this much, but not in a second run that tracked allocations: nothing to
    /// count.
    NotReproducible { bytes: u64, blocks: u64 },
    /// `allow_leaks` let these descriptors stay open.
    AllowedDescriptors(LeftDescriptors),
    /// It left these descriptors open, each held by what the body wrote (a registry, a static, a
    /// live thread): kept by state that outlives it, as still reachable memory is, no leak.
    HeldDescriptors(LeftDescriptors),
    /// It left these descriptors open, but a second run that tracked allocations left none: not
    /// reproducible, not counted.
    DescriptorsNotReproducible(LeftDescriptors),
    /// It returned while threads it started still ran.
    LeftThreads { threads: u32 },
}

/// Why a test failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Killed at its timeout.
    TimedOut(TimedOut),
    /// A process the test forked came back out of the body (`panicked`: by unwinding).
    ForkedCopyReturned { panicked: bool },
    /// The test's process group sent this signal to the harness.
    SignalledHarness(SignalNumber),
    /// A death test that ended otherwise.
    NotKilledBy {
        expected: SignalNumber,
        ending: Ending,
    },
    /// An exit test that ended otherwise.
    NotExitedWith { expected: i32, ending: Ending },
    /// Ended as expected, but its stderr does not match the test's regex.
    StderrMismatch { pattern: &'static str },
    /// The test's stderr regex does not compile.
    InvalidStderrRegex {
        pattern: &'static str,
        error: String,
    },
    /// An allocation over the memory limit was refused, and the child died of it.
    OverMemoryLimit(MemoryLimitHit),
    /// It ended in a way that is never a pass.
    Ended(Ending),
    /// It returned, but `should_panic` asked for a panic (with this text, if any).
    ShouldHavePanicked { expected: Option<&'static str> },
    /// It panicked without the text `should_panic` asked for.
    WrongPanic {
        panic: PanicRecord,
        expected: &'static str,
    },
    /// Its heap peaked above `max_peak`.
    PeakOverMax { peak: u64, max: u64 },
    /// It left more heap than its leak limit allows.
    Leaked { bytes: u64, blocks: u64, limit: u64 },
    /// It left descriptors open that were not open before its body.
    LeftDescriptors(LeftDescriptors),
    /// `strict_leaks`: it returned while threads it started still ran.
    LeftThreads { threads: u32 },
    /// Its child could not be started.
    NotStarted(String),
    /// Its setup failed: it never ran.
    Setup(SetupFailure),
}

impl Failure {
    /// Whether it failed for a leak: where the leaked blocks came from is worth finding out.
    pub(crate) fn is_leak(&self) -> bool {
        matches!(self, Failure::Leaked { .. })
    }

    /// How the test's process died, where it died on its own in a way libtest's process would
    /// have died too: by a signal, or exiting early with a status other than 0 (an early exit 0
    /// reads as a pass from outside, which it never is).
    pub(crate) fn death(&self) -> Option<Death> {
        let ending = match self {
            Failure::Ended(ending)
            | Failure::NotKilledBy { ending, .. }
            | Failure::NotExitedWith { ending, .. } => ending,
            _ => return None,
        };
        match *ending {
            Ending::Killed { signal, .. } => Some(Death::Signal(signal)),
            Ending::ExitedEarly { code, .. } if code != 0 => Some(Death::Exit(code)),
            _ => None,
        }
    }
}

/// How a test's process died on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Death {
    Signal(SignalNumber),
    Exit(i32),
}

/// How a child ended, read from its report and its exit together: the one classification that
/// both a failure and the "but it ..." of a death test that ended otherwise are told from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// It finished the body and exited normally; the report says how the body ended.
    Reported(ChildReport),
    Killed {
        signal: SignalNumber,
        core_dumped: bool,
        last_words: Option<LastWords>,
    },
    ExitedAfterReport {
        code: i32,
    },
    /// The test closed or replaced its result channel.
    ChannelLost,
    /// It exited before the test finished.
    ExitedEarly {
        code: i32,
        last_words: Option<LastWords>,
    },
    /// What it sent is not a valid report.
    InvalidReport(ProtocolError),
    /// It could not be reaped: its end is unknown.
    NotReaped,
}

/// What a child that died was doing, when it said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LastWords {
    MemoryLimit(MemoryLimitHit),
    FailedAllocation(u64),
    Panicked(PanicRecord),
}

impl Ending {
    pub(crate) fn of(outcome: &ChildOutcome) -> Self {
        let last_words = last_words(&outcome.clues.mishaps);
        match (&outcome.report, outcome.end) {
            (
                _,
                ChildEnd::Signaled {
                    signal,
                    core_dumped,
                },
            ) => Ending::Killed {
                signal,
                core_dumped,
                last_words,
            },
            (_, ChildEnd::NotReaped) => Ending::NotReaped,
            (Ok(report), ChildEnd::Exited(0)) => Ending::Reported(report.clone()),
            (Ok(_), ChildEnd::Exited(code)) => Ending::ExitedAfterReport { code },
            _ if lost_channel(outcome) => Ending::ChannelLost,
            (Err(ProtocolError::NoReport), ChildEnd::Exited(code)) => {
                Ending::ExitedEarly { code, last_words }
            }
            (Err(error), _) => Ending::InvalidReport(error.clone()),
        }
    }
}

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

fn last_words(mishaps: &Mishaps) -> Option<LastWords> {
    if let Some(hit) = mishaps.memory_limit {
        return Some(LastWords::MemoryLimit(hit));
    }
    if let Some(size) = mishaps.failed_allocation {
        return Some(LastWords::FailedAllocation(size));
    }
    mishaps.first_panic.clone().map(LastWords::Panicked)
}

/// The verdict on a test that must finish its body: return, or panic as `should_panic` asks.
fn judge_finished(outcome: &ChildOutcome, expect: &Expectations) -> Verdict {
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

fn judge_heap(heap: Option<HeapDelta>, expect: &Expectations) -> Verdict {
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

/// A returning test's verdict on its heap, `heap_verdict`, and then on what else it left: open
/// descriptors fail it as a leak does (noted under `allow_leaks`); threads still running are
/// noted (a failure under `strict_leaks`).
fn judge_left(heap_verdict: Verdict, left: &Leftovers, expect: &Expectations) -> Verdict {
    let descriptors = match &left.descriptors {
        None => Ok(None),
        Some(left) if expect.leak_limit.is_some() => Err(Failure::LeftDescriptors(left.clone())),
        Some(left) => Ok(Some(Note::AllowedDescriptors(left.clone()))),
    };
    judge_left_with(heap_verdict, descriptors, left.threads, expect)
}

/// [`judge_left`], the descriptors judged already: a failure, or what to note of them.
fn judge_left_with(
    heap_verdict: Verdict,
    descriptors: Result<Option<Note>, Failure>,
    threads: u32,
    expect: &Expectations,
) -> Verdict {
    let Verdict::Pass(mut note) = heap_verdict else {
        return heap_verdict;
    };
    match descriptors {
        Err(failure) => return fail(failure),
        Ok(descriptors) => note = note.or(descriptors),
    }
    if threads > 0 {
        if expect.strict_leaks {
            return fail(Failure::LeftThreads { threads });
        }
        note = note.or(Some(Note::LeftThreads { threads }));
    }
    Verdict::Pass(note)
}

/// The bytes and blocks a heap delta left, none below zero.
pub(crate) fn left(heap: HeapDelta) -> (u64, u64) {
    (heap.net_bytes.max(0) as u64, heap.net_blocks.max(0) as u64)
}

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

/// What the descriptors a test left open come to, once a second run told which it held: a
/// failure for those nothing holds, or a note. The second run numbered its test's descriptors
/// from higher up: its k-th stands for the first run's k-th (each opened the same ones in the
/// same order), and the first run's numbers, the ones the test sees, are the ones said.
fn judge_held(
    first_left: &LeftDescriptors,
    second_left: Option<&LeftDescriptors>,
    held: &[i32],
) -> Result<Note, Failure> {
    let Some(second_left) = second_left.filter(|second| second.count == first_left.count) else {
        return Ok(Note::DescriptorsNotReproducible(first_left.clone()));
    };
    let held_ranks: Vec<usize> = (second_left.named.iter().enumerate())
        .filter(|(_, (fd, _))| held.contains(fd))
        .map(|(rank, _)| rank)
        .collect();
    let unheld = LeftDescriptors {
        count: first_left.count.saturating_sub(held.len() as u32),
        named: (first_left.named.iter().enumerate())
            .filter(|(rank, _)| !held_ranks.contains(rank))
            .map(|(_, named)| named.clone())
            .collect(),
    };
    match unheld.count {
        0 => Ok(Note::HeldDescriptors(first_left.clone())),
        _ => Err(Failure::LeftDescriptors(unheld)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{CapturedStream, Clues};
    use std::time::Duration;

    fn outcome(report: Result<ChildReport, ProtocolError>, end: ChildEnd) -> ChildOutcome {
        let first_panic = match &report {
            Ok(ChildReport::Panicked(panic)) => Some(panic.clone()),
            _ => None,
        };
        ChildOutcome {
            report,
            clues: Clues {
                mishaps: Mishaps {
                    first_panic,
                    ..Mishaps::default()
                },
                ..Clues::default()
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
        signal: SignalNumber(11),
        core_dumped: false,
    };
    const ABRT: ChildEnd = ChildEnd::Signaled {
        signal: SignalNumber(6),
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
        aborted.clues.mishaps.first_panic = Some(PanicRecord {
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
        aborted.clues.mishaps.memory_limit = Some(MemoryLimitHit {
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
            location: Some(crate::outcome::PanicLocation {
                file: "tests/t.rs".to_owned(),
                line: 4,
                column: 9,
            }),
        }))
    }

    fn reason(verdict: Verdict) -> String {
        match verdict {
            Verdict::Fail(failure) => failure.to_string(),
            pass => panic!("expected a failure, got {pass:?}"),
        }
    }

    #[test]
    fn a_pass_needs_a_report_and_a_clean_exit() {
        let ok = judge(&outcome(returned(0), ChildEnd::Exited(0)), &STRICT);
        assert_eq!(ok, Verdict::Pass(None));
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
            signal: SignalNumber(11),
            core_dumped: false,
        };
        assert_eq!(
            reason(judge(&outcome(Err(ProtocolError::NoReport), end), &STRICT)),
            "killed by signal 11 (SIGSEGV)"
        );
        let end = ChildEnd::Signaled {
            signal: SignalNumber(6),
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
                signal: SignalNumber(6),
                core_dumped: false,
            },
        );
        aborted.clues.mishaps.first_panic = Some(PanicRecord {
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
                signal: SignalNumber(6),
                core_dumped: false,
            },
        );
        aborted.clues.mishaps.failed_allocation = Some(1 << 46);
        assert_eq!(
            reason(judge(&aborted, &STRICT)),
            "killed by signal 6 (SIGABRT) after an allocation of 70368744177664 bytes failed"
        );
    }

    #[test]
    fn signalling_the_harness_fails_even_a_passing_test() {
        let mut rude = outcome(returned(0), ChildEnd::Exited(0));
        rude.signalled_harness = Some(SignalNumber(15));
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
            Verdict::Pass(None)
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
        assert_eq!(judge(&leaky, &roomy), Verdict::Pass(None));
        let allowed = Expectations {
            leak_limit: None,
            ..STRICT
        };
        let Verdict::Pass(Some(note)) = judge(&leaky, &allowed) else {
            panic!("an allowed leak passes with a note");
        };
        assert_eq!(
            note.to_string(),
            "leaked 24 bytes in 1 allocation (allowed)"
        );
    }

    #[test]
    fn descriptors_fail_as_a_leak_does_and_threads_are_noted_unless_strict() {
        let mut left = outcome(returned(0), ChildEnd::Exited(0));
        left.clues.left.descriptors = Some(LeftDescriptors {
            count: 1,
            named: vec![(7, "/tmp/x.db".to_owned())],
        });
        left.clues.left.threads = 2;
        assert_eq!(
            reason(judge(&left, &STRICT)),
            "left 1 descriptor open: fd 7 → /tmp/x.db; allow it with #[isolated_test(allow_leaks)]"
        );
        let allowed = Expectations {
            leak_limit: None,
            ..STRICT
        };
        let Verdict::Pass(Some(note)) = judge(&left, &allowed) else {
            panic!("allowed descriptors pass with a note");
        };
        assert_eq!(
            note.to_string(),
            "left 1 descriptor open: fd 7 → /tmp/x.db (allowed)"
        );
        left.clues.left.descriptors = None;
        let Verdict::Pass(Some(note)) = judge(&left, &STRICT) else {
            panic!("threads still running are noted");
        };
        assert_eq!(
            note.to_string(),
            "returned while 2 threads it started still ran"
        );
        let strict = Expectations {
            strict_leaks: true,
            ..STRICT
        };
        assert_eq!(
            reason(judge(&left, &strict)),
            "returned while 2 threads it started still ran (strict_leaks)"
        );
        // A heap leak is said first: its sites are worth finding.
        let leaky = ChildOutcome {
            report: returned(24),
            ..left
        };
        assert!(reason(judge(&leaky, &STRICT)).starts_with("leaked 24 bytes"));
    }

    #[test]
    fn timeouts_win() {
        let mut hung = outcome(
            Err(ProtocolError::NoReport),
            ChildEnd::Signaled {
                signal: SignalNumber(9),
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
            stopped_by: Some(SignalNumber(libc::SIGSTOP)),
        });
        assert_eq!(
            reason(judge(&hung, &STRICT)),
            "timed out after 300ms while stopped by signal 19 (SIGSTOP); its process group was killed"
        );
    }
}
