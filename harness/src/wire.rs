//! The result channel's wire format: the only module that knows it is bincode. What it carries
//! is [`outcome`](crate::outcome)'s data; this module only frames, encodes and decodes it.
//!
//! A child writes a frame for each panic on the test's thread (a child that then dies still
//! says where it panicked) and one frame with its report, last. A frame is `MAGIC`, a
//! little-endian `u32` payload length, then the bincode payload, which carries the run's token so
//! bytes a test writes into the channel by accident cannot decode into a pass. The parent never
//! allocates from the length field: it keeps at most [`MAX_CHANNEL_BYTES`] of whatever arrives.

use serde::{Deserialize, Serialize};

use crate::outcome::{ChildReport, Clues, LeftDescriptors, MemoryLimitHit, PanicRecord};
use crate::outcome::{ProtocolError, RecordedSite, TrackedLeaks};

/// The most sites a tracked child sends per kind of block (lost, still reachable): the largest
/// call stacks, before the harness merges those that name the same frames of the test's.
pub(crate) const SITES_SENT: usize = 20;
/// The most return addresses of a site's call stack the parent keeps.
const MAX_STACK: usize = 64;

/// One frame's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)] // `Stuck` is built in a signal handler: no `Box` there
pub(crate) enum Message {
    /// The panic hook saw a panic (the test may still catch it).
    Panic(PanicRecord),
    /// The child's final word.
    Report(ChildReport),
    /// A panic ended the body: it unwound out of it, or (built with `panic = "abort"`) the
    /// process is about to abort. `hooked` says whether its `Panic` frame was sent, or only the
    /// payload's `message` is known.
    Unwound {
        hooked: bool,
        message: Option<String>,
        contains_expected: Option<bool>,
    },
    /// The global allocator returned null (the test may still handle it, as `try_reserve` does).
    AllocationFailed { size: u64 },
    /// An allocation of `size` bytes would have taken the test's live heap (`live`) over its
    /// memory `limit`, and failed.
    MemoryLimit { limit: u64, size: u64, live: u64 },
    /// A process the test forked returned from the test body (`panicked`: by unwinding) instead
    /// of ending with `_exit`. Sent by that process, never by the test's own.
    ForkedCopyReturned { panicked: bool },
    /// The test's body ended with these processes of its own still around.
    LeftProcesses { pids: Vec<i32> },
    /// The test's body returned with these descriptors open that were not open before it: the
    /// number, and what it refers to (`/tmp/x.db`, `socket`, `pipe`): the first
    /// [`NAMED_DESCRIPTORS`] of `count`.
    LeftDescriptors {
        count: u32,
        named: Vec<(i32, String)>,
    },
    /// The test's body returned with this many threads of its own still running.
    LeftThreads { threads: u32 },
    /// How much the C library's heap grew beyond what the counting allocator saw: memory that
    /// code called through FFI kept (glibc's `mallinfo2`; an estimate, see `child::foreign_heap`).
    ForeignHeap { bytes: i64 },
    /// Where the blocks still allocated when the body returned came from (tracked runs only).
    TrackedLeaks(TrackedLeaks<RecordedSite>),
    /// An isolated call's value, encoded by [`encode_value`]: its final word.
    Value(Vec<u8>),
    /// The test's thread was asked where it was, at its timeout: its return addresses, innermost
    /// first, `count` of them.
    Stuck {
        frames: [u64; STUCK_FRAMES],
        count: u8,
    },
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    token: u64,
    message: Message,
}

/// What the parent read from a child's result channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChannelContents {
    /// The child's final word, or why there is none.
    pub(crate) report: Result<ChildReport, ProtocolError>,
    pub(crate) clues: Clues,
}

/// How many left descriptors a child names (each path may be long; a frame is bounded).
#[cfg(unix)]
pub(crate) const NAMED_DESCRIPTORS: usize = 16;

/// How many return addresses a [`Message::Stuck`] frame holds (serde's arrays go up to 32).
pub(crate) const STUCK_FRAMES: usize = 32;

const MAGIC: [u8; 4] = *b"ISOT";
const HEADER: usize = MAGIC.len() + 4;
/// The largest frame a child may send: a report is small, but a panic message may be long.
pub(crate) const MAX_FRAME: usize = 1 << 20;
/// The most the parent keeps of one child's channel: a few panics and a report.
pub(crate) const MAX_CHANNEL_BYTES: usize = 4 * MAX_FRAME;
/// The most panics and failed allocations a child reports before its final word, so a test that
/// catches panics in a loop cannot flood the channel.
pub(crate) const MAX_CLUE_FRAMES: u32 = 16;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_FRAME>()
}

/// One frame carrying `message`, its texts shortened to [`MAX_TEXT`].
pub(crate) fn encode(token: u64, message: Message) -> Vec<u8> {
    let mut frame = MAGIC.to_vec();
    frame.extend_from_slice(&[0; 4]);
    let envelope = Envelope {
        token,
        message: message.shortened(MAX_TEXT),
    };
    let encoded = bincode::serde::encode_into_std_write(&envelope, &mut frame, config());
    if encoded.is_err() || frame.len() - HEADER > MAX_FRAME {
        // Still too large (a report of very many long names): its texts cut down further.
        frame.truncate(HEADER);
        let envelope = Envelope {
            token,
            message: envelope.message.shortened(MIN_TEXT),
        };
        bincode::serde::encode_into_std_write(&envelope, &mut frame, config())
            .expect("plain data encodes into a Vec");
    }
    let length = (frame.len() - HEADER) as u32;
    frame[MAGIC.len()..HEADER].copy_from_slice(&length.to_le_bytes());
    frame
}

/// An isolated call's value, as its final frame carries it.
pub(crate) fn encode_value<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    bincode::serde::encode_to_vec(value, bincode::config::standard()).map_err(|e| e.to_string())
}

/// The value [`encode_value`] encoded.
pub(crate) fn decode_value<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    bincode::serde::decode_from_slice(bytes, config())
        .map(|(value, _)| value)
        .map_err(|e| e.to_string())
}

/// The longest panic message or error text sent whole; a longer one keeps its head and tail.
pub(crate) const MAX_TEXT: usize = 64 << 10;
const MIN_TEXT: usize = 1 << 10;

/// `text` cut to its first and last `limit / 2` bytes (on character boundaries) around
/// `[... N bytes omitted ...]`, if it is longer than `limit`.
pub(crate) fn shorten(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let floor = |mut at: usize| {
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    let head_end = floor(limit / 2);
    let tail_start = floor(text.len() - limit / 2);
    format!(
        "{}\n[... {} bytes omitted ...]\n{}",
        &text[..head_end],
        tail_start - head_end,
        &text[tail_start..]
    )
}

impl Message {
    fn shortened(self, limit: usize) -> Message {
        let text = |text: Option<String>| text.map(|text| shorten(text, limit));
        let record = |record: PanicRecord| PanicRecord {
            message: text(record.message),
            ..record
        };
        match self {
            Message::Panic(panic) => Message::Panic(record(panic)),
            Message::Report(ChildReport::Panicked(panic)) => {
                Message::Report(ChildReport::Panicked(record(panic)))
            }
            Message::Report(ChildReport::ReturnedErr { error }) => {
                Message::Report(ChildReport::ReturnedErr {
                    error: shorten(error, limit),
                })
            }
            Message::Unwound {
                hooked,
                message,
                contains_expected,
            } => Message::Unwound {
                hooked,
                message: text(message),
                contains_expected,
            },
            Message::TrackedLeaks(mut leaks) => {
                for tally in [&mut leaks.lost, &mut leaks.reachable] {
                    tally.sites.truncate(SITES_SENT);
                    for site in &mut tally.sites {
                        site.stack.truncate(MAX_STACK);
                    }
                }
                Message::TrackedLeaks(leaks)
            }
            small @ (Message::Report(ChildReport::Returned { .. })
            | Message::AllocationFailed { .. }
            | Message::MemoryLimit { .. }
            | Message::Stuck { .. }
            | Message::LeftProcesses { .. }
            | Message::LeftDescriptors { .. }
            | Message::LeftThreads { .. }
            | Message::ForeignHeap { .. }
            | Message::ForkedCopyReturned { .. }
            | Message::Value(_)) => small,
        }
    }
}

/// Encodes a small `message` into `buffer` without allocating (for the allocator's own use);
/// returns the frame's length, or `None` if it does not fit.
pub(crate) fn encode_into(buffer: &mut [u8], token: u64, message: Message) -> Option<usize> {
    let envelope = Envelope { token, message };
    let payload = buffer.get_mut(HEADER..)?;
    let length = bincode::serde::encode_into_slice(&envelope, payload, config()).ok()?;
    buffer[..MAGIC.len()].copy_from_slice(&MAGIC);
    buffer[MAGIC.len()..HEADER].copy_from_slice(&(length as u32).to_le_bytes());
    Some(HEADER + length)
}

/// Decodes the frame at the start of `bytes`; returns it and its length.
fn decode_frame(token: u64, bytes: &[u8]) -> Result<(Message, usize), ProtocolError> {
    if bytes.len() < HEADER || bytes[..MAGIC.len()] != MAGIC {
        // Up to where a frame may start again: what a test wrote, not the frames that follow.
        let received = (bytes.windows(MAGIC.len()).skip(1))
            .position(|window| window == MAGIC)
            .map_or(bytes.len(), |at| at + 1);
        return Err(ProtocolError::NotAFrame { received });
    }
    let claimed = u32::from_le_bytes(bytes[MAGIC.len()..HEADER].try_into().unwrap()) as usize;
    if claimed > MAX_FRAME {
        return Err(ProtocolError::TooLong {
            claimed: claimed as u64,
            limit: MAX_FRAME,
        });
    }
    let Some(payload) = bytes.get(HEADER..HEADER + claimed) else {
        return Err(ProtocolError::Truncated {
            expected: HEADER + claimed,
            received: bytes.len(),
        });
    };
    let (envelope, used): (Envelope, usize) = bincode::serde::decode_from_slice(payload, config())
        .map_err(|error| ProtocolError::Undecodable(error.to_string()))?;
    if used != claimed {
        return Err(ProtocolError::Undecodable(format!(
            "{} bytes of the frame were left over",
            claimed - used
        )));
    }
    if envelope.token != token {
        return Err(ProtocolError::WrongToken);
    }
    Ok((envelope.message, HEADER + claimed))
}

/// The return addresses of the first `Stuck` frame among the whole frames `bytes` starts with: a
/// running child's answer to where it is. `None` until one has come whole.
pub(crate) fn stuck_frames_in(token: u64, mut bytes: &[u8]) -> Option<Vec<u64>> {
    while let Ok((message, used)) = decode_frame(token, bytes) {
        if let Message::Stuck { frames, count } = message {
            return Some(frames[..usize::from(count).min(STUCK_FRAMES)].to_vec());
        }
        bytes = &bytes[used..];
    }
    None
}

/// Everything on a child's channel: its panics, then exactly one report and nothing after it.
pub(crate) fn decode(token: u64, mut bytes: &[u8]) -> ChannelContents {
    let mut clues = Clues::default();
    let mut last_panic: Option<PanicRecord> = None;
    let mut report = Err(ProtocolError::NoReport);
    while !bytes.is_empty() {
        let (message, used) = match decode_frame(token, bytes) {
            // A forked copy of the test may still speak after the test reported: heard, since
            // it can only fail the test.
            Ok((Message::ForkedCopyReturned { panicked }, used)) => {
                clues.forked_copy_returned.get_or_insert(panicked);
                bytes = &bytes[used..];
                continue;
            }
            _ if report.is_ok() => {
                report = Err(ProtocolError::TrailingBytes { extra: bytes.len() });
                break;
            }
            Ok(frame) => frame,
            Err(error) => {
                report = Err(error);
                break;
            }
        };
        bytes = &bytes[used..];
        match message {
            Message::Panic(record) => {
                clues
                    .mishaps
                    .first_panic
                    .get_or_insert_with(|| record.clone());
                last_panic = Some(record);
            }
            Message::Report(final_report) => report = Ok(final_report),
            Message::Unwound {
                hooked,
                message,
                contains_expected,
            } => {
                let record = match last_panic.take() {
                    Some(record) if hooked => record,
                    _ => PanicRecord {
                        message,
                        location: None,
                        contains_expected,
                    },
                };
                report = Ok(ChildReport::Panicked(record));
            }
            Message::Value(value) => {
                clues.value = Some(value);
                report = Ok(ChildReport::Returned { heap: None });
            }
            Message::AllocationFailed { size } => clues.mishaps.failed_allocation = Some(size),
            Message::TrackedLeaks(leaks) => clues.tracked_leaks = Some(leaks),
            Message::Stuck { frames, count } => {
                clues.stuck_at = frames[..usize::from(count).min(STUCK_FRAMES)].to_vec();
            }
            Message::MemoryLimit { limit, size, live } => {
                // The first refusal is the test's; later ones come from what its end runs (the
                // panic hook's backtrace under RUST_BACKTRACE, the abort's message).
                clues
                    .mishaps
                    .memory_limit
                    .get_or_insert(MemoryLimitHit { limit, size, live });
            }
            Message::LeftDescriptors { count, named } => {
                clues.left.descriptors = Some(LeftDescriptors { count, named });
            }
            Message::LeftThreads { threads } => clues.left.threads = threads,
            Message::ForeignHeap { bytes } => clues.foreign_heap = Some(bytes),
            Message::LeftProcesses { pids } => {
                clues.left.processes = true;
                clues.left.descendants = pids;
            }
            Message::ForkedCopyReturned { .. } => unreachable!("taken above"),
        }
    }
    clues.left.processes |= report.is_err();
    ChannelContents { report, clues }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{HeapDelta, PanicLocation};

    fn record(message: &str) -> PanicRecord {
        PanicRecord {
            contains_expected: None,
            message: Some(message.to_owned()),
            location: Some(PanicLocation {
                file: "tests/a.rs".to_owned(),
                line: 3,
                column: 5,
            }),
        }
    }

    fn channel(messages: &[Message]) -> Vec<u8> {
        messages
            .iter()
            .flat_map(|message| encode(7, message.clone()))
            .collect()
    }

    #[test]
    fn reports_round_trip() {
        let reports = [
            ChildReport::Returned {
                heap: Some(HeapDelta {
                    net_bytes: 24,
                    net_blocks: 1,
                    allocations: 3,
                    peak_bytes: 4096,
                }),
            },
            ChildReport::Returned { heap: None },
            ChildReport::ReturnedErr {
                error: "\"no\"".to_owned(),
            },
            ChildReport::Panicked(record("boom")),
        ];
        for report in reports {
            let bytes = channel(&[Message::Report(report.clone())]);
            assert_eq!(decode(7, &bytes).report, Ok(report));
        }
    }

    #[test]
    fn an_unwound_panic_is_the_last_one_hooked() {
        let bytes = channel(&[
            Message::Panic(record("caught")),
            Message::Panic(record("escaped")),
            Message::Unwound {
                hooked: true,
                message: Some("escaped".to_owned()),
                contains_expected: None,
            },
        ]);
        let contents = decode(7, &bytes);
        assert_eq!(
            contents.report,
            Ok(ChildReport::Panicked(record("escaped")))
        );
        assert_eq!(contents.clues.mishaps.first_panic, Some(record("caught")));
    }

    #[test]
    fn a_caught_panic_does_not_change_the_report() {
        let returned = ChildReport::Returned { heap: None };
        let bytes = channel(&[
            Message::Panic(record("caught")),
            Message::Report(returned.clone()),
        ]);
        assert_eq!(decode(7, &bytes).report, Ok(returned));
    }

    #[test]
    fn a_child_that_died_after_panicking_has_no_report_but_a_panic() {
        let contents = decode(7, &channel(&[Message::Panic(record("boom"))]));
        assert_eq!(contents.report, Err(ProtocolError::NoReport));
        assert_eq!(contents.clues.mishaps.first_panic, Some(record("boom")));
    }

    #[test]
    fn garbage_never_decodes() {
        assert_eq!(decode(7, b"").report, Err(ProtocolError::NoReport));
        assert_eq!(
            decode(7, b"hello world").report,
            Err(ProtocolError::NotAFrame { received: 11 })
        );
        // Counted up to the frame after them: the same count whatever the child sends next.
        let mut then_a_frame = b"hello world".to_vec();
        then_a_frame.extend_from_slice(&encode(
            7,
            Message::Report(ChildReport::Returned { heap: None }),
        ));
        assert_eq!(
            decode(7, &then_a_frame).report,
            Err(ProtocolError::NotAFrame { received: 11 })
        );
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            decode(7, &huge).report,
            Err(ProtocolError::TooLong {
                claimed: u32::MAX as u64,
                limit: MAX_FRAME,
            })
        );
        let mut garbage_first = b"garbage".to_vec();
        garbage_first.extend(channel(&[Message::Report(ChildReport::Returned {
            heap: None,
        })]));
        assert!(decode(7, &garbage_first).report.is_err());
    }

    #[test]
    fn the_report_must_be_whole_and_last() {
        let frame = channel(&[Message::Report(ChildReport::Returned { heap: None })]);
        assert!(matches!(
            decode(7, &frame[..frame.len() - 1]).report,
            Err(ProtocolError::Truncated { .. })
        ));
        let mut doubled = frame.clone();
        doubled.extend_from_slice(&frame);
        assert!(matches!(
            decode(7, &doubled).report,
            Err(ProtocolError::TrailingBytes { .. })
        ));
    }

    #[test]
    fn a_forked_copy_is_heard_before_or_after_the_report() {
        let returned = Message::Report(ChildReport::Returned { heap: None });
        let copy = Message::ForkedCopyReturned { panicked: false };
        for order in [[copy.clone(), returned.clone()], [returned, copy]] {
            let contents = decode(7, &channel(&order));
            assert_eq!(contents.report, Ok(ChildReport::Returned { heap: None }));
            assert_eq!(contents.clues.forked_copy_returned, Some(false));
        }
    }

    #[test]
    fn another_runs_frame_is_rejected() {
        let frame = encode(7, Message::Report(ChildReport::Returned { heap: None }));
        assert_eq!(decode(8, &frame).report, Err(ProtocolError::WrongToken));
    }

    #[test]
    fn a_failed_allocation_is_framed_without_allocating() {
        let mut buffer = [0u8; 64];
        let length =
            encode_into(&mut buffer, 7, Message::AllocationFailed { size: 1 << 46 }).unwrap();
        let contents = decode(7, &buffer[..length]);
        assert_eq!(contents.clues.mishaps.failed_allocation, Some(1 << 46));
        assert_eq!(contents.report, Err(ProtocolError::NoReport));
        assert_eq!(
            encode_into(&mut [0u8; 4], 7, Message::AllocationFailed { size: 1 }),
            None
        );
    }

    #[test]
    fn an_oversized_panic_message_arrives_as_its_head_and_tail() {
        let mut big = record("x");
        let text = format!(
            "{}{}{}",
            "<".repeat(MAX_FRAME),
            "é".repeat(MAX_FRAME),
            ">".repeat(MAX_FRAME)
        );
        big.message = Some(text.clone());
        big.contains_expected = Some(true);
        let arrived = decode(7, &encode(7, Message::Panic(big)))
            .clues
            .mishaps
            .first_panic
            .unwrap();
        let message = arrived.message.unwrap();
        let omitted = text.len() - MAX_TEXT;
        assert_eq!(
            message,
            format!(
                "{}\n[... {omitted} bytes omitted ...]\n{}",
                "<".repeat(MAX_TEXT / 2),
                ">".repeat(MAX_TEXT / 2)
            )
        );
        assert_eq!(arrived.contains_expected, Some(true));
        let error = "e".repeat(3 * MAX_FRAME);
        let report = decode(
            7,
            &encode(7, Message::Report(ChildReport::ReturnedErr { error })),
        );
        let Ok(ChildReport::ReturnedErr { error }) = report.report else {
            panic!("no error report: {:?}", report.report);
        };
        assert!(error.contains(&format!(
            "[... {} bytes omitted ...]",
            3 * MAX_FRAME - MAX_TEXT
        )));
    }

    #[test]
    fn shortening_keeps_whole_characters() {
        assert_eq!(shorten("short".to_owned(), 8), "short");
        // Halves of 4 bytes end inside a two-byte character: both cuts move back to a boundary.
        assert_eq!(
            shorten("aééééé".to_owned(), 8),
            "aé\n[... 4 bytes omitted ...]\néé"
        );
    }
}
