//! What the child says of the test's body: how it ended, and why there is nothing to say when
//! what arrived is not a report.

use serde::{Deserialize, Serialize};

use super::HeapDelta;

/// What the child says about its test: facts only; the parent decides the verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ChildReport {
    /// The body returned `()` or `Ok(())`. `heap` is `None` when no counting allocator is installed.
    Returned { heap: Option<HeapDelta> },
    /// The body returned `Err(e)`; `error` is `e`'s `Debug` text.
    ReturnedErr { error: String },
    /// A panic unwound out of the body.
    Panicked(PanicRecord),
}

/// A panic on the test's thread, as the panic hook saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PanicRecord {
    /// `None` when the payload is not a string (`panic_any`). A long one arrives as its head and
    /// tail: the channel's frames are bounded.
    pub(crate) message: Option<String>,
    pub(crate) location: Option<PanicLocation>,
    /// Whether the whole message contains `should_panic`'s expected text, as the child found;
    /// `None` when the test expects none.
    pub(crate) contains_expected: Option<bool>,
}

/// Where a panic happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PanicLocation {
    pub(crate) file: String,
    pub(crate) line: u32,
    pub(crate) column: u32,
}

/// Why the bytes on the result channel are not a valid report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ProtocolError {
    /// No report arrived.
    NoReport,
    /// A frame does not start with the magic bytes.
    NotAFrame { received: usize },
    /// A length field asks for more than a frame may hold, `limit`.
    TooLong { claimed: u64, limit: usize },
    /// The channel closed before a frame was complete.
    Truncated { expected: usize, received: usize },
    /// Bytes after the report.
    TrailingBytes { extra: usize },
    /// A payload did not decode.
    Undecodable(String),
    /// A frame from some other run or process.
    WrongToken,
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoReport => write!(f, "no report was sent"),
            Self::NotAFrame { received } => {
                write!(f, "received {received} bytes that are not a result frame")
            }
            Self::TooLong { claimed, limit } => {
                write!(
                    f,
                    "a frame claimed {claimed} bytes, over the {limit}-byte limit"
                )
            }
            Self::Truncated { expected, received } => {
                write!(f, "a frame was cut short ({received} of {expected} bytes)")
            }
            Self::TrailingBytes { extra } => {
                write!(f, "{extra} unexpected bytes followed the result")
            }
            Self::Undecodable(why) => write!(f, "the result did not decode: {why}"),
            Self::WrongToken => write!(f, "the result did not come from this run"),
        }
    }
}
