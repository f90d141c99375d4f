//! Isolation as a function call: run a function in a forked child and get its value back, the
//! caller's heap and state untouched, or how the child died.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::outcome::SignalNumber;
#[cfg(unix)]
use crate::outcome::{ChildEnd, ChildOutcome, ChildReport};
#[cfg(unix)]
use crate::parent::isolation;
#[cfg(unix)]
use crate::parent::launch::fork::call::CallRefused;
#[cfg(unix)]
use crate::verdict::{Ending, LastWords};
#[cfg(unix)]
use crate::wire;

/// Runs `f` in a forked child and returns its value, carried back over the result channel; or
/// how the child died. The caller's heap, statics and descriptors are untouched by whatever `f`
/// does.
///
/// ```
/// use isolated_test::{isolate, Died};
///
/// let answer = isolate(|| 6 * 7);
/// assert_eq!(answer, Ok(42));
///
/// let died = isolate(|| -> u32 { panic!("boom") });
/// assert!(matches!(died, Err(Died::Panicked { ref message, .. }) if message.as_deref() == Some("boom")));
/// ```
///
/// It forks, so it refuses to run in a process with more than one thread
/// ([`Died::NotSingleThreaded`]); on Windows, which has no fork, it runs nothing and returns
/// [`Died::NotStarted`] saying so. [`Isolate`] sets a timeout and a memory limit.
pub fn isolate<T, F>(f: F) -> Result<T, Died>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> T,
{
    Isolate::new().run(f)
}

/// Why no call is isolated on Windows: a closure exists only in the memory of the process that
/// holds it, and only a fork copies that memory into a child.
#[cfg(windows)]
const NO_FORK: &str = "isolate() runs a closure in a forked child, and Windows has no fork: \
                       put the call in an #[isolated_test] of its own, which runs in a child of its own";

/// An isolated call with a timeout or a memory limit.
///
/// ```
/// use std::time::Duration;
/// use isolated_test::{Died, Isolate};
///
/// let hung = Isolate::new()
///     .timeout(Duration::from_millis(200))
///     .run(|| loop { std::hint::spin_loop() });
/// assert!(matches!(hung, Err::<(), _>(Died::TimedOut { .. })));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Isolate {
    timeout: Option<Duration>,
    memory_limit: Option<u64>,
}

impl Isolate {
    /// No timeout, no memory limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// Kills the child (and its process group) after `timeout`.
    pub fn timeout(self, timeout: Duration) -> Self {
        Self {
            timeout: Some(timeout),
            ..self
        }
    }

    /// Fails an allocation that would grow the child's heap by more than `bytes` (with the
    /// counting allocator that `main!` installs).
    pub fn memory_limit(self, bytes: u64) -> Self {
        Self {
            memory_limit: Some(bytes),
            ..self
        }
    }

    /// Runs `f` in a forked child: see [`isolate`].
    pub fn run<T, F>(self, f: F) -> Result<T, Died>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> T,
    {
        #[cfg(windows)]
        {
            drop(f);
            Err(Died::NotStarted(NO_FORK.to_owned()))
        }
        #[cfg(unix)]
        self.run_forked(f)
    }

    #[cfg(unix)]
    fn run_forked<T, F>(self, f: F) -> Result<T, Died>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> T,
    {
        let mut f = Some(f);
        let mut body = || {
            let f = f.take().expect("an isolated call runs once");
            wire::encode_value(&f())
        };
        let outcome = match isolation::call(self.timeout, self.memory_limit, &mut body) {
            Ok(outcome) => outcome,
            Err(CallRefused::Threads(threads)) => return Err(Died::NotSingleThreaded { threads }),
            Err(CallRefused::Io(error)) => return Err(Died::NotStarted(error.to_string())),
        };
        let value = Died::of(outcome, self.timeout)?;
        wire::decode_value(&value).map_err(Died::Undecodable)
    }
}

/// How an isolated call's child ended without returning a value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Died {
    /// The function panicked.
    Panicked {
        /// The panic's message, if its payload is a string.
        message: Option<String>,
        /// `file:line:column`.
        location: Option<String>,
        /// What the child wrote on stderr.
        stderr: String,
    },
    /// The child was killed by a signal.
    Signaled {
        /// The signal's number.
        signal: i32,
        /// What the child wrote on stderr.
        stderr: String,
    },
    /// The child exited before the function returned.
    Exited {
        /// Its exit status.
        code: i32,
        /// What the child wrote on stderr.
        stderr: String,
    },
    /// The child ran past its timeout and was killed, with its process group.
    TimedOut {
        /// The timeout.
        after: Duration,
        /// What the child wrote on stderr.
        stderr: String,
    },
    /// An allocation over the memory limit was refused, and the child died of it.
    OverMemoryLimit {
        /// The limit, in bytes.
        limit: u64,
        /// What the child wrote on stderr.
        stderr: String,
    },
    /// The process has other threads: forking it could hang the child, so the call was not made.
    NotSingleThreaded {
        /// How many threads it has.
        threads: usize,
    },
    /// The child could not be started.
    NotStarted(String),
    /// The value came back, but did not decode.
    Undecodable(String),
}

impl Died {
    /// What the child wrote on stderr (empty where it never ran).
    pub fn stderr(&self) -> &str {
        match self {
            Died::Panicked { stderr, .. }
            | Died::Signaled { stderr, .. }
            | Died::Exited { stderr, .. }
            | Died::TimedOut { stderr, .. }
            | Died::OverMemoryLimit { stderr, .. } => stderr,
            Died::NotSingleThreaded { .. } | Died::NotStarted(_) | Died::Undecodable(_) => "",
        }
    }

    /// How an isolated call's child ended, read as a test's child's end is ([`Ending`]): the
    /// call's value, encoded, where it returned one; else how it died. `timeout` is the call's.
    #[cfg(unix)]
    fn of(mut outcome: ChildOutcome, timeout: Option<Duration>) -> Result<Vec<u8>, Died> {
        let ending = Ending::of(&outcome);
        if let Ending::Reported(ChildReport::Returned { .. }) = ending {
            if let Some(value) = outcome.clues.value.take() {
                return Ok(value);
            }
        }
        let stderr = outcome.stderr.text();
        if outcome.timed_out.is_some() {
            let after = timeout.unwrap_or_default();
            return Err(Died::TimedOut { after, stderr });
        }
        let last_words = match ending {
            Ending::Reported(ChildReport::Panicked(record)) => Some(LastWords::Panicked(record)),
            Ending::Killed { last_words, .. } | Ending::ExitedEarly { last_words, .. } => {
                last_words
            }
            _ => None,
        };
        Err(match (last_words, outcome.end) {
            (Some(LastWords::MemoryLimit(hit)), _) => Died::OverMemoryLimit {
                limit: hit.limit,
                stderr,
            },
            (Some(LastWords::Panicked(record)), _) => Died::Panicked {
                message: record.message,
                location: record
                    .location
                    .map(|l| format!("{}:{}:{}", l.file, l.line, l.column)),
                stderr,
            },
            (_, ChildEnd::Signaled { signal, .. }) => Died::Signaled {
                signal: signal.0,
                stderr,
            },
            (_, ChildEnd::Exited(code)) => Died::Exited { code, stderr },
            // Not this process's child any more, or stuck past the reap's limit after the
            // SIGKILL its group was sent.
            (_, ChildEnd::NotReaped) => Died::Signaled {
                signal: libc::SIGKILL,
                stderr,
            },
        })
    }
}

impl fmt::Display for Died {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Died::Panicked {
                message, location, ..
            } => {
                write!(f, "panicked")?;
                if let Some(location) = location {
                    write!(f, " at {location}")?;
                }
                match message {
                    Some(message) => write!(f, ": {message}"),
                    None => write!(f, " with a payload that is not a string"),
                }
            }
            Died::Signaled { signal, .. } => {
                write!(f, "killed by signal {}", SignalNumber(*signal))
            }
            Died::Exited { code, .. } => write!(f, "exited with status {code}"),
            Died::TimedOut { after, .. } => write!(
                f,
                "timed out after {}; its process group was killed",
                humantime::format_duration(*after)
            ),
            Died::OverMemoryLimit { limit, .. } => write!(
                f,
                "exceeded its memory limit of {}",
                crate::size::format(*limit)
            ),
            Died::NotSingleThreaded { threads } => write!(
                f,
                "not isolated: this process has {threads} threads, and forking it could hang the child"
            ),
            Died::NotStarted(error) => write!(f, "the child could not be started: {error}"),
            Died::Undecodable(error) => write!(f, "the value did not decode: {error}"),
        }
    }
}

impl std::error::Error for Died {}

/// Asserts that `f` kills its isolated child with `signal`, its stderr matching `stderr_regex`
/// (as GoogleTest's `EXPECT_DEATH`).
///
/// ```
/// isolated_test::assert_killed_by(libc::SIGABRT, "", || std::process::abort());
/// ```
#[track_caller]
pub fn assert_killed_by(signal: i32, stderr_regex: &str, f: impl FnOnce()) {
    let died = isolate(f);
    match died {
        Err(Died::Signaled {
            signal: by,
            ref stderr,
        }) if by == signal => assert_stderr(stderr, stderr_regex),
        other => panic!(
            "expected the call to be killed by signal {}, but it {}",
            SignalNumber(signal),
            ended(&other)
        ),
    }
}

/// Asserts that `f` exits its isolated child with `code`, its stderr matching `stderr_regex`
/// (as GoogleTest's `EXPECT_EXIT`).
///
/// ```
/// isolated_test::assert_exits_with(3, "^bye", || {
///     eprintln!("bye");
///     std::process::exit(3)
/// });
/// ```
#[track_caller]
pub fn assert_exits_with(code: i32, stderr_regex: &str, f: impl FnOnce()) {
    match isolate(f) {
        Err(Died::Exited {
            code: with,
            ref stderr,
        }) if with == code => assert_stderr(stderr, stderr_regex),
        other => panic!(
            "expected the call to exit with status {code}, but it {}",
            ended(&other)
        ),
    }
}

/// Asserts that `f` panics in its isolated child with a message matching `message_regex`.
///
/// ```
/// isolated_test::assert_panics("out of range", || {
///     let v: Vec<u8> = Vec::new();
///     if v.get(3).is_none() {
///         panic!("index out of range");
///     }
/// });
/// ```
#[track_caller]
pub fn assert_panics(message_regex: &str, f: impl FnOnce()) {
    match isolate(f) {
        Err(Died::Panicked {
            message: Some(ref message),
            ..
        }) => assert!(
            regex_matches(message_regex, message),
            "the call panicked with {message:?}, which does not match {message_regex:?}"
        ),
        other => panic!("expected the call to panic, but it {}", ended(&other)),
    }
}

/// How a call ended, to follow "but it".
fn ended(result: &Result<(), Died>) -> String {
    match result {
        Ok(()) => "returned".to_owned(),
        Err(died) => died.to_string(),
    }
}

#[track_caller]
fn assert_stderr(stderr: &str, pattern: &str) {
    assert!(
        regex_matches(pattern, stderr),
        "the call died as expected, but its stderr does not match {pattern:?}:\n{stderr}"
    );
}

#[track_caller]
fn regex_matches(pattern: &str, text: &str) -> bool {
    match regex_lite::Regex::new(pattern) {
        Ok(regex) => regex.is_match(text),
        Err(error) => panic!("invalid regex {pattern:?}: {error}"),
    }
}
