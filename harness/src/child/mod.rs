//! What runs in a forked child, after the fork: the test body, the heap snapshots around it, and
//! the one report it sends before `_exit`. Nothing here imports the parent's side; what must not
//! allocate is in [`no_alloc`].

mod hooks;
#[cfg(unix)]
pub(crate) mod isolated_call;
#[cfg(unix)]
mod leak_sites;
#[cfg(windows)]
#[path = "windows/leak_sites.rs"]
mod leak_sites;
pub(crate) mod no_alloc;
#[cfg(unix)]
mod resources;
#[cfg(windows)]
#[path = "windows/resources.rs"]
mod resources;
mod test_thread;

use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;

use crate::env;
use crate::outcome::{ChildReport, HeapDelta, CHANNEL_LOST_LINE, EXIT_CHANNEL_LOST};
use crate::registry::TestCase;
use crate::sys;
use crate::wire::{self, Message};
use no_alloc::channel;
use no_alloc::counting::{self, HeapSnapshot};

pub(crate) use hooks::install_panic_hook;
pub(crate) use no_alloc::counting::wraps_another_allocator;
pub(crate) use no_alloc::stop::install_stop_handler;
pub(crate) use no_alloc::stuck::install_stuck_handler;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use no_alloc::stuck::stuck_signal;
#[cfg(unix)]
pub(crate) use test_thread::warm_up_in_the_harness;

/// Whether the process's global allocator counts: one allocation must move the counters. Call in
/// the harness.
pub(crate) fn counting_is_installed() -> bool {
    let before = HeapSnapshot::now();
    drop(std::hint::black_box(Box::new(0u64)));
    HeapSnapshot::now() != before
}

/// The exit status of a process the test forked that returned from the test body.
const EXIT_FORKED_COPY: i32 = 198;

/// What a child does beyond running its test, fixed when it is forked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// With `track_allocations`: tell which descriptors the body left open are held by what it
    /// wrote (a registry, a static, a live thread), as the scan tells memory.
    pub(crate) judge_descriptors: bool,
}

impl ChildOptions {
    /// The same, recording allocations (and their call stacks if `stacks`; the sites of the
    /// still reachable blocks too if `reachable_sites`).
    pub(crate) fn tracking_allocations(
        self,
        stacks: bool,
        reachable_sites: bool,
        judge_descriptors: bool,
    ) -> Self {
        Self {
            track_allocations: true,
            record_stacks: stacks,
            reachable_sites,
            judge_descriptors,
            ..self
        }
    }
}

/// Whether this binary was built with `panic = "abort"`: a panic on the test's thread then ends
/// the process, and the panic hook reports it as the test's end.
pub(crate) const PANIC_ABORTS: bool = cfg!(panic = "abort");

/// No backstop on Windows: the counting allocator's limit holds alone there.
#[cfg(windows)]
fn limit_address_space(_memory_limit: u64) {}

/// Caps the child's address space well above its memory limit: a backstop for memory the
/// counting allocator never sees (`mmap`, a foreign allocator), not the limit itself.
#[cfg(unix)]
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
    #[cfg(not(target_os = "freebsd"))]
    let address_space = nix::sys::resource::Resource::RLIMIT_AS;
    // FreeBSD's name for it; its `rlim_t` is signed.
    #[cfg(target_os = "freebsd")]
    let (address_space, cap) = (
        nix::sys::resource::Resource::RLIMIT_VMEM,
        libc::rlim_t::try_from(cap).unwrap_or(libc::RLIM_INFINITY),
    );
    let _ = nix::sys::resource::setrlimit(address_space, cap, cap);
}

/// Writes this child's coverage profile (`LLVM_PROFILE_FILE`, where `%p` makes it a file of its
/// own) when the binary is instrumented, as found at run time (`cargo llvm-cov` instruments
/// through a wrapper no build script sees): the `_exit` that ends a child skips the profiler
/// runtime's exit hook, so code that ran only in children would count as never run.
fn write_coverage() {
    let Some(profiler) = sys::profiler::ProfilerRuntime::linked() else {
        return;
    };
    // The runtime expanded `%p` once, in the harness, and ignores the same pattern set again:
    // set another (which it opens, so a harmless one), then the pattern, so that it names this
    // child. Without `LLVM_PROFILE_FILE`, rustc's default pattern.
    let pattern = env::of_this_process("LLVM_PROFILE_FILE")
        .unwrap_or_else(|| "default_%m_%p.profraw".to_owned());
    let Ok(pattern) = std::ffi::CString::new(pattern) else {
        return;
    };
    profiler.set_filename(c"/dev/null");
    profiler.set_filename(&pattern);
    profiler.write_file();
}

/// A process the test forked came back out of the test body (it did not end with `_exit`): it
/// says so, and ends before it can run anything of the harness's.
fn forked_copy_returned(panicked: bool) -> ! {
    let _ = write(Message::ForkedCopyReturned { panicked });
    sys::signals::exit_now(EXIT_FORKED_COPY)
}

/// Encodes and writes one frame. Allocates.
fn write(message: Message) -> std::io::Result<()> {
    channel::write_frame(&wire::encode(channel::token(), message))
}

/// Writes one frame on the result channel; a child whose channel is gone ends at once.
pub(super) fn send(message: Message) {
    if !channel::is_intact() || write(message).is_err() {
        let _ = std::io::stderr().write_all(CHANNEL_LOST_LINE.as_bytes());
        flush_stdout();
        write_coverage();
        sys::signals::exit_now(EXIT_CHANNEL_LOST);
    }
}

fn flush_stdout() {
    let _ = std::io::stdout().flush();
}

/// How long the leak check waits for the test's other threads to finish exiting.
const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Waits, at most [`SETTLE_LIMIT`], while another thread of the test is still running: a scoped
/// or joined thread is joined before it has freed its thread-locals, and those frees belong
/// inside the measurement. A thread that sleeps (parked, blocked) is a live background thread,
/// not one exiting: it is not waited for.
fn settle_threads() {
    let started = std::time::Instant::now();
    while sys::threads::running_thread_count().is_some_and(|threads| threads > 1)
        && another_thread_runs()
        && started.elapsed() < SETTLE_LIMIT
    {
        std::thread::yield_now();
    }
}

/// Whether a thread of this process other than the caller is running or waiting for a processor
/// (state `R`), or in uninterruptible sleep (`D`), as `/proc/self/task/*/stat` says.
fn another_thread_runs() -> bool {
    let me = sys::threads::current_thread_id().to_string();
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

/// Runs `case` in this freshly started child, reports on `channel` (a descriptor's number, or on
/// Windows a handle's value), and ends the process: on a thread of its own named after the test,
/// as libtest runs it.
pub(crate) fn run_test(
    case: &'static TestCase,
    channel: u64,
    token: u64,
    counting: bool,
    options: ChildOptions,
) -> ! {
    channel::open(channel, token);
    hooks::set_case(case);
    if let Some(limit) = options.memory_limit {
        limit_address_space(limit);
    }
    test_thread::run(case.full_name(), move || {
        test_thread::claim();
        // Above every frame of the harness's that runs while the body does: from here up, the
        // thread's stack changes only where the test's thread-locals are.
        let here = 0u8;
        let above = std::hint::black_box(&here) as *const u8 as usize;
        run_on_test_thread(case, counting, options, above)
    })
}

/// The test's thread: the body between its measurements, then every report, then the end of the
/// process. `above`: an address in a frame above this one.
fn run_on_test_thread(
    case: &'static TestCase,
    counting: bool,
    options: ChildOptions,
    above: usize,
) -> ! {
    let memory_limit = options.memory_limit;
    // Heap, but made before the body's heap is measured: the mappings that are roots (and a copy
    // of the memory a descriptor may be kept in), and the descriptors open before the body.
    let before_body = options
        .track_allocations
        .then(|| leak_sites::before_body(options.judge_descriptors, above));
    let shift = options
        .judge_descriptors
        .then(resources::Shift::new)
        .flatten();
    let baseline = resources::Baseline::now(shift);
    let others_before = sys::usage::OthersUsage::now();
    let before = HeapSnapshot::now();
    let record = options.track_allocations && no_alloc::table::start(options.record_stacks);
    counting::begin_test(memory_limit, record);
    let result = panic::catch_unwind(AssertUnwindSafe(|| __rust_begin_short_backtrace(case.body)));
    if !channel::is_test_process() {
        forked_copy_returned(result.is_err());
    }
    let peak_bytes = counting::end_test();
    // A thread that is still exiting frees its thread-locals inside the measurement, and is not
    // one the test left running. Most tests start none: that is asked without `/proc`.
    let threads_ran = match (others_before, sys::usage::OthersUsage::now()) {
        (Some(before), Some(now)) => now.ran_since(&before),
        _ => true,
    };
    if threads_ran {
        settle_threads();
    }
    let after = HeapSnapshot::now();
    let foreign_heap = baseline.foreign_heap(before.delta_to(after));
    if let Some(before_body) = &before_body {
        // This frame ran the body: below it, the stack holds only what the body's frames left.
        let here = 0u8;
        let stack_floor = std::hint::black_box(&here) as *const u8 as usize;
        let left_open = options.judge_descriptors.then(|| baseline.left_open());
        counting::stop_tracking();
        send(Message::TrackedLeaks(leak_sites::tracked_leaks(
            before_body,
            stack_floor,
            options.reachable_sites,
            left_open,
        )));
    }
    for message in baseline.left_behind(foreign_heap, threads_ran) {
        send(message);
    }
    if sys::reap::has_children() {
        send(Message::LeftProcesses {
            pids: sys::children::own_children(),
        });
    }
    let heap = counting.then(|| HeapDelta {
        peak_bytes,
        ..hooks::HOOK_HEAP.deduct_from(before.delta_to(after))
    });
    send(final_word(result, heap));
    flush_stdout();
    write_coverage();
    // All said: the harness learns it from the pipes' ends now, while the exit below tears this
    // process down.
    channel::close();
    sys::descriptors::close_raw(1);
    sys::descriptors::close_raw(2);
    // Skips atexit handlers and destructors inherited from the parent, which belong to the
    // harness, not to this test.
    sys::signals::exit_now(0)
}

/// Runs the body. Named as libtest's is: std's short backtraces (`RUST_BACKTRACE=1`) stop at a
/// frame of this name, so a panic's backtrace shows the test's frames and none of the harness's.
#[inline(never)]
fn __rust_begin_short_backtrace<T>(body: fn() -> T) -> T {
    let result = body();
    // Keeps this frame on the stack: no tail call into the body.
    std::hint::black_box(());
    result
}

/// The report on how the body ended: `heap` is its growth, where the allocator counts.
fn final_word(result: std::thread::Result<Result<(), String>>, heap: Option<HeapDelta>) -> Message {
    match result {
        Ok(Ok(())) => Message::Report(ChildReport::Returned { heap }),
        Ok(Err(error)) => {
            // As libtest reports a test's `Err`, on the test's stderr.
            let _ = writeln!(std::io::stderr(), "Error: {error}");
            Message::Report(ChildReport::ReturnedErr { error })
        }
        Err(payload) => {
            let message = hooks::payload_text(&*payload);
            // A payload's destructor may panic again; it is the test's, not ours to run.
            std::mem::forget(payload);
            Message::Unwound {
                hooked: hooks::LATEST_PANIC_SENT.load(Relaxed),
                contains_expected: hooks::contains_expected(message.as_deref()),
                message,
            }
        }
    }
}
