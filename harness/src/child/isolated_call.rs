//! An isolated call's child: runs the function, sends its value (or how it panicked) on the
//! result channel, and ends with `_exit`.

use std::io::Write;
use std::os::fd::RawFd;
use std::panic::{self, AssertUnwindSafe};

use super::no_alloc::{channel, counting};
use crate::outcome::{PanicLocation, PanicRecord};
use crate::sys;
use crate::wire::{self, Message};

/// Runs `body` (which returns its value encoded) in this freshly forked child, with the heap it
/// may grow by limited where the counting allocator is installed; never returns.
pub(crate) fn run_call(
    result_fd: RawFd,
    token: u64,
    memory_limit: Option<u64>,
    body: &mut dyn FnMut() -> Result<Vec<u8>, String>,
) -> ! {
    channel::open(result_fd as u64, token);
    // Its stderr is read by `isolate`, which has no symboliser: std's hook names the frames.
    crate::panic_backtrace::turn_off();
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if channel::on_test_thread() {
            let record = PanicRecord {
                message: super::hooks::payload_text(info.payload()),
                location: info.location().map(|location| PanicLocation {
                    file: location.file().to_owned(),
                    line: location.line(),
                    column: location.column(),
                }),
                contains_expected: None,
            };
            send(Message::Panic(record));
        }
        previous(info);
    }));
    if memory_limit.is_some() {
        counting::begin_test(memory_limit, false);
    }
    let message = match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) if value.len() <= wire::MAX_FRAME / 2 => Message::Value(value),
        Ok(Ok(value)) => unwound(format!(
            "its value is {} bytes encoded, over the {} an isolated call may return",
            value.len(),
            wire::MAX_FRAME / 2
        )),
        Ok(Err(error)) => unwound(format!("its value could not be encoded: {error}")),
        Err(payload) => {
            let message = super::hooks::payload_text(&*payload);
            std::mem::forget(payload);
            Message::Unwound {
                hooked: true,
                message,
                contains_expected: None,
            }
        }
    };
    send(message);
    let _ = std::io::stdout().flush();
    sys::signals::exit_now(0)
}

/// A failure of the call's own making, reported as a panic of the harness's words.
fn unwound(message: String) -> Message {
    Message::Unwound {
        hooked: false,
        message: Some(message),
        contains_expected: None,
    }
}

fn send(message: Message) {
    let _ = channel::write_frame(&wire::encode(channel::token(), message));
}
