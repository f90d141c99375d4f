//! A started child's pipes as its watcher reads them: drained without ever blocking, kept within
//! bounds, and once the child ended, decoded with its typed end into a [`ChildOutcome`]. The
//! supervisor's children and an isolated call's child are read alike.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Instant;

use nix::errno::Errno;
use nix::unistd;

use super::launch::Reaped;
use crate::outcome::{CapturedStream, ChildOutcome, SignalNumber, TimedOut};
use crate::sys::descriptors::close;
use crate::wire::{self, ChannelContents};

/// How much of a pipe one read takes.
pub(super) const CHUNK: usize = 64 << 10;

/// One of a child's pipes.
#[derive(Clone, Copy)]
pub(super) enum Stream {
    Stdout,
    Stderr,
    Result,
}

/// The parent's read ends of a child's pipes, and what came through them.
pub(super) struct ChildStreams {
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    result: Option<OwnedFd>,
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
    pub(super) fn new(stdout: Option<OwnedFd>, stderr: Option<OwnedFd>, result: OwnedFd) -> Self {
        Self {
            stdout,
            stderr,
            result: Some(result),
            captured_stdout: CapturedStream::default(),
            captured_stderr: CapturedStream::default(),
            result_bytes: Vec::new(),
        }
    }

    fn pipe(&mut self, stream: Stream) -> &mut Option<OwnedFd> {
        match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
            Stream::Result => &mut self.result,
        }
    }

    pub(super) fn close(&mut self, stream: Stream) {
        if let Some(fd) = self.pipe(stream).take() {
            close(fd);
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
    pub(super) fn drain(&mut self, stream: Stream, buffer: &mut [u8], max_reads: usize) {
        for _ in 0..max_reads {
            let Some(fd) = self.pipe(stream).as_ref() else {
                return;
            };
            match unistd::read(fd, buffer) {
                Ok(0) => {
                    self.close(stream);
                    return;
                }
                Ok(n) => {
                    self.keep(stream, &buffer[..n]);
                    if n < buffer.len() {
                        // A pipe hands over all it holds: it is empty now, and another read
                        // would only say so.
                        return;
                    }
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return,
                Err(_) => {
                    self.close(stream);
                    return;
                }
            }
        }
    }

    /// Once the child ended: takes all its pipes still hold, and closes them. A grandchild
    /// holding them open cannot make the watcher wait: these reads stop at "would block".
    pub(super) fn drain_to_end(&mut self, buffer: &mut [u8]) {
        for stream in [Stream::Stdout, Stream::Stderr, Stream::Result] {
            self.drain(stream, buffer, usize::MAX);
            self.close(stream);
        }
    }

    pub(super) fn open_pipes(&self) -> impl Iterator<Item = (Stream, RawFd)> + '_ {
        [
            (Stream::Stdout, &self.stdout),
            (Stream::Stderr, &self.stderr),
            (Stream::Result, &self.result),
        ]
        .into_iter()
        .filter_map(|(stream, fd)| fd.as_ref().map(|fd| (stream, fd.as_raw_fd())))
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
