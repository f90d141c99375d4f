//! Judging what a returning test left behind besides heap: open descriptors, running threads.

use super::{fail, Expectations, Failure, Note, Verdict};
use crate::outcome::{LeftDescriptors, Leftovers};

/// A returning test's verdict on its heap, `heap_verdict`, and then on what else it left: open
/// descriptors fail it as a leak does (noted under `allow_leaks`); threads still running are
/// noted (a failure under `strict_leaks`).
pub(super) fn judge_left(
    heap_verdict: Verdict,
    left: &Leftovers,
    expect: &Expectations,
) -> Verdict {
    let descriptors = match &left.descriptors {
        None => Ok(None),
        Some(left) if expect.leak_limit.is_some() => Err(Failure::LeftDescriptors(left.clone())),
        Some(left) => Ok(Some(Note::AllowedDescriptors(left.clone()))),
    };
    judge_left_with(heap_verdict, descriptors, left.threads, expect)
}

/// [`judge_left`], the descriptors judged already: a failure, or what to note of them.
pub(super) fn judge_left_with(
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

/// What the descriptors a test left open come to, once a second run told which it held: a
/// failure for those nothing holds, or a note. The second run numbered its test's descriptors
/// from higher up: its k-th stands for the first run's k-th (each opened the same ones in the
/// same order), and the first run's numbers, the ones the test sees, are the ones said.
pub(super) fn judge_held(
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
