//! Stopping threads on Linux: each other thread, listed from `/proc/self/task`, is sent
//! [`stop_signal`] (a real-time signal, with `tgkill`), whose handler records its stack pointer
//! and waits on a futex until the scan is over.

use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use super::{ARRIVED, NEXT_SLOT, RESUME, STACK_POINTERS};
use crate::sys;

/// How long the scanner waits for threads to stop.
const STOP_WAIT: Duration = Duration::from_millis(200);

/// The signal that stops a thread for the scan: its handler is installed in the harness before
/// any fork, so every child has it.
pub(crate) fn stop_signal() -> libc::c_int {
    libc::SIGRTMIN() + 5
}

/// Installs the stop handler, for every child to inherit. Call once, in the harness.
pub(super) fn install_stop_handler() {
    // SAFETY: the handler only touches atomics, `errno` and the futex system call.
    unsafe { sys::signals::install_handler(stop_signal(), on_stop) };
}

/// Records where this thread's stack is (the interrupted registers are saved above this frame)
/// and waits until the scan is over. Async-signal-safe.
extern "C" fn on_stop(_signal: libc::c_int) {
    // SAFETY: `__errno_location` returns this thread's errno, kept across the futex calls.
    let errno = unsafe { *libc::__errno_location() };
    let here = 0u8;
    let sp = std::hint::black_box(&here) as *const u8 as usize;
    let slot = NEXT_SLOT.fetch_add(1, SeqCst);
    if let Some(stack_pointer) = STACK_POINTERS.get(slot) {
        stack_pointer.store(sp, SeqCst);
    }
    ARRIVED.fetch_add(1, SeqCst);
    while RESUME.load(SeqCst) == 0 {
        // SAFETY: FUTEX_WAIT on a static word, returning at once unless it is still 0.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                RESUME.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                0u32,
                std::ptr::null::<libc::timespec>(),
            )
        };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// Sends every other live thread the stop signal and waits (a while) for each to arrive in
/// [`on_stop`]; `tids` is room for their ids. Returns how many were signalled, and whether one
/// blocks the signal (and so runs on). Allocates nothing.
pub(super) fn stop_others(tids: &mut [libc::pid_t]) -> (usize, bool) {
    let (mut seen, mut signalled, mut unstoppable) = (0, 0, false);
    let (pid, me) = (
        nix::unistd::getpid().as_raw(),
        nix::unistd::gettid().as_raw(),
    );
    // A stopped thread cannot start another, but one not yet stopped can: look again
    // until no new thread shows up.
    for _ in 0..8 {
        let before = seen;
        for_each_live_thread(|tid| {
            if tid == me || tids[..seen].contains(&tid) || seen == tids.len() {
                return;
            }
            tids[seen] = tid;
            seen += 1;
            if blocks_stop_signal(tid) {
                unstoppable = true;
                return;
            }
            // SAFETY: `tgkill` sends the stop signal to a thread of this process.
            if unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, stop_signal()) } == 0 {
                signalled += 1;
            }
        });
        if seen == before {
            break;
        }
        let deadline = Instant::now() + STOP_WAIT;
        while ARRIVED.load(SeqCst) < signalled && Instant::now() < deadline {
            std::thread::yield_now();
        }
    }
    (signalled, unstoppable)
}

/// Wakes every thread waiting in [`on_stop`] (once `RESUME` is set).
pub(super) fn wake_stopped() {
    // SAFETY: FUTEX_WAKE of every waiter on a static word.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            RESUME.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            i32::MAX,
        )
    };
}

/// Calls `f` with each thread of this process that can take a signal (not those already exiting),
/// reading `/proc/self/task` with plain system calls: some threads may be stopped, so nothing is
/// allocated.
fn for_each_live_thread(mut f: impl FnMut(libc::pid_t)) {
    // SAFETY: opens a directory; `getdents64` fills our stack buffer with records whose lengths
    // it gives; the descriptor is closed at the end.
    unsafe {
        let fd = libc::open(
            c"/proc/self/task".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return;
        }
        let mut buffer = [0u8; 4096];
        loop {
            let read = libc::syscall(libc::SYS_getdents64, fd, buffer.as_mut_ptr(), buffer.len());
            if read <= 0 {
                break;
            }
            let mut at = 0;
            while at < read as usize {
                // linux_dirent64: u64 inode, i64 offset, u16 record length, u8 type, name.
                let record = &buffer[at..read as usize];
                let length = u16::from_ne_bytes([record[16], record[17]]) as usize;
                let name = &record[19..length.min(record.len())];
                let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
                if let Some(tid) = std::str::from_utf8(name).ok().and_then(|n| n.parse().ok()) {
                    if thread_can_take_signals(tid) {
                        f(tid);
                    }
                }
                at += length.max(1);
            }
        }
        libc::close(fd);
    }
}

/// Whether thread `tid` is not a zombie or dead: its `stat` read without allocating.
fn thread_can_take_signals(tid: libc::pid_t) -> bool {
    let mut stat = [0u8; 512];
    let Some(stat) = read_task_file(tid, "stat", &mut stat) else {
        return false;
    };
    let Some(close) = stat.iter().rposition(|&b| b == b')') else {
        return false;
    };
    !matches!(stat.get(close + 2), Some(b'Z' | b'X'))
}

/// Whether thread `tid` blocks the stop signal (its `SigBlk` mask in `/proc`), read without
/// allocating: signalling it would only wait for nothing.
fn blocks_stop_signal(tid: libc::pid_t) -> bool {
    let mut status = [0u8; 4096];
    let Some(status) = read_task_file(tid, "status", &mut status) else {
        return false;
    };
    let Ok(status) = std::str::from_utf8(status) else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigBlk:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (stop_signal() - 1)) != 0)
}

/// The start of `/proc/self/task/TID/NAME`, read into `buffer` without allocating.
fn read_task_file<'a>(tid: libc::pid_t, name: &str, buffer: &'a mut [u8]) -> Option<&'a [u8]> {
    let mut path = [0u8; 64];
    let mut cursor = std::io::Cursor::new(&mut path[..]);
    std::io::Write::write_fmt(&mut cursor, format_args!("/proc/self/task/{tid}/{name}\0")).ok()?;
    let path = std::ffi::CStr::from_bytes_until_nul(&path).ok()?;
    let length = sys::raw_io::read_file_prefix(path, buffer)?;
    Some(&buffer[..length])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_lists_its_threads_without_allocating() {
        let mut tids = Vec::new();
        for_each_live_thread(|tid| tids.push(tid));
        // SAFETY: `gettid` has no preconditions.
        assert!(tids.contains(&unsafe { libc::gettid() }));
    }
}
