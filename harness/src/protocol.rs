//! The result channel's wire format: the only module that knows it is bincode.
//!
//! A child writes exactly one frame: `MAGIC`, a little-endian `u32` payload length, then the
//! bincode payload. The payload carries the run's token, so bytes a test writes into the channel
//! by accident cannot decode into a pass. The parent never allocates from the length field: it
//! keeps at most [`MAX_FRAME`] bytes of whatever arrives.

use serde::{Deserialize, Serialize};

use crate::alloc::HeapDelta;

/// What the child says about its test: facts only; the parent decides the verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ChildReport {
    /// The body returned `()` or `Ok(())`. `heap` is `None` when no counting allocator is installed.
    Returned { heap: Option<HeapDelta> },
    /// The body returned `Err(e)`; `error` is `e`'s `Debug` text.
    ReturnedErr { error: String },
    /// The body panicked on the test's thread.
    Panicked {
        message: Option<String>,
        location: Option<PanicLocation>,
    },
}

/// Where a panic happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PanicLocation {
    pub(crate) file: String,
    pub(crate) line: u32,
    pub(crate) column: u32,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    token: u64,
    report: ChildReport,
}

const MAGIC: [u8; 4] = *b"ISOT";
const HEADER: usize = MAGIC.len() + 4;
/// The largest frame a child may send: a report is small, but a panic message may be long.
pub(crate) const MAX_FRAME: usize = 4 << 20;

/// Why the bytes on the result channel are not a valid report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ProtocolError {
    /// Nothing arrived.
    Empty,
    /// The frame does not start with the magic bytes.
    NotAFrame { received: usize },
    /// The length field asks for more than [`MAX_FRAME`].
    TooLong { claimed: u64 },
    /// The channel closed before the frame was complete.
    Truncated { expected: usize, received: usize },
    /// More bytes than one frame.
    TrailingBytes { extra: usize },
    /// The payload did not decode.
    Undecodable(String),
    /// A frame from some other run or process.
    WrongToken,
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => write!(f, "nothing was sent"),
            Self::NotAFrame { received } => {
                write!(f, "received {received} bytes that are not a result frame")
            }
            Self::TooLong { claimed } => write!(
                f,
                "a frame claimed {claimed} bytes, over the {MAX_FRAME}-byte limit"
            ),
            Self::Truncated { expected, received } => write!(
                f,
                "the frame was cut short ({received} of {expected} bytes)"
            ),
            Self::TrailingBytes { extra } => {
                write!(f, "{extra} unexpected bytes followed the result")
            }
            Self::Undecodable(why) => write!(f, "the result did not decode: {why}"),
            Self::WrongToken => write!(f, "the result did not come from this run"),
        }
    }
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_FRAME>()
}

/// One frame carrying `report`.
pub(crate) fn encode(token: u64, report: ChildReport) -> Vec<u8> {
    let envelope = Envelope { token, report };
    let mut frame = MAGIC.to_vec();
    frame.extend_from_slice(&[0; 4]);
    // Encoding plain data into a Vec cannot fail short of the size limit; a report that big is
    // replaced by a short one so the parent still learns what happened.
    if bincode::serde::encode_into_std_write(&envelope, &mut frame, config()).is_err() {
        frame.truncate(HEADER);
        let short = Envelope {
            token,
            report: ChildReport::Panicked {
                message: Some("<the panic message was too large to send>".to_owned()),
                location: None,
            },
        };
        bincode::serde::encode_into_std_write(&short, &mut frame, config())
            .expect("a short report always encodes");
    }
    let length = (frame.len() - HEADER) as u32;
    frame[MAGIC.len()..HEADER].copy_from_slice(&length.to_le_bytes());
    frame
}

/// The report in `bytes`, which must be exactly one frame from this run.
pub(crate) fn decode(token: u64, bytes: &[u8]) -> Result<ChildReport, ProtocolError> {
    if bytes.is_empty() {
        return Err(ProtocolError::Empty);
    }
    if bytes.len() < HEADER || bytes[..MAGIC.len()] != MAGIC {
        return Err(ProtocolError::NotAFrame {
            received: bytes.len(),
        });
    }
    let claimed = u32::from_le_bytes(bytes[MAGIC.len()..HEADER].try_into().unwrap()) as usize;
    if claimed > MAX_FRAME {
        return Err(ProtocolError::TooLong {
            claimed: claimed as u64,
        });
    }
    let payload = &bytes[HEADER..];
    if payload.len() < claimed {
        return Err(ProtocolError::Truncated {
            expected: HEADER + claimed,
            received: bytes.len(),
        });
    }
    if payload.len() > claimed {
        return Err(ProtocolError::TrailingBytes {
            extra: payload.len() - claimed,
        });
    }
    let (envelope, used): (Envelope, usize) = bincode::serde::decode_from_slice(payload, config())
        .map_err(|error| ProtocolError::Undecodable(error.to_string()))?;
    if used != claimed {
        return Err(ProtocolError::TrailingBytes {
            extra: claimed - used,
        });
    }
    if envelope.token != token {
        return Err(ProtocolError::WrongToken);
    }
    Ok(envelope.report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panicked() -> ChildReport {
        ChildReport::Panicked {
            message: Some("boom".to_owned()),
            location: Some(PanicLocation {
                file: "tests/a.rs".to_owned(),
                line: 3,
                column: 5,
            }),
        }
    }

    #[test]
    fn reports_round_trip() {
        let reports = [
            ChildReport::Returned {
                heap: Some(HeapDelta {
                    net_bytes: 24,
                    net_blocks: 1,
                    allocations: 3,
                }),
            },
            ChildReport::Returned { heap: None },
            ChildReport::ReturnedErr {
                error: "\"no\"".to_owned(),
            },
            panicked(),
        ];
        for report in reports {
            assert_eq!(decode(7, &encode(7, report.clone())), Ok(report));
        }
    }

    #[test]
    fn garbage_never_decodes() {
        assert_eq!(decode(7, b""), Err(ProtocolError::Empty));
        assert_eq!(
            decode(7, b"hello world"),
            Err(ProtocolError::NotAFrame { received: 11 })
        );
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            decode(7, &huge),
            Err(ProtocolError::TooLong {
                claimed: u32::MAX as u64
            })
        );
    }

    #[test]
    fn a_frame_must_be_whole_and_alone() {
        let frame = encode(7, panicked());
        assert!(matches!(
            decode(7, &frame[..frame.len() - 1]),
            Err(ProtocolError::Truncated { .. })
        ));
        let mut doubled = frame.clone();
        doubled.extend_from_slice(&frame);
        assert!(matches!(
            decode(7, &doubled),
            Err(ProtocolError::TrailingBytes { .. })
        ));
    }

    #[test]
    fn another_runs_frame_is_rejected() {
        let frame = encode(7, ChildReport::Returned { heap: None });
        assert_eq!(decode(8, &frame), Err(ProtocolError::WrongToken));
    }
}
