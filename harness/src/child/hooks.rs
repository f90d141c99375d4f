//! The panic hook every child inherits: it reports each panic on the test's thread as it happens,
//! so a child that then dies still says where it panicked.

use std::io::Write;
use std::panic::{self, PanicHookInfo};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering::Relaxed};

use super::no_alloc::channel;
use super::no_alloc::counting::{self, HeapCharge, HeapSnapshot};
use crate::outcome::{PanicLocation, PanicRecord};
use crate::panic_backtrace;
use crate::registry::{ShouldPanic, TestCase};
use crate::wire::Message;

/// The test this child runs, for the panic hook to match a panic against `should_panic`.
static CASE: AtomicPtr<TestCase> = AtomicPtr::new(std::ptr::null_mut());
/// Heap growth inside std's panic hook during this child's test.
pub(super) static HOOK_HEAP: HeapCharge = HeapCharge::new();
/// Whether the latest panic's frame was sent (not over the cap).
pub(super) static LATEST_PANIC_SENT: AtomicBool = AtomicBool::new(false);

/// Installs the panic hook that reports a child's panic. Called in the parent before the first
/// fork, so no child allocates it (and none counts it as a leak).
pub(crate) fn install_panic_hook() {
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        report_panic(info);
        // With RUST_BACKTRACE set, std's hook keeps megabytes of symbolisation caches: charged to
        // the harness, not to a test that catches a panic.
        // One hook measured at a time: the counts are process-wide, so threads panicking at once
        // (crossbeam's scope tests) would each be charged the others' allocations too.
        // Held across the default hook only; std's Mutex does not allocate.
        static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let measuring = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
        let before = HeapSnapshot::now();
        counting::paused(|| {
            if !write_with_marker(info) {
                default_hook(info);
            }
        });
        if channel::is_open() {
            HOOK_HEAP.charge(before.delta_to(HeapSnapshot::now()));
        }
        drop(measuring);
        if super::PANIC_ABORTS && LATEST_PANIC_SENT.load(Relaxed) && channel::on_test_thread() {
            // The abort that follows ends the body: say so while we still can.
            super::send(Message::Unwound {
                hooked: true,
                message: None,
                contains_expected: None,
            });
        }
    }));
}

/// Writes what std's hook would with `RUST_BACKTRACE=1`, the backtrace's frames unnamed, in a
/// marker line the harness replaces (see [`panic_backtrace`]); false where std's hook must write
/// instead: markers off, another backtrace style, or a panic std writes otherwise (one that
/// cannot unwind, or is to have no backtrace).
fn write_with_marker(info: &PanicHookInfo<'_>) -> bool {
    let Some(key) = panic_backtrace::key() else {
        return false;
    };
    // std's rule for panics: unset or `0` is none, `full` the full style, anything else short.
    match std::env::var_os("RUST_BACKTRACE") {
        Some(style) if style != "0" && style != "full" => {}
        _ => return false,
    }
    // Neither is stable to ask, both are in the `Debug` form (a payload's is `Any { .. }`).
    let details = format!("{info:?}");
    if !details.contains("can_unwind: true") || !details.contains("force_no_backtrace: false") {
        return false;
    }
    let mut addresses = Vec::with_capacity(64);
    crate::stack::walk(|address| {
        addresses.push(address);
        // The hook's own frames come before std's first shown, so a few more than std counts.
        addresses.len() <= panic_backtrace::MOST_FRAMES + 16
    });
    let cwd = std::env::current_dir().ok();
    let cwd = cwd.as_deref().and_then(std::path::Path::to_str);
    let name = std::thread::current().name().map(str::to_owned);
    let location = info.location().map(ToString::to_string).unwrap_or_default();
    let message = info.payload_as_str().unwrap_or("Box<dyn Any>");
    // std's header, its leading line break included, then the marker: one write, so that no
    // other thread's output comes between them.
    let text = format!(
        "\nthread '{}' ({}) panicked at {location}:\n{message}\n{}",
        name.as_deref().unwrap_or("<unnamed>"),
        crate::sys::threads::current_thread_id(),
        panic_backtrace::marker_line(key, &addresses, cwd),
    );
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
    true
}

/// Sends each panic on the test's thread as it happens: if the child then dies (a panic while
/// panicking aborts), the parent still learns where. Nothing is kept in the child, so a test that
/// catches a panic is not charged for the hook's allocations.
fn report_panic(info: &PanicHookInfo<'_>) {
    if !channel::is_open() || !channel::on_test_thread() {
        return;
    }
    if !channel::take_clue_slot() {
        LATEST_PANIC_SENT.store(false, Relaxed);
        return;
    }
    let message = payload_text(info.payload());
    let record = PanicRecord {
        contains_expected: contains_expected(message.as_deref()),
        message,
        location: info.location().map(|location| PanicLocation {
            file: location.file().to_owned(),
            line: location.line(),
            column: location.column(),
        }),
    };
    super::send(Message::Panic(record));
    LATEST_PANIC_SENT.store(true, Relaxed);
}

/// Whether a panic's message contains the text `#[should_panic(expected = ..)]` names, decided
/// here on the whole message (the parent may get it shortened); `None` when the test names none.
pub(super) fn contains_expected(message: Option<&str>) -> Option<bool> {
    // SAFETY: set once per child to a `&'static TestCase` before the body runs, never freed.
    let case = unsafe { CASE.load(Relaxed).as_ref() }?;
    match case.should_panic {
        ShouldPanic::WithMessage(expected) => Some(message.is_some_and(|m| m.contains(expected))),
        ShouldPanic::No | ShouldPanic::Yes => None,
    }
}

pub(super) fn payload_text(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}

/// Makes `case` the test whose panics this child reports. Call in the forked child, once.
pub(super) fn set_case(case: &'static TestCase) {
    CASE.store((case as *const TestCase).cast_mut(), Relaxed);
}
