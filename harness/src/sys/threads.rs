//! Counting this process's threads, and those parked for good: a fork is safe only from a
//! process whose every other thread is parked. The count is taken before every fork and in the
//! test's child: one `stat` (nix's, given a `CStr`, allocates nothing) and no `/proc` read.

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

/// Threads of this process parked for good: a child's main thread, once it has started the
/// test's thread. A parked thread holds no lock, so a fork from the thread that runs the test is
/// as safe as from a single-threaded process.
pub(super) static PARKED_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Counts the calling thread as parked for good: call once it holds no lock and will take none.
pub(crate) fn count_parked_thread() {
    PARKED_THREADS.fetch_add(1, SeqCst);
}

/// How many threads of this process may be running: [`thread_count`] less the parked ones.
pub(crate) fn running_thread_count() -> Option<usize> {
    thread_count().map(|threads| threads.saturating_sub(PARKED_THREADS.load(SeqCst)))
}

/// How many threads this process has, where the platform says: one `stat`, since
/// `/proc/self/task` has a link per thread plus `.` and `..`. Allocates nothing.
pub(crate) fn thread_count() -> Option<usize> {
    let stat = nix::sys::stat::stat(c"/proc/self/task").ok()?;
    Some(stat.st_nlink.saturating_sub(2) as usize)
}

/// [`thread_count`] through `/proc/self/task` opened once (no path walk before every fork).
pub(crate) fn thread_count_in(task_dir: &OwnedFd) -> Option<usize> {
    let stat = nix::sys::stat::fstat(task_dir).ok()?;
    Some(stat.st_nlink.saturating_sub(2) as usize)
}

/// The system's id of the calling thread (Linux's `gettid`, macOS's `pthread_threadid_np`,
/// FreeBSD's `pthread_getthreadid_np`): the name of its entry in `/proc/self/task` on Linux.
/// Allocates nothing.
pub(crate) fn current_thread_id() -> u64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return nix::unistd::gettid().as_raw() as u64;
    #[cfg(target_vendor = "apple")]
    {
        let mut id = 0u64;
        // SAFETY: a null thread asks for the calling thread's id, written into our local.
        unsafe { libc::pthread_threadid_np(0, &mut id) };
        id
    }
    #[cfg(target_os = "freebsd")]
    // SAFETY: no preconditions.
    return unsafe { libc::pthread_getthreadid_np() } as u64;
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_vendor = "apple",
        target_os = "freebsd"
    )))]
    // SAFETY: no preconditions.
    return unsafe { libc::pthread_self() } as usize as u64;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_counted_both_ways() {
        // libtest runs this on a thread of its own: the main thread waits, so at least two.
        let task_dir: OwnedFd = std::fs::File::open("/proc/self/task").unwrap().into();
        assert!(thread_count_in(&task_dir).unwrap() >= 2);
        assert!(thread_count().unwrap() >= 2);
    }
}
