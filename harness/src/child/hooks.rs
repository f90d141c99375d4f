//! The panic hook every child inherits: it reports each panic on the test's thread as it happens,
//! so a child that then dies still says where it panicked.

use std::panic::{self, PanicHookInfo};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering::Relaxed};

use super::no_alloc::channel;
use super::no_alloc::counting::{self, HeapCharge, HeapSnapshot};
use crate::outcome::{PanicLocation, PanicRecord};
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
        counting::paused(|| default_hook(info));
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
