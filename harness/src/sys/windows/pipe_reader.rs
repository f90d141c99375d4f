//! A child's pipe as the supervisor reads it on Windows, where an anonymous pipe cannot be
//! polled: a thread of the harness reads it (blocking) into an inbox, and the supervisor takes
//! from the inbox without ever blocking. Every reader, and every child's end, announces news
//! ([`announce`]), which is what the supervisor's wait sleeps on ([`wait_for_news`]).
//!
//! The harness forks nothing on Windows, so threads of its own are sound there.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// How much an inbox holds before its reader waits for the supervisor: the pipe's own bound.
const INBOX_LIMIT: usize = 1 << 20;

/// How many times news was announced, and the supervisor's wait for more.
static NEWS: (Mutex<u64>, Condvar) = (Mutex::new(0), Condvar::new());

/// Wakes the supervisor: a pipe has bytes or ended, or a child ended.
pub(crate) fn announce() {
    let (count, changed) = &NEWS;
    *count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
    changed.notify_all();
}

/// Sleeps until news newer than `seen` (which it updates) or `timeout`; returns whether there
/// was news.
pub(crate) fn wait_for_news(seen: &mut u64, timeout: Option<Duration>) -> bool {
    let (count, changed) = &NEWS;
    let guard = count.lock().unwrap_or_else(PoisonError::into_inner);
    let guard = match timeout {
        Some(timeout) => {
            changed
                .wait_timeout_while(guard, timeout, |count| *count == *seen)
                .unwrap_or_else(PoisonError::into_inner)
                .0
        }
        None => changed
            .wait_while(guard, |count| *count == *seen)
            .unwrap_or_else(PoisonError::into_inner),
    };
    let news = *guard != *seen;
    *seen = *guard;
    news
}

/// What one read of an inbox gave.
pub(crate) enum ReadNow {
    /// This many bytes.
    Bytes(usize),
    /// Nothing yet.
    Empty,
    /// The pipe ended, and all it carried was taken.
    Ended,
}

#[derive(Default)]
struct Inbox {
    bytes: VecDeque<u8>,
    ended: bool,
    /// The supervisor dropped its end: what comes is read and thrown away, so that the child
    /// (or what it started) never waits on a full inbox nobody takes from.
    abandoned: bool,
}

/// A pipe's read end, read by a thread of its own.
#[derive(Debug)]
pub(crate) struct ThreadedReader {
    inbox: Arc<(Mutex<InboxCell>, Condvar)>,
}

/// The inbox, behind its lock.
#[derive(Default)]
struct InboxCell(Inbox);

impl std::fmt::Debug for InboxCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox")
            .field("bytes", &self.0.bytes.len())
            .field("ended", &self.0.ended)
            .finish()
    }
}

impl ThreadedReader {
    /// Starts reading `pipe` on a thread of its own, until its end of file.
    pub(crate) fn start(mut pipe: io::PipeReader) -> io::Result<Self> {
        let inbox = Arc::new((Mutex::new(InboxCell::default()), Condvar::new()));
        let filled = Arc::clone(&inbox);
        std::thread::Builder::new()
            .name("isolated-test pipe reader".into())
            .spawn(move || {
                let mut buffer = vec![0; 64 << 10];
                loop {
                    let read = pipe.read(&mut buffer);
                    let (cell, drained) = &*filled;
                    let mut cell = cell.lock().unwrap_or_else(PoisonError::into_inner);
                    match read {
                        Ok(n) if n > 0 && cell.0.abandoned => continue,
                        Ok(n) if n > 0 => cell.0.bytes.extend(&buffer[..n]),
                        Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                        _ => {
                            cell.0.ended = true;
                            drop(cell);
                            announce();
                            return;
                        }
                    }
                    // A child that writes faster than the supervisor takes waits, as it would
                    // on a full pipe.
                    let cell = drained
                        .wait_while(cell, |cell| {
                            cell.0.bytes.len() >= INBOX_LIMIT && !cell.0.abandoned
                        })
                        .unwrap_or_else(PoisonError::into_inner);
                    drop(cell);
                    announce();
                }
            })?;
        Ok(Self { inbox })
    }

    /// Takes what the inbox holds, up to `buffer.len()` bytes. Never blocks on the child.
    pub(crate) fn read_now(&self, buffer: &mut [u8]) -> ReadNow {
        let (cell, drained) = &*self.inbox;
        let mut cell = cell.lock().unwrap_or_else(PoisonError::into_inner);
        let inbox = &mut cell.0;
        if inbox.bytes.is_empty() {
            return if inbox.ended {
                ReadNow::Ended
            } else {
                ReadNow::Empty
            };
        }
        let n = buffer.len().min(inbox.bytes.len());
        for (slot, byte) in buffer.iter_mut().zip(inbox.bytes.drain(..n)) {
            *slot = byte;
        }
        drained.notify_all();
        ReadNow::Bytes(n)
    }
}

impl Drop for ThreadedReader {
    fn drop(&mut self) {
        let (cell, drained) = &*self.inbox;
        let mut cell = cell.lock().unwrap_or_else(PoisonError::into_inner);
        cell.0.abandoned = true;
        cell.0.bytes = VecDeque::new();
        drained.notify_all();
    }
}
