//! A test's pipes: its result channel, and its stdout and stderr where they are captured. The
//! parent's read ends are non-blocking and close-on-exec, so the watcher never blocks on a
//! child's output and no other child keeps them; each backend hands the write ends to its child.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::unistd::Pid;

use super::{ChildProcess, Launched};
use crate::registry::TestCase;
use crate::sys::{self, descriptors::close};

/// A pipe whose read end the parent polls without blocking and whose write end a child inherits.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(sys::pipes::pipe(true)?)
}

/// A pipe: its read end, then its write end.
pub(crate) type Pair = (OwnedFd, OwnedFd);

/// A new child's pipes: its result channel, and its stdout and stderr where they are captured.
pub(crate) struct ChildPipes {
    result: (OwnedFd, OwnedFd),
    stdout: Option<(OwnedFd, OwnedFd)>,
    stderr: Option<(OwnedFd, OwnedFd)>,
}

impl ChildPipes {
    /// A test's: stdout and stderr captured unless `--nocapture` (`capture` false).
    pub(crate) fn new(capture: bool, case: &TestCase) -> io::Result<Self> {
        // A `stderr = "regex"` test's stderr is captured even under `--nocapture`, and shown
        // after.
        Self::capturing(capture, capture || case.stderr.is_some())
    }

    /// A result channel, with stdout and stderr captured where asked.
    pub(crate) fn capturing(stdout: bool, stderr: bool) -> io::Result<Self> {
        Ok(Self {
            result: pipe()?,
            stdout: stdout.then(pipe).transpose()?,
            stderr: stderr.then(pipe).transpose()?,
        })
    }

    pub(crate) fn captures_stdout(&self) -> bool {
        self.stdout.is_some()
    }

    pub(crate) fn captures_stderr(&self) -> bool {
        self.stderr.is_some()
    }

    /// The ends the child writes: result, then stdout and stderr where captured.
    pub(crate) fn write_ends(&self) -> impl Iterator<Item = RawFd> + '_ {
        [
            Some(&self.result),
            self.stdout.as_ref(),
            self.stderr.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|(_read, write)| write.as_raw_fd())
    }

    /// In the parent, once child `pid` has them: the child with the read ends, the write ends
    /// closed.
    pub(crate) fn parent_ends(self, pid: Pid) -> Launched {
        let read_end = |pipe: Option<(OwnedFd, OwnedFd)>| {
            pipe.map(|(read, write)| {
                close(write);
                read
            })
        };
        Launched {
            process: ChildProcess::from_pid(pid),
            stdout: read_end(self.stdout),
            stderr: read_end(self.stderr),
            result: read_end(Some(self.result)).expect("the result pipe is always there"),
        }
    }

    /// In the child: the write ends (result, stdout, stderr), the read ends closed.
    pub(crate) fn child_ends(self) -> (OwnedFd, Option<OwnedFd>, Option<OwnedFd>) {
        let write_end = |pipe: Option<(OwnedFd, OwnedFd)>| {
            pipe.map(|(read, write)| {
                close(read);
                write
            })
        };
        let result = write_end(Some(self.result)).expect("the result pipe is always there");
        (result, write_end(self.stdout), write_end(self.stderr))
    }

    /// Each pipe as (read end, write end): the result channel's, then stdout's and stderr's
    /// where captured.
    pub(crate) fn into_pairs(self) -> (Pair, Option<Pair>, Option<Pair>) {
        (self.result, self.stdout, self.stderr)
    }
}
