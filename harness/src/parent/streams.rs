//! A started child's pipes as its watcher reads them: drained without ever blocking, kept within
//! bounds, and once the child ended, decoded with its typed end into a [`ChildOutcome`]. The
//! supervisor's children and an isolated call's child are read alike.

use std::time::Instant;

use super::launch::{ReadEnd, Reaped};
use crate::outcome::{CapturedStream, ChildOutcome, SignalNumber, TimedOut};
use crate::wire::{self, ChannelContents};

#[cfg(unix)]
use crate::sys::descriptors::close;
#[cfg(windows)]
use crate::sys::windows::pipe_reader::{ReadNow, ThreadedReader};
#[cfg(windows)]
use std::mem::drop as close;

/// How much of a pipe one read takes.
pub(super) const CHUNK: usize = 64 << 10;

/// How long an ended child's pipes are waited for to their end of file, on Windows (where
/// threads read them): what holds one open after the child's job was killed is none of its.
#[cfg(windows)]
const LAST_BYTES: std::time::Duration = std::time::Duration::from_secs(2);

/// One of a child's pipes.
#[derive(Clone, Copy)]
pub(super) enum Stream {
    Stdout,
    Stderr,
    Result,
}

/// The parent's read ends of a child's pipes, and what came through them.
pub(super) struct ChildStreams {
    stdout: Option<ReadEnd>,
    stderr: Option<ReadEnd>,
    result: Option<ReadEnd>,
    captured_stdout: CapturedStream,
    captured_stderr: CapturedStream,
    /// What its result channel held so far: never more than the channel's limit and a byte,
    /// enough to tell it was exceeded.
    pub(super) result_bytes: Vec<u8>,
}

/// What the watcher knows of an ended child beside what its pipes said.
pub(super) struct Ended {
    pub(super) reaped: Reaped,
    /// Its token: the result channel's frames carry it.
    pub(super) token: u64,
    pub(super) timed_out: Option<TimedOut>,
    pub(super) signalled_harness: Option<SignalNumber>,
    pub(super) started: Instant,
}

impl ChildStreams {
    /// A started child's read ends; `None` for a stream it writes to the harness's own.
    pub(super) fn new(stdout: Option<ReadEnd>, stderr: Option<ReadEnd>, result: ReadEnd) -> Self {
        Self {
            stdout,
            stderr,
            result: Some(result),
            captured_stdout: CapturedStream::default(),
            captured_stderr: CapturedStream::default(),
            result_bytes: Vec::new(),
        }
    }

    fn pipe(&mut self, stream: Stream) -> &mut Option<ReadEnd> {
        match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
            Stream::Result => &mut self.result,
        }
    }

    pub(super) fn close(&mut self, stream: Stream) {
        if let Some(end) = self.pipe(stream).take() {
            close(end);
        }
    }

    /// Whether `stream`'s pipe is still open.
    #[cfg(unix)]
    pub(super) fn is_open(&self, stream: Stream) -> bool {
        match stream {
            Stream::Stdout => self.stdout.is_some(),
            Stream::Stderr => self.stderr.is_some(),
            Stream::Result => self.result.is_some(),
        }
    }

    /// Whether every pipe is closed: the child has said all it will.
    pub(super) fn all_closed(&self) -> bool {
        self.open_pipes().next().is_none()
    }

    fn keep(&mut self, stream: Stream, bytes: &[u8]) {
        match stream {
            Stream::Stdout => self.captured_stdout.push(bytes),
            Stream::Stderr => self.captured_stderr.push(bytes),
            Stream::Result => {
                let room = (wire::MAX_CHANNEL_BYTES + 1).saturating_sub(self.result_bytes.len());
                self.result_bytes
                    .extend_from_slice(&bytes[..bytes.len().min(room)]);
            }
        }
    }

    /// Reads what `stream` holds now, up to `max_reads` chunks; closes it at end of file.
    /// Returns how many bytes it took.
    pub(super) fn drain(&mut self, stream: Stream, buffer: &mut [u8], max_reads: usize) -> usize {
        let mut taken = 0;
        for _ in 0..max_reads {
            let Some(end) = self.pipe(stream).as_ref() else {
                break;
            };
            match read_now(end, buffer) {
                ReadNow::Ended => {
                    self.close(stream);
                    break;
                }
                ReadNow::Bytes(n) => {
                    self.keep(stream, &buffer[..n]);
                    taken += n;
                    if n < buffer.len() {
                        // A pipe hands over all it holds: it is empty now, and another read
                        // would only say so.
                        break;
                    }
                }
                ReadNow::Empty => break,
            }
        }
        taken
    }

    /// Once the child ended: takes all its pipes still hold, and closes them. A grandchild
    /// holding them open cannot make the watcher wait: these reads stop at "would block".
    #[cfg(unix)]
    pub(super) fn drain_to_end(&mut self, buffer: &mut [u8]) {
        for stream in [Stream::Stdout, Stream::Stderr, Stream::Result] {
            self.drain(stream, buffer, usize::MAX);
            self.close(stream);
        }
    }

    /// Once the child ended: takes all its pipes still hold, and closes them. When its end is
    /// heard of, its last bytes may still be on their way from the pipe to the reader thread's
    /// inbox (its result among them: taken as lost, a passing test read "exited with status 0"),
    /// so each pipe is read to its end of file, which comes at once now that the child and its
    /// job are gone; for [`LAST_BYTES`] at most.
    #[cfg(windows)]
    pub(super) fn drain_to_end(&mut self, buffer: &mut [u8]) {
        let deadline = Instant::now() + LAST_BYTES;
        let mut seen = 0;
        for stream in [Stream::Stdout, Stream::Stderr, Stream::Result] {
            loop {
                self.drain(stream, buffer, usize::MAX);
                let left = deadline.saturating_duration_since(Instant::now());
                if self.pipe(stream).is_none() || left.is_zero() {
                    break;
                }
                crate::sys::windows::pipe_reader::wait_for_news(&mut seen, Some(left));
            }
            self.close(stream);
        }
    }

    pub(super) fn open_pipes(&self) -> impl Iterator<Item = (Stream, &ReadEnd)> + '_ {
        [
            (Stream::Stdout, &self.stdout),
            (Stream::Stderr, &self.stderr),
            (Stream::Result, &self.result),
        ]
        .into_iter()
        .filter_map(|(stream, end)| end.as_ref().map(|end| (stream, end)))
    }

    /// The outcome of the ended child that wrote them: its channel decoded, with its end.
    pub(super) fn into_outcome(self, ended: Ended) -> ChildOutcome {
        let ChannelContents { report, clues } = wire::decode(ended.token, &self.result_bytes);
        ChildOutcome {
            report,
            clues,
            signalled_harness: ended.signalled_harness,
            end: ended.reaped.end,
            timed_out: ended.timed_out,
            duration: ended.started.elapsed(),
            usage: ended.reaped.usage,
            stdout: self.captured_stdout,
            stderr: self.captured_stderr,
        }
    }
}

/// What one read of a pipe's read end gave, without blocking.
#[cfg(unix)]
enum ReadNow {
    Bytes(usize),
    /// Nothing now: it would block.
    Empty,
    /// End of file, or an error that ends it alike.
    Ended,
}

/// Reads what `end` holds now, up to `buffer.len()` bytes.
#[cfg(unix)]
fn read_now(end: &ReadEnd, buffer: &mut [u8]) -> ReadNow {
    use nix::errno::Errno;
    loop {
        return match nix::unistd::read(end, buffer) {
            Ok(0) => ReadNow::Ended,
            Ok(n) => ReadNow::Bytes(n),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => ReadNow::Empty,
            Err(_) => ReadNow::Ended,
        };
    }
}

/// Takes what the inbox a thread filled from `end` holds now, up to `buffer.len()` bytes.
#[cfg(windows)]
fn read_now(end: &ThreadedReader, buffer: &mut [u8]) -> ReadNow {
    end.read_now(buffer)
}
