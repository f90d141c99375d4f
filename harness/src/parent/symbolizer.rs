//! The symboliser: names and source lines for return addresses, worked out in a child of the
//! harness, since the debug info it loads (tens of megabytes) would otherwise stay in the harness
//! and make every later fork slower.

#[cfg(unix)]
use std::fs::File;
#[cfg(unix)]
use std::io::{BufRead, BufReader, Read, Write};
#[cfg(unix)]
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd};
#[cfg(unix)]
use std::time::{Duration, Instant};

#[cfg(unix)]
use nix::fcntl::{fcntl, FcntlArg};
#[cfg(unix)]
use nix::unistd::{self, ForkResult, Pid};

use std::collections::HashMap;

use crate::panic_backtrace::RawSymbol;
use crate::stack;
use crate::symbols::{self, Frame};
#[cfg(unix)]
use crate::sys;
use crate::sys::RawFd;

#[cfg(unix)]
/// How long the symboliser may take to answer, loading the debug info the first time.
const PATIENCE: Duration = Duration::from_secs(30);

/// The most addresses one question names: their line (at most 17 bytes each) fits in a pipe's
/// 64 KiB, so asking never blocks.
pub(crate) const MOST_ASKED: usize = 3_000;

/// A child forked from the harness that resolves return addresses for the rest of the run, so
/// the debug info is loaded once, outside the harness.
#[derive(Default)]
pub(crate) struct Symbolizer {
    #[cfg(unix)]
    running: Option<Running>,
    /// It failed once: do not fork it again.
    #[cfg(unix)]
    broken: bool,
}

#[cfg(unix)]
struct Running {
    pid: i32,
    requests: File,
    answers: File,
}

/// Windows forks nothing: the harness names the frames itself.
#[cfg(windows)]
impl Symbolizer {
    pub(crate) fn pid(&self) -> Option<i32> {
        None
    }

    pub(crate) fn fds(&self) -> Vec<RawFd> {
        Vec::new()
    }

    pub(crate) fn resolve(&mut self, addresses: &[u64]) -> Vec<Frame> {
        parse(&describe(addresses))
    }

    pub(crate) fn resolve_raw(&mut self, addresses: &[u64]) -> RawSymbols {
        parse_raw(&describe_raw(addresses))
    }
}

#[cfg(unix)]
impl Symbolizer {
    /// Its pid while it runs: a child of the harness that is no test.
    pub(crate) fn pid(&self) -> Option<i32> {
        self.running.as_ref().map(|running| running.pid)
    }

    /// The harness's ends of its pipes while it runs: no test's child may keep them.
    pub(crate) fn fds(&self) -> Vec<RawFd> {
        self.running.as_ref().map_or_else(Vec::new, |running| {
            vec![running.requests.as_raw_fd(), running.answers.as_raw_fd()]
        })
    }

    /// Asks for the frames of `addresses` (return addresses of this very binary, as a forked
    /// child saw them), starting the symboliser on first use. `None` if it cannot be asked: the
    /// caller has no frames. The answer comes in by [`hear`](Self::hear).
    pub(crate) fn ask(&mut self, addresses: &[u64]) -> Option<Question> {
        self.put(Kind::Frames, addresses)
    }

    /// Asks for the symbols of `addresses` as the debug info has them (see
    /// [`describe_raw`]); the answer comes in by [`hear_raw`](Self::hear_raw).
    pub(crate) fn ask_raw(&mut self, addresses: &[u64]) -> Option<Question> {
        self.put(Kind::Raw, addresses)
    }

    fn put(&mut self, kind: Kind, addresses: &[u64]) -> Option<Question> {
        let addresses = &addresses[..addresses.len().min(MOST_ASKED)];
        if self.running.is_none() && !self.broken {
            self.running = start();
            self.broken = self.running.is_none();
        }
        let running = self.running.as_mut()?;
        let mut request = String::from(kind.word());
        for address in addresses {
            request.push_str(&format!(" {address:x}"));
        }
        request.push('\n');
        // The request pipe is empty (every earlier question was answered), and a line of at
        // most [`MOST_ASKED`] addresses is below its capacity: this write does not block.
        if running.requests.write_all(request.as_bytes()).is_err() {
            self.fail();
            return None;
        }
        Some(Question {
            deadline: Instant::now() + PATIENCE,
            answer: Vec::new(),
        })
    }

    /// The descriptor its answers come in on, to poll beside the children's pipes.
    pub(crate) fn answers_fd(&self) -> Option<RawFd> {
        self.running
            .as_ref()
            .map(|running| running.answers.as_raw_fd())
    }

    /// Takes what has come in of `question`'s answer, without blocking: its frames once it is
    /// whole (inlined calls each a frame of their own), none if the symboliser died or took too
    /// long; `None` while more is to come.
    pub(crate) fn hear(&mut self, question: &mut Question) -> Option<Vec<Frame>> {
        self.hear_text(question).map(|text| parse(&text))
    }

    /// [`hear`](Self::hear) for [`ask_raw`](Self::ask_raw): each address's symbols, none where
    /// the answer did not come.
    pub(crate) fn hear_raw(&mut self, question: &mut Question) -> Option<RawSymbols> {
        self.hear_text(question).map(|text| parse_raw(&text))
    }

    fn hear_text(&mut self, question: &mut Question) -> Option<String> {
        // Stopped since it was asked: no answer will come.
        let Some(running) = self.running.as_mut() else {
            return Some(String::new());
        };
        match read_available(&mut running.answers, &mut question.answer) {
            Ok(()) if question.is_whole() => Some(question.text()),
            Ok(()) if Instant::now() < question.deadline => None,
            Ok(()) | Err(()) => {
                self.fail();
                Some(String::new())
            }
        }
    }

    /// It failed: stopped, and never started again this run.
    fn fail(&mut self) {
        self.stop();
        self.broken = true;
    }

    fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            drop(running.requests);
            sys::reap::kill_and_reap(Pid::from_raw(running.pid));
        }
    }
}

#[cfg(unix)]
impl Drop for Symbolizer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(unix)]
/// Forks the symboliser. The harness has one thread, so the child inherits no lock another
/// thread held.
fn start() -> Option<Running> {
    let (request_read, request_write) = sys::pipes::pipe(false).ok()?;
    let (answer_read, answer_write) = sys::pipes::pipe(false).ok()?;
    let parent = unistd::getpid();
    // SAFETY: see above.
    match unsafe { sys::fork::fork(None) }.ok()? {
        ForkResult::Child => {
            // Nothing of the harness's but these two pipes: a test's pipe kept open here would
            // keep its writer from learning that the harness stopped reading.
            // Out of the way first, so neither lands on the other's new number.
            let requests = fcntl(&request_read, FcntlArg::F_DUPFD(64));
            let answers = fcntl(&answer_write, FcntlArg::F_DUPFD(64));
            for (copy, target) in [(requests, 3), (answers, 4)] {
                let Ok(copy) = copy else { continue };
                // SAFETY: `copy` is the descriptor `F_DUPFD` just made, open until `close_from`
                // below; the `OwnedFd` `dup2_raw` returns for `target` is given up at once
                // (`into_raw_fd`), for the `File` made of it below.
                let _ = unsafe { unistd::dup2_raw(BorrowedFd::borrow_raw(copy), target) }
                    .map(IntoRawFd::into_raw_fd);
            }
            // SAFETY: nothing below uses a descriptor from 5 up: only 3 and 4 are served.
            unsafe { sys::descriptors::close_from(5) };
            sys::signals::die_with_parent();
            if unistd::getppid() == parent {
                // SAFETY: 3 and 4 were just made ours, and nothing else owns them.
                let (requests, answers) = unsafe { (File::from_raw_fd(3), File::from_raw_fd(4)) };
                serve(requests, answers);
            }
            sys::signals::exit_now(0)
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

#[cfg(unix)]
/// The symboliser's loop: a line of hex addresses in, their frames and an empty line out.
fn serve(requests: File, mut answers: File) {
    for line in BufReader::new(requests).lines() {
        let Ok(line) = line else { return };
        let mut words = line.split_whitespace();
        let kind = words.next().and_then(Kind::from_word);
        let addresses: Vec<u64> = words
            .filter_map(|address| u64::from_str_radix(address, 16).ok())
            .collect();
        let mut text = match kind {
            Some(Kind::Frames) | None => describe(&addresses),
            Some(Kind::Raw) => describe_raw(&addresses),
        };
        text.push('\n');
        if answers.write_all(text.as_bytes()).is_err() {
            return;
        }
    }
}

#[cfg(unix)]
/// A question put to the symboliser: its answer so far, and until when it may take.
pub(crate) struct Question {
    deadline: Instant,
    answer: Vec<u8>,
}

#[cfg(unix)]
impl Question {
    /// How long the symboliser has left to answer.
    pub(crate) fn patience_left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// An answer ends with an empty line (a lone one where no address was asked for).
    fn is_whole(&self) -> bool {
        self.answer.ends_with(b"\n\n") || self.answer == b"\n"
    }

    fn text(&self) -> String {
        let frames = &self.answer[..self.answer.len() - 1];
        String::from_utf8_lossy(frames).into_owned()
    }
}

#[cfg(unix)]
/// Appends what `answers` holds now to `answer`, without waiting; `Err` once the symboliser has
/// died (its end closed, or an error).
fn read_available(answers: &mut File, answer: &mut Vec<u8>) -> Result<(), ()> {
    let mut buffer = [0u8; 4096];
    loop {
        let ready = sys::raw_io::poll(
            &mut [sys::raw_io::readable(answers.as_raw_fd())],
            Some(Duration::ZERO),
        );
        match ready {
            Some(0) => return Ok(()),
            // A signal: look again.
            None => continue,
            Some(_) => {}
        }
        // Readable: one read does not block.
        match answers.read(&mut buffer) {
            Ok(0) | Err(_) => return Err(()),
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
    }
}

/// What a question asks for.
#[derive(Clone, Copy)]
enum Kind {
    /// Frames as a user reads them ([`describe`]).
    Frames,
    /// Symbols as the debug info has them ([`describe_raw`]).
    Raw,
}

#[cfg_attr(windows, allow(dead_code))]
impl Kind {
    fn word(self) -> &'static str {
        match self {
            Self::Frames => "frames",
            Self::Raw => "raw",
        }
    }

    fn from_word(word: &str) -> Option<Self> {
        [Self::Frames, Self::Raw]
            .into_iter()
            .find(|kind| kind.word() == word)
    }
}

/// Each address's symbols (inlined calls each one, the innermost first), by address.
pub(crate) type RawSymbols = HashMap<u64, Vec<RawSymbol>>;

/// A line per symbol ([`RawSymbol::to_line`]), none for an address without one. Each address is
/// named as it is (a return address: the resolver looks at the byte before, as std's does).
fn describe_raw(addresses: &[u64]) -> String {
    let mut text = String::new();
    for &address in addresses {
        stack::resolve(address, |symbol| {
            let raw = RawSymbol {
                name: symbol.name,
                file: symbol.file.map(|file| file.display().to_string()),
                line: symbol.line,
                column: symbol.column,
            };
            text.push_str(&raw.to_line(address));
            text.push('\n');
        });
    }
    text
}

fn parse_raw(text: &str) -> RawSymbols {
    let mut symbols = RawSymbols::new();
    for (address, symbol) in text.lines().filter_map(RawSymbol::from_line) {
        symbols.entry(address).or_default().push(symbol);
    }
    symbols
}

/// One line per frame: `function\tlocation`.
fn describe(addresses: &[u64]) -> String {
    let mut text = String::new();
    for &address in addresses {
        // A return address points after the call: the call is the byte before.
        let mut any = false;
        stack::resolve(address.saturating_sub(1), |symbol| {
            any = true;
            let function = symbol.demangled.unwrap_or_else(|| "<unknown>".to_owned());
            let location = match (symbol.file, symbol.line) {
                (Some(file), Some(line)) => match symbol.column {
                    Some(column) => format!("{}:{line}:{column}", symbols::shorten(&file)),
                    None => format!("{}:{line}", symbols::shorten(&file)),
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
