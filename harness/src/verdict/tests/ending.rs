//! How a child ended: by the signal or exit a test expects, or otherwise, and what it said.

use super::*;
use crate::outcome::{MemoryLimitHit, TimedOut};

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
