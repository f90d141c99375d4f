//! Names and source lines for return addresses, worked out in a throwaway child: the debug info
//! a symboliser loads (tens of megabytes) would otherwise stay in the harness and make every
//! later fork slower.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::unistd::{self, ForkResult};

/// One frame of a backtrace, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    /// The demangled function name, without its hash.
    pub(crate) function: String,
    /// `file:line:column`, where the debug info says.
    pub(crate) location: Option<String>,
}

/// How long the symboliser may take to answer, loading the debug info the first time.
const PATIENCE: Duration = Duration::from_secs(30);

/// A child forked from the harness that resolves return addresses for the rest of the run, so
/// the debug info is loaded once, outside the harness.
#[derive(Default)]
pub(crate) struct Symbolizer {
    running: Option<Running>,
    /// It failed once: do not fork it again.
    broken: bool,
}

struct Running {
    pid: i32,
    requests: File,
    answers: File,
}

impl Symbolizer {
    /// Its pid while it runs: a child of the harness that is no test.
    pub(crate) fn pid(&self) -> Option<i32> {
        self.running.as_ref().map(|running| running.pid)
    }

    /// Resolves `addresses` (return addresses of this very binary, as a forked child saw them);
    /// inlined calls become frames of their own. Empty if the symboliser fails.
    pub(crate) fn resolve(&mut self, addresses: &[u64]) -> Vec<Frame> {
        if self.running.is_none() && !self.broken {
            self.running = start();
            self.broken = self.running.is_none();
        }
        let Some(running) = &mut self.running else {
            return Vec::new();
        };
        let request: Vec<String> = addresses
            .iter()
            .map(|address| format!("{address:x}"))
            .collect();
        let answer = writeln!(running.requests, "{}", request.join(" "))
            .ok()
            .and_then(|()| read_answer(&mut running.answers));
        match answer {
            Some(text) => parse(&text),
            None => {
                self.stop();
                self.broken = true;
                Vec::new()
            }
        }
    }

    fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            drop(running.requests);
            // SAFETY: `kill` of our own child.
            unsafe { libc::kill(running.pid, libc::SIGKILL) };
            crate::reap::reap(running.pid);
        }
    }
}

impl Drop for Symbolizer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Forks the symboliser. The harness has one thread, so the child inherits no lock another
/// thread held.
fn start() -> Option<Running> {
    let (request_read, request_write) = unistd::pipe2(OFlag::O_CLOEXEC).ok()?;
    let (answer_read, answer_write) = unistd::pipe2(OFlag::O_CLOEXEC).ok()?;
    let parent = unistd::getpid();
    // SAFETY: see above.
    match unsafe { unistd::fork() }.ok()? {
        ForkResult::Child => {
            // Nothing of the harness's but these two pipes: a test's pipe kept open here would
            // keep its writer from learning that the harness stopped reading.
            // SAFETY: descriptor shuffling and `_exit` in our own fresh process.
            unsafe {
                // Out of the way first, so neither lands on the other's new number.
                let requests = libc::fcntl(request_read.as_raw_fd(), libc::F_DUPFD, 64);
                let answers = libc::fcntl(answer_write.as_raw_fd(), libc::F_DUPFD, 64);
                libc::dup2(requests, 3);
                libc::dup2(answers, 4);
                close_from(5);
            }
            let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
            if unistd::getppid() == parent {
                // SAFETY: 3 and 4 were just made ours, and nothing else owns them.
                let (requests, answers) = unsafe { (File::from_raw_fd(3), File::from_raw_fd(4)) };
                serve(requests, answers);
            }
            // SAFETY: `_exit` runs none of the harness's destructors.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(request_read);
            drop(answer_write);
            Some(Running {
                pid: child.as_raw(),
                requests: File::from(request_write),
                answers: File::from(answer_read),
            })
        }
    }
}

/// Closes every descriptor from `first` up.
///
/// # Safety
/// Nothing below may use those descriptors again.
unsafe fn close_from(first: i32) {
    // SAFETY: guaranteed by the caller.
    if unsafe { libc::syscall(libc::SYS_close_range, first as u32, u32::MAX, 0u32) } != 0 {
        for fd in first..1024 {
            // SAFETY: as above.
            unsafe { libc::close(fd) };
        }
    }
}

/// The symboliser's loop: a line of hex addresses in, their frames and an empty line out.
fn serve(requests: File, mut answers: File) {
    for line in BufReader::new(requests).lines() {
        let Ok(line) = line else { return };
        let addresses: Vec<u64> = line
            .split_whitespace()
            .filter_map(|address| u64::from_str_radix(address, 16).ok())
            .collect();
        let mut text = describe(&addresses);
        text.push('\n');
        if answers.write_all(text.as_bytes()).is_err() {
            return;
        }
    }
}

/// Reads one answer: everything up to an empty line. `None` if the symboliser died or took too
/// long.
fn read_answer(answers: &mut File) -> Option<String> {
    let deadline = Instant::now() + PATIENCE;
    let mut text = Vec::new();
    let mut buffer = [0u8; 4096];
    while !(text.ends_with(b"\n\n") || text == b"\n") {
        let left = deadline.checked_duration_since(Instant::now())?;
        let mut pollfd = libc::pollfd {
            fd: answers.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one live pollfd.
        let ready = unsafe { libc::poll(&mut pollfd, 1, left.as_millis().max(1) as i32) };
        if ready < 0 && nix::errno::Errno::last() == nix::errno::Errno::EINTR {
            continue;
        }
        if ready <= 0 {
            return None;
        }
        match answers.read(&mut buffer) {
            Ok(0) | Err(_) => return None,
            Ok(n) => text.extend_from_slice(&buffer[..n]),
        }
    }
    text.pop();
    Some(String::from_utf8_lossy(&text).into_owned())
}

/// One line per frame: `function\tlocation`.
fn describe(addresses: &[u64]) -> String {
    let mut text = String::new();
    for &address in addresses {
        // A return address points after the call: the call is the byte before.
        let call = address.saturating_sub(1) as usize as *mut std::ffi::c_void;
        let mut any = false;
        backtrace::resolve(call, |symbol| {
            any = true;
            let function = symbol
                .name()
                .map_or_else(|| "<unknown>".to_owned(), |name| format!("{name:#}"));
            let location = match (symbol.filename(), symbol.lineno()) {
                (Some(file), Some(line)) => match symbol.colno() {
                    Some(column) => format!("{}:{line}:{column}", shorten(file)),
                    None => format!("{}:{line}", shorten(file)),
                },
                _ => String::new(),
            };
            text.push_str(&format!("{function}\t{location}\n"));
        });
        if !any {
            text.push_str(&format!("{address:#x}\t\n"));
        }
    }
    text
}

/// A path as a user reads it: relative to the working directory, or from `library/` for std.
pub(crate) fn shorten(path: &std::path::Path) -> String {
    if let Ok(cwd) = std::env::current_dir() {
        if let Ok(relative) = path.strip_prefix(&cwd) {
            return relative.display().to_string();
        }
    }
    let text = path.display().to_string();
    match text.find("/library/") {
        Some(at) if text.starts_with("/rustc/") => text[at + 1..].to_owned(),
        _ => text,
    }
}

fn parse(text: &str) -> Vec<Frame> {
    text.lines()
        .filter_map(|line| {
            let (function, location) = line.split_once('\t')?;
            Some(Frame {
                function: function.to_owned(),
                location: (!location.is_empty()).then(|| location.to_owned()),
            })
        })
        .collect()
}

/// The frames of the test's own code in a backtrace the stuck-signal handler took: after the
/// handler and the signal's trampoline, up to the body `#[isolated_test]` wraps.
pub(crate) fn test_frames(frames: &[Frame]) -> &[Frame] {
    let after_handler = frames
        .iter()
        .position(|frame| frame.function.ends_with("on_stuck"))
        .map_or(0, |at| at + 1);
    let mut frames = &frames[after_handler..];
    // The signal's trampoline: named where libc's symbols say, a bare address where not.
    if frames.first().is_some_and(|frame| {
        frame.function.contains("__restore_rt") || frame.function.starts_with("0x")
    }) {
        frames = &frames[1..];
    }
    let end = frames
        .iter()
        .position(|frame| frame.function.ends_with("__isolated_test_body"))
        .unwrap_or(frames.len());
    &frames[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str) -> Frame {
        Frame {
            function: function.to_owned(),
            location: None,
        }
    }

    #[test]
    fn the_test_frames_lie_between_the_trampoline_and_the_body() {
        let frames = [
            frame("backtrace::backtrace::trace_unsynchronized"),
            frame("isolated_test::child::on_stuck"),
            frame("0x7f8982d44050"),
            frame("std::thread::sleep"),
            frame("suite::hangs"),
            frame("suite::hangs::_::__isolated_test_body"),
            frame("std::panicking::catch_unwind"),
        ];
        let shown: Vec<&str> = test_frames(&frames)
            .iter()
            .map(|frame| frame.function.as_str())
            .collect();
        assert_eq!(shown, ["std::thread::sleep", "suite::hangs"]);
    }
}
