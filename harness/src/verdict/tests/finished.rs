//! A child that finished its body: should_panic, its heap, and what it left.

use super::*;
use crate::outcome::LeftDescriptors;

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
