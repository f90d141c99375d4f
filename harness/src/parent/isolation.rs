//! The caller's side of an isolated call: its child started by the fork backend
//! ([`start_call`]), watched until it ends or its time is up, and reaped to the typed end a
//! test's child is reaped to.

use std::time::{Duration, Instant};

use super::launch::fork::call::{start_call, Call, CallRefused};
use super::launch::{ChildProcess, Launched};
use super::streams::{ChildStreams, Ended, Stream, CHUNK};
use crate::outcome::{ChildOutcome, TimedOut};
use crate::sys;

/// How long the watcher sleeps between looks at whether the child ended: no SIGCHLD handler of
/// the harness's runs in the caller's process.
const LOOK_EVERY: Duration = Duration::from_millis(50);

/// How long the watcher looks for the exit of a child whose pipes all closed without sleeping:
/// its pipes close as it exits.
const EXIT_SPIN: Duration = Duration::from_millis(1);

/// Runs `body` (returning its value encoded) in a forked child, and waits for it at most
/// `timeout`: how the child ended.
pub(crate) fn call(
    timeout: Option<Duration>,
    memory_limit: Option<u64>,
    body: &mut dyn FnMut() -> Result<Vec<u8>, String>,
) -> Result<ChildOutcome, CallRefused> {
    let token = std::process::id() as u64 ^ 0x5EED_15A7_0000_0000;
    let call = Call {
        body,
        memory_limit,
        token,
    };
    let Launched {
        process,
        stdout,
        stderr,
        result,
    } = start_call(call)?;
    let streams = ChildStreams::new(stdout, stderr, result);
    Ok(watch(process, streams, token, timeout))
}

/// Reads the child's pipes until it ends (or its time is up, when its tree is killed), then
/// reaps it.
fn watch(
    process: ChildProcess,
    mut streams: ChildStreams,
    token: u64,
    timeout: Option<Duration>,
) -> ChildOutcome {
    let started = Instant::now();
    let deadline = timeout.map(|timeout| started + timeout);
    let mut timed_out = None;
    let mut buffer = vec![0u8; CHUNK];
    let mut fds = [sys::raw_io::readable(-1); 3];
    let mut all_closed_at = None;
    loop {
        let mut look_in = LOOK_EVERY;
        if let Some(deadline) = deadline {
            look_in = look_in.min(deadline.saturating_duration_since(Instant::now()));
        }
        let mut open = 0;
        for (slot, (_, fd)) in fds.iter_mut().zip(streams.open_pipes()) {
            *slot = sys::raw_io::readable(std::os::fd::AsRawFd::as_raw_fd(fd));
            open += 1;
        }
        if open > 0 {
            sys::raw_io::poll(&mut fds[..open], Some(look_in));
        } else {
            // Its pipes close as it exits: its end is a moment away, looked for at once for the
            // first moment, then every millisecond (a call that closed them itself runs on).
            let closed = *all_closed_at.get_or_insert_with(Instant::now);
            if closed.elapsed() < EXIT_SPIN {
                std::thread::yield_now();
            } else {
                std::thread::sleep(look_in.min(EXIT_SPIN));
            }
        }
        for stream in [Stream::Stdout, Stream::Stderr, Stream::Result] {
            streams.drain(stream, &mut buffer, usize::MAX);
        }
        if process.has_ended() {
            break;
        }
        if let (Some(after), Some(deadline)) = (timeout, deadline) {
            if Instant::now() >= deadline {
                timed_out = Some(TimedOut {
                    after,
                    stopped_by: None,
                });
                process.kill_tree();
                break;
            }
        }
    }
    process.kill_leftovers();
    streams.drain_to_end(&mut buffer);
    streams.into_outcome(Ended {
        reaped: process.reap(),
        token,
        timed_out,
        signalled_harness: None,
        started,
    })
}
