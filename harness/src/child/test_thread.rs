//! The thread a test runs on. libtest runs every test on a thread named after it, and tests see
//! it: `std::thread::current().name()`, every panic's `thread 'NAME' panicked at` header, the
//! stack overflow message. So does a child: its main thread (the one the fork kept) starts the
//! test's thread, named as libtest names it, with std's default stack size (`RUST_MIN_STACK`),
//! then parks for good. The test's thread measures, runs the body, reports and ends the process.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use super::no_alloc::{channel, counter};
use crate::sys;

/// How Windows ends a process whose thread overflowed its stack.
#[cfg(windows)]
const STACK_OVERFLOW: u32 = 0xC000_00FD;

/// Set by the main thread once it is parked: the test's thread takes its measurements only then,
/// so that nothing the main thread does shows in them.
static MAIN_PARKED: AtomicBool = AtomicBool::new(false);

/// Runs `test` on a thread named `name` and never returns: `test` ends the process. Where no
/// thread can be started, as libtest does, it runs on this one.
pub(super) fn run(name: String, test: impl FnOnce() + Send + Copy + 'static) -> ! {
    // Until the test's thread claims it, no thread adds to the counters without a lock: the two
    // threads allocate at the same time while one starts the other.
    counter::release_unlocked_share();
    match std::thread::Builder::new().name(name).spawn(test) {
        #[cfg(unix)]
        Ok(handle) => {
            // Detached: the test's thread ends the process, and nothing here waits on it.
            drop(handle);
            sys::threads::count_parked_thread();
            MAIN_PARKED.store(true, SeqCst);
            park_for_good()
        }
        #[cfg(windows)]
        Ok(handle) => {
            sys::threads::count_parked_thread();
            MAIN_PARKED.store(true, SeqCst);
            // The test's thread ends the process; yet under Wine a stack overflow ends that
            // thread alone (std says so on stderr, no exception filter runs), and a parked main
            // thread would wait for good. It ends the process as Windows would have. Not
            // `join`, which panics at a thread that ended without its result.
            use std::os::windows::io::AsRawHandle;
            use windows_sys::Win32::System::Threading::{
                GetExitCodeThread, WaitForSingleObject, INFINITE,
            };
            let mut code = 0u32;
            // SAFETY: the thread's handle is open while `handle` lives; the wait and the exit
            // code's read only read it, into our local.
            unsafe {
                WaitForSingleObject(handle.as_raw_handle(), INFINITE);
                GetExitCodeThread(handle.as_raw_handle(), &mut code);
            }
            // The thread's own exit code where it is an exception's, else the overflow's.
            let code = if code >= 0xC000_0000 {
                code
            } else {
                STACK_OVERFLOW
            };
            sys::signals::exit_now(code as i32)
        }
        Err(_) => {
            MAIN_PARKED.store(true, SeqCst);
            test();
            unreachable!("a test's thread ends its process")
        }
    }
}

/// Makes the calling thread the test's: its panics are the test's, its allocations are counted
/// without a lock. Returns once the main thread is parked. Allocates nothing.
pub(super) fn claim() {
    while !MAIN_PARKED.load(SeqCst) {
        std::thread::yield_now();
    }
    channel::claim_test_thread();
    counter::claim_unlocked_share();
}

/// Blocks the calling thread until the process ends, with every signal blocked but the scan's
/// stop signal: a signal sent to the process reaches the test's threads, as in a process of one
/// thread, and the scan can still stop this one to read its stack. Allocates nothing.
#[cfg(unix)]
fn park_for_good() -> ! {
    // Raw: the stop signal is a real-time one, which nix's `Signal` (and so its `SigSet`) cannot
    // name.
    // SAFETY: a signal set filled on our stack, applied to this thread only; `pause` has no
    // preconditions.
    unsafe {
        let mut blocked = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigfillset(blocked.as_mut_ptr());
        #[cfg(any(target_os = "linux", target_os = "android"))]
        libc::sigdelset(blocked.as_mut_ptr(), super::no_alloc::stop::stop_signal());
        libc::pthread_sigmask(libc::SIG_SETMASK, blocked.as_ptr(), std::ptr::null_mut());
        loop {
            libc::pause();
        }
    }
}

/// Starts and joins one thread named as a test's is, in the harness before its first fork, and
/// returns once the process has one thread again: what starting a test's thread sets up once (the
/// C library's symbols bound, its cache of thread stacks, std's `RUST_MIN_STACK` read) every child
/// then inherits set up, instead of doing it again: a trivial test's child took 9% less time.
#[cfg(unix)]
pub(crate) fn warm_up_in_the_harness() {
    let started = std::thread::Builder::new()
        .name("isolated-test warm-up".to_owned())
        .spawn(|| ());
    if let Ok(thread) = started {
        let _ = thread.join();
    }
    // Joined, the thread may still be leaving the kernel's list of this process's threads: no
    // fork until it has (every fork asserts a process of one thread).
    let gone = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while sys::threads::thread_count().is_some_and(|threads| threads > 1)
        && std::time::Instant::now() < gone
    {
        std::thread::yield_now();
    }
}
