//! What runs inside a forked child: the test body, the heap snapshots around it, and the one
//! report it sends before `_exit`.

use std::io::Write;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering::Relaxed};

use crate::alloc::{HeapCharge, HeapDelta, HeapSnapshot};
use crate::channel;
use crate::protocol::{self, ChildReport, Message, PanicLocation, PanicRecord};
use crate::registry::{ShouldPanic, TestCase};

/// The exit status of a child that could not send its report because the test closed or replaced
/// the result channel; [`CHANNEL_LOST_LINE`] is then the last line on its stderr, which tells it
/// from a test that exits with the same status.
pub(crate) const EXIT_CHANNEL_LOST: i32 = 199;
pub(crate) const CHANNEL_LOST_LINE: &str =
    "isolated-test: the test closed or replaced its result channel; no result was sent\n";

/// The exit status of a process the test forked that returned from the test body.
const EXIT_FORKED_COPY: i32 = 198;

/// What a child does beyond running its test, fixed when it is forked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChildOptions {
    /// Bytes of live heap the body may bring about.
    pub(crate) memory_limit: Option<u64>,
    /// Record every allocation the body makes, to tell the blocks it left apart into lost and
    /// still reachable.
    pub(crate) track_allocations: bool,
    /// With `track_allocations`: each allocation's call stack too, to say where blocks came from.
    pub(crate) record_stacks: bool,
    /// With `record_stacks`: the sites of the still reachable blocks too, not only the lost.
    pub(crate) reachable_sites: bool,
}

impl ChildOptions {
    /// The same, recording allocations (and their call stacks if `stacks`; the sites of the
    /// still reachable blocks too if `reachable_sites`).
    pub(crate) fn tracking_allocations(self, stacks: bool, reachable_sites: bool) -> Self {
        Self {
            track_allocations: true,
            record_stacks: stacks,
            reachable_sites,
            ..self
        }
    }
}

/// Whether this binary was built with `panic = "abort"`: a panic on the test's thread then ends
/// the process, and the panic hook reports it as the test's end.
pub(crate) const PANIC_ABORTS: bool = cfg!(panic = "abort");

/// The test this child runs, for the panic hook to match a panic against `should_panic`.
static CASE: AtomicPtr<TestCase> = AtomicPtr::new(std::ptr::null_mut());
/// The thread running the body: panics on other threads are the test's business.
static TEST_THREAD: AtomicUsize = AtomicUsize::new(0);
/// Heap growth inside std's panic hook during this child's test.
static HOOK_HEAP: HeapCharge = HeapCharge::new();
/// Whether the latest panic's frame was sent (not over the cap).
static LATEST_PANIC_SENT: AtomicBool = AtomicBool::new(false);

/// Installs the panic hook that reports a child's panic. Called in the parent before the first
/// fork, so no child allocates it (and none counts it as a leak).
pub(crate) fn install_panic_hook() {
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        report_panic(info);
        // With RUST_BACKTRACE set, std's hook keeps megabytes of symbolisation caches: charged to
        // the harness, not to a test that catches a panic.
        let before = HeapSnapshot::now();
        crate::alloc::paused(|| default_hook(info));
        if channel::is_open() {
            HOOK_HEAP.charge(before.delta_to(HeapSnapshot::now()));
        }
        if PANIC_ABORTS && LATEST_PANIC_SENT.load(Relaxed) && on_test_thread() {
            // The abort that follows ends the body: say so while we still can.
            send(Message::Unwound {
                hooked: true,
                message: None,
                contains_expected: None,
            });
        }
    }));
}

/// Whether this is the test's thread in the process the harness forked (a process the test
/// forks from its thread has a thread of the same id).
fn on_test_thread() -> bool {
    // SAFETY: `pthread_self` has no preconditions.
    let me = unsafe { libc::pthread_self() } as usize;
    TEST_THREAD.load(Relaxed) == me && channel::is_test_process()
}

/// Sends each panic on the test's thread as it happens: if the child then dies (a panic while
/// panicking aborts), the parent still learns where. Nothing is kept in the child, so a test that
/// catches a panic is not charged for the hook's allocations.
fn report_panic(info: &PanicHookInfo<'_>) {
    if !channel::is_open() || !on_test_thread() {
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
    send(Message::Panic(record));
    LATEST_PANIC_SENT.store(true, Relaxed);
}

/// Whether a panic's message contains the text `#[should_panic(expected = ..)]` names, decided
/// here on the whole message (the parent may get it shortened); `None` when the test names none.
fn contains_expected(message: Option<&str>) -> Option<bool> {
    // SAFETY: set once per child to a `&'static TestCase` before the body runs, never freed.
    let case = unsafe { CASE.load(Relaxed).as_ref() }?;
    match case.should_panic {
        ShouldPanic::WithMessage(expected) => Some(message.is_some_and(|m| m.contains(expected))),
        ShouldPanic::No | ShouldPanic::Yes => None,
    }
}

/// The signal the harness sends a child at its timeout, before killing it, to learn where the
/// test's thread is.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn stuck_signal() -> libc::c_int {
    libc::SIGRTMIN() + 4
}

/// Installs the handler for [`stuck_signal`] in the harness, for every child to inherit, and
/// runs the unwinder once so that nothing in it is first set up inside a handler.
pub(crate) fn install_stuck_handler() {
    backtrace::trace(|_| false);
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: the handler only reads atomics, unwinds its own stack, and writes a frame
        // built on its stack with `write`; a zeroed sigaction with these fields set is valid.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_stuck as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigaction(stuck_signal(), &action, std::ptr::null_mut());
        }
    }
}

/// Sends the test thread's return addresses on the channel. Allocates nothing: it may have
/// interrupted the allocator.
#[cfg(any(target_os = "linux", target_os = "android"))]
extern "C" fn on_stuck(signal: libc::c_int) {
    if !channel::is_open() {
        return;
    }
    if !on_test_thread() {
        // SAFETY: the test's thread is alive (it runs the body this child exists for).
        unsafe { libc::pthread_kill(TEST_THREAD.load(Relaxed) as libc::pthread_t, signal) };
        return;
    }
    let mut frames = [0u64; protocol::STUCK_FRAMES];
    let mut count = 0;
    // SAFETY: unsynchronised unwinding of this thread's own stack; no other thread of this
    // child unwinds with the backtrace crate, and libgcc's unwinder does not allocate.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            frames[count] = frame.ip() as u64;
            count += 1;
            count < frames.len()
        });
    }
    channel::send_clue_without_allocating(Message::Stuck {
        frames,
        count: count as u8,
    });
}

/// Caps the child's address space well above its memory limit: a backstop for memory the
/// counting allocator never sees (`mmap`, a foreign allocator), not the limit itself.
fn limit_address_space(memory_limit: u64) {
    const SLACK: u64 = 512 << 20;
    let page = 4096;
    let Some(mapped) = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().next()?.parse::<u64>().ok())
    else {
        return;
    };
    let cap = (mapped * page)
        .saturating_add(memory_limit.saturating_mul(2))
        .saturating_add(SLACK);
    let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_AS, cap, cap);
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}

/// Writes this child's coverage profile (`LLVM_PROFILE_FILE`, where `%p` makes it a file of its
/// own) when the binary is instrumented: the `_exit` that ends a child skips the profiler
/// runtime's exit hook, so code that ran only in children would count as never run.
fn write_coverage() {
    #[cfg(isolated_test_coverage)]
    {
        extern "C" {
            fn __llvm_profile_set_filename(pattern: *const libc::c_char);
            fn __llvm_profile_write_file() -> libc::c_int;
        }
        // The runtime expanded `%p` once, in the harness, and ignores the same pattern set
        // again: set another (which it opens, so a harmless one), then the pattern, so that it
        // names this child. Without `LLVM_PROFILE_FILE`, rustc's default pattern.
        let pattern = std::env::var("LLVM_PROFILE_FILE")
            .unwrap_or_else(|_| "default_%m_%p.profraw".to_owned());
        let Ok(pattern) = std::ffi::CString::new(pattern) else {
            return;
        };
        // SAFETY: the profiler runtime is linked into every `-C instrument-coverage` binary;
        // it copies the pattern, and writing the profile only reads its counters.
        unsafe {
            __llvm_profile_set_filename(c"/dev/null".as_ptr());
            __llvm_profile_set_filename(pattern.as_ptr());
            __llvm_profile_write_file();
        }
    }
}

/// A process the test forked came back out of the test body (it did not end with `_exit`): it
/// says so, and ends before it can run anything of the harness's.
fn forked_copy_returned(panicked: bool) -> ! {
    let _ = channel::write(Message::ForkedCopyReturned { panicked });
    // SAFETY: `_exit` ends this copy at once, running nothing it inherited.
    unsafe { libc::_exit(EXIT_FORKED_COPY) }
}

/// Writes one frame on the result channel; a child whose channel is gone ends at once.
fn send(message: Message) {
    if !channel::is_intact() || channel::write(message).is_err() {
        let _ = std::io::stderr().write_all(CHANNEL_LOST_LINE.as_bytes());
        flush_stdout();
        write_coverage();
        // SAFETY: `_exit` ends the process at once; nothing of the test is left to run.
        unsafe { libc::_exit(EXIT_CHANNEL_LOST) };
    }
}

fn flush_stdout() {
    let _ = std::io::stdout().flush();
}

/// How many threads this process has, where the platform says: one `stat`, since
/// `/proc/self/task` has a link per thread plus `.` and `..`.
pub(crate) fn thread_count() -> Option<usize> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a NUL-terminated path and a buffer `stat` fills on success; no allocation, as this
    // runs before every fork and after every test body.
    let ok = unsafe { libc::stat(c"/proc/self/task".as_ptr(), stat.as_mut_ptr()) } == 0;
    // SAFETY: initialised by the successful `stat` above.
    ok.then(|| unsafe { stat.assume_init() }.st_nlink.saturating_sub(2) as usize)
}

/// How long the leak check waits for the test's other threads to finish exiting.
const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Waits, at most [`SETTLE_LIMIT`], while another thread of the test is still running: a scoped
/// or joined thread is joined before it has freed its thread-locals, and those frees belong
/// inside the measurement. A thread that sleeps (parked, blocked) is a live background thread,
/// not one exiting: it is not waited for.
fn settle_threads() {
    let started = std::time::Instant::now();
    while thread_count().is_some_and(|threads| threads > 1)
        && another_thread_runs()
        && started.elapsed() < SETTLE_LIMIT
    {
        std::thread::yield_now();
    }
}

/// Whether a thread of this process other than the caller is running or waiting for a processor
/// (state `R`), or in uninterruptible sleep (`D`), as `/proc/self/task/*/stat` says.
fn another_thread_runs() -> bool {
    // SAFETY: `gettid` has no preconditions.
    let me = unsafe { libc::gettid() }.to_string();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return false;
    };
    tasks.flatten().any(|task| {
        task.file_name().to_str() != Some(me.as_str())
            && std::fs::read_to_string(task.path().join("stat"))
                .ok()
                .and_then(|stat| {
                    let after_name = stat.get(stat.rfind(')')? + 1..)?;
                    after_name.split_whitespace().next().map(str::to_owned)
                })
                .is_some_and(|state| state == "R" || state == "D")
    })
}

/// Whether this process has any child, living or not yet reaped: a process the test started, or
/// an orphan of one (the child is a subreaper).
fn has_children() -> bool {
    let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: `waitid` writes a siginfo into our buffer; WNOWAIT leaves every child as it is.
    unsafe { libc::waitid(libc::P_ALL, 0, info.as_mut_ptr(), flags) == 0 }
}

/// Runs `case` in this freshly forked child, reports on `channel`, and ends the process.
pub(crate) fn run_test(
    case: &TestCase,
    channel: BorrowedFd<'_>,
    token: u64,
    counting: bool,
    options: ChildOptions,
) -> ! {
    let memory_limit = options.memory_limit;
    let fd = channel.as_raw_fd();
    channel::open(fd, token);
    CASE.store((case as *const TestCase).cast_mut(), Relaxed);
    // SAFETY: `pthread_self` has no preconditions.
    TEST_THREAD.store(unsafe { libc::pthread_self() } as usize, Relaxed);

    if let Some(limit) = memory_limit {
        limit_address_space(limit);
    }
    // Heap, but made before the body's heap is measured: the mappings that are roots.
    let pre_body = options.track_allocations.then(crate::reach::PreBody::now);
    let before = HeapSnapshot::now();
    let record = options.track_allocations && crate::leak_sites::start(options.record_stacks);
    crate::alloc::begin_test(memory_limit, record);
    let result = panic::catch_unwind(AssertUnwindSafe(case.body));
    if !channel::is_test_process() {
        forked_copy_returned(result.is_err());
    }
    let peak_bytes = crate::alloc::end_test();
    let mut after = HeapSnapshot::now();
    if before.delta_to(after).holds_memory() {
        // Only growth can be an exiting thread's: counting threads costs a walk through /proc.
        settle_threads();
        after = HeapSnapshot::now();
    }
    if let Some(pre_body) = &pre_body {
        // This frame ran the body: below it, the stack holds only what the body's frames left.
        let here = 0u8;
        let stack_floor = std::hint::black_box(&here) as *const u8 as usize;
        crate::alloc::stop_tracking();
        send(Message::TrackedLeaks(crate::leak_sites::tracked_leaks(
            pre_body,
            stack_floor,
            options.reachable_sites,
        )));
    }
    if has_children() {
        send(Message::LeftProcesses {
            pids: crate::orphans::own_children(),
        });
    }
    let report = match result {
        Ok(Ok(())) => Message::Report(ChildReport::Returned {
            heap: counting.then(|| {
                let delta = HOOK_HEAP.deduct_from(before.delta_to(after));
                HeapDelta {
                    peak_bytes,
                    ..delta
                }
            }),
        }),
        Ok(Err(error)) => Message::Report(ChildReport::ReturnedErr { error }),
        Err(payload) => {
            let message = payload_text(&*payload);
            // A payload's destructor may panic again; it is the test's, not ours to run.
            std::mem::forget(payload);
            Message::Unwound {
                hooked: LATEST_PANIC_SENT.load(Relaxed),
                contains_expected: contains_expected(message.as_deref()),
                message,
            }
        }
    };
    send(report);
    flush_stdout();
    write_coverage();
    // SAFETY: `_exit` skips atexit handlers and destructors inherited from the parent, which
    // belong to the harness, not to this test.
    unsafe { libc::_exit(0) }
}
