//! When the supervisor leaves a child's captured stdout or stderr unwatched for a moment.
//!
//! A pipe's reader is woken by the first byte written into an empty pipe. A harness that polls a
//! captured stream at all times drains it at each wake, so the next line finds it empty again: a
//! test that prints a million short lines wakes the harness about a million times, and its
//! writes pay for each wake-up (a million `eprintln!` lines, about 3 million writes: 5.0 s
//! watched at all times, 2.1 s rested as below, paired, in a release build on 2 busy cores).
//!
//! So a captured stream that a drain found holding less than a pipe's worth of bytes is left out
//! of the poll for [`OUTPUT_REST`]: the test's lines pile up in the pipe meanwhile, and the next
//! drain takes them in a few reads. Nothing is lost or reordered (the bytes wait in the kernel,
//! and a stream is read in order), and nothing waits on it: a child's end is still heard of at
//! once (SIGCHLD), and its pipes are then read to their end; its result channel is never rested,
//! and once that channel is closed (the child said its last word, and is about to exit) its
//! output is watched again, so that its slot frees as soon as it has said all. A drain that found
//! a pipe's worth or more (a writer that may have been kept waiting for room) rests nothing: the
//! stream is read again as soon as it holds more, as before, so that a test that writes large
//! blocks is never slowed down to a pipe per rest.
//!
//! Only the supervisor's poll (Unix) rests a stream; on Windows a thread reads each pipe as it
//! fills, and an isolated call's watcher reads its pipes as they come.

use std::time::{Duration, Instant};

use super::streams::{Stream, CHUNK};

/// How long a captured stream that was read dry is left unwatched: a line-by-line writer's bytes
/// (some 30 MB a second, a test doing nothing else) fit in a pipe's 64 KiB meanwhile, and the
/// harness wakes for that stream at most about a thousand times a second.
pub(super) const OUTPUT_REST: Duration = Duration::from_millis(1);

/// How many bytes one drain must take for its stream to be read again at once: a default pipe's
/// capacity on Linux (and the most a pipe holds on macOS and FreeBSD without a large write).
const FULL_PIPE: usize = CHUNK;

/// Until when each captured stream of one child is left out of the poll.
#[derive(Debug, Default)]
pub(super) struct OutputRests {
    stdout: Option<Instant>,
    stderr: Option<Instant>,
}

impl OutputRests {
    fn slot(&mut self, stream: Stream) -> Option<&mut Option<Instant>> {
        match stream {
            Stream::Stdout => Some(&mut self.stdout),
            Stream::Stderr => Some(&mut self.stderr),
            Stream::Result => None,
        }
    }

    /// After a drain of `stream` that took `taken` bytes at `now`.
    pub(super) fn drained(&mut self, stream: Stream, taken: usize, now: Instant) {
        if let Some(until) = self.slot(stream) {
            *until = (taken > 0 && taken < FULL_PIPE).then(|| now + OUTPUT_REST);
        }
    }

    /// Whether `stream` is left out of a poll made at `now`.
    pub(super) fn resting(&self, stream: Stream, now: Instant) -> bool {
        let until = match stream {
            Stream::Stdout => self.stdout,
            Stream::Stderr => self.stderr,
            Stream::Result => None,
        };
        until.is_some_and(|until| until > now)
    }

    /// When the first rest still running at `now` ends.
    pub(super) fn next_end(&self, now: Instant) -> Option<Instant> {
        [self.stdout, self.stderr]
            .into_iter()
            .flatten()
            .filter(|&until| until > now)
            .min()
    }

    /// Ends every rest: the child said its last word.
    pub(super) fn end_all(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_read_dry_rests_and_one_read_full_does_not() {
        let now = Instant::now();
        let mut rests = OutputRests::default();
        rests.drained(Stream::Stderr, 30, now);
        assert!(rests.resting(Stream::Stderr, now));
        assert!(!rests.resting(Stream::Stderr, now + OUTPUT_REST));
        assert!(!rests.resting(Stream::Stdout, now));
        assert_eq!(rests.next_end(now), Some(now + OUTPUT_REST));

        rests.drained(Stream::Stderr, FULL_PIPE, now);
        assert!(!rests.resting(Stream::Stderr, now));
        assert_eq!(rests.next_end(now), None);
    }

    #[test]
    fn nothing_read_and_the_result_channel_never_rest() {
        let now = Instant::now();
        let mut rests = OutputRests::default();
        rests.drained(Stream::Stdout, 0, now);
        rests.drained(Stream::Result, 30, now);
        assert!(!rests.resting(Stream::Stdout, now));
        assert!(!rests.resting(Stream::Result, now));
    }

    #[test]
    fn the_last_word_ends_every_rest() {
        let now = Instant::now();
        let mut rests = OutputRests::default();
        rests.drained(Stream::Stdout, 1, now);
        rests.drained(Stream::Stderr, 1, now + OUTPUT_REST / 2);
        assert_eq!(rests.next_end(now), Some(now + OUTPUT_REST));
        rests.end_all();
        assert!(!rests.resting(Stream::Stdout, now) && !rests.resting(Stream::Stderr, now));
    }
}
