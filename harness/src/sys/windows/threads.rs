//! The calling thread's id, as `sys::threads` gives it on Unix. Windows forks nothing, so the
//! thread counts a fork needs are not kept, and a test's other threads are not waited for.

/// Counts the calling thread as parked for good: only a fork needs the count.
pub(crate) fn count_parked_thread() {}

/// Unknown here: a test's child does not wait for threads that are exiting.
pub(crate) fn running_thread_count() -> Option<usize> {
    None
}

/// The system's id of the calling thread. Allocates nothing.
pub(crate) fn current_thread_id() -> u64 {
    crate::sys::windows::handles::current_thread_id()
}
