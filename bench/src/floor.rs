//! The floor: the least that running a test in a forked child can cost on this machine.
//!
//! One round trip is what any fork-per-test runner does at the very least: `fork`, the child
//! writes a 100-byte result into a pipe and `_exit`s, the parent reads it and `waitpid`s. No test
//! body, no output capture, no timeouts, no allocator. Measured with one child in flight at a time
//! and with two (the next child is forked before the previous one is read and reaped), as
//! `--test-threads=1` and `=2` do. Per round trip, the time is the wall time of the loop divided
//! by the number of children, so it compares with a runner's overhead per test.
//!
//! The bench process forks here while it is single-threaded (checked): a fork from a
//! multi-threaded process may copy a lock that another thread holds.

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

/// What each child sends its parent: about the size of a small result frame.
const PAYLOAD: [u8; 100] = [0x5a; 100];

/// A forked child whose result has not been read yet.
struct Child {
    pid: libc::pid_t,
    /// The read end of the child's pipe.
    read_fd: libc::c_int,
}

/// Forks `count` children, at most `in_flight` at a time, each sending [`PAYLOAD`] back through
/// its own pipe, and returns the wall time from the first fork to the last `waitpid`.
pub fn round_trips(count: usize, in_flight: usize) -> io::Result<Duration> {
    assert!(in_flight >= 1, "at least one child in flight");
    check_single_threaded()?;
    let started = Instant::now();
    let mut children = VecDeque::with_capacity(in_flight);
    let mut forked = 0;
    while forked < count.min(in_flight) {
        children.push_back(fork_child()?);
        forked += 1;
    }
    while let Some(child) = children.pop_front() {
        if forked < count {
            children.push_back(fork_child()?);
            forked += 1;
        }
        reap(child)?;
    }
    Ok(started.elapsed())
}

/// Forks one child that writes [`PAYLOAD`] into a fresh pipe and exits.
fn fork_child() -> io::Result<Child> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is an array of two descriptors for pipe2 to fill in.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let [read_fd, write_fd] = fds;
    // SAFETY: the process is single-threaded (checked in `round_trips`), so the child owns a
    // consistent copy of the whole address space; it then only calls `write` and `_exit`, which
    // are async-signal-safe, and never returns into the bench.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: `write_fd` is the pipe's open write end and PAYLOAD is a live 100-byte buffer;
        // `_exit` ends the child without running the parent's exit handlers or destructors.
        unsafe {
            let written = libc::write(write_fd, PAYLOAD.as_ptr().cast(), PAYLOAD.len());
            libc::_exit(if written == PAYLOAD.len() as isize {
                0
            } else {
                1
            });
        }
    }
    let fork_error = (pid < 0).then(io::Error::last_os_error);
    // SAFETY: `write_fd` is open and ours; only the child writes into the pipe.
    unsafe { libc::close(write_fd) };
    if let Some(error) = fork_error {
        // SAFETY: `read_fd` is open and ours, and no child holds the pipe.
        unsafe { libc::close(read_fd) };
        return Err(error);
    }
    Ok(Child { pid, read_fd })
}

/// Reads the child's payload to the end of its pipe, closes the pipe and reaps the child.
fn reap(child: Child) -> io::Result<()> {
    let mut buffer = [0u8; 2 * PAYLOAD.len()];
    let mut received = 0;
    let read_result = loop {
        let spare = &mut buffer[received..];
        // SAFETY: `spare` is a writable buffer of `spare.len()` bytes and `read_fd` is open.
        let n = unsafe { libc::read(child.read_fd, spare.as_mut_ptr().cast(), spare.len()) };
        match n {
            0 => break Ok(()),
            n if n > 0 => received += n as usize,
            _ => {
                let error = io::Error::last_os_error();
                if error.kind() != io::ErrorKind::Interrupted {
                    break Err(error);
                }
            }
        }
        if received == buffer.len() {
            break Ok(());
        }
    };
    // SAFETY: `read_fd` is open and ours; it is closed exactly once.
    unsafe { libc::close(child.read_fd) };
    let mut status = 0;
    // SAFETY: `child.pid` is a child of this process that has not been reaped, and `status` is a
    // valid place for waitpid to write to.
    while unsafe { libc::waitpid(child.pid, &mut status, 0) } < 0 {
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    read_result?;
    let exited_cleanly = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if received != PAYLOAD.len() || buffer[..received] != PAYLOAD || !exited_cleanly {
        return Err(io::Error::other(format!(
            "floor child {} sent {received} bytes and ended with status {status:#x}",
            child.pid
        )));
    }
    Ok(())
}

/// Refuses to fork unless this process has exactly one thread (Linux: `/proc/self/status`).
fn check_single_threaded() -> io::Result<()> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let threads = status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|count| count.trim().parse::<u32>().ok());
    match threads {
        Some(1) | None => Ok(()),
        Some(n) => Err(io::Error::other(format!(
            "the floor forks from a single-threaded process, but this one has {n} threads"
        ))),
    }
}
