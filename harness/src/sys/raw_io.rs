//! Plain I/O that allocates nothing: writing all of a buffer, polling descriptors, reading a file
//! whole or its start. They run in the test's child where nothing may allocate (the channel's
//! writes, reading `/proc/self/maps` while threads are stopped) and in signal handlers. Reading a
//! file goes through nix (a `CStr` path costs it no allocation); writing and polling stay raw, on
//! descriptor numbers: a test may close or replace the channel's descriptor, and the supervisor
//! keeps its `pollfd` array from poll to poll, which nix's `PollFd`, borrowing each descriptor,
//! cannot be.

use std::os::fd::RawFd;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::stat::Mode;

/// Writes all of `bytes` to `fd`, retrying after a signal. Allocates nothing.
pub(crate) fn write_all(fd: RawFd, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a live buffer of the given length; `fd` is a plain descriptor number.
        let written = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if written < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        bytes = &bytes[written as usize..];
    }
    Ok(())
}

/// Waits until one of `fds` is ready or `timeout` passes (`None`: no limit); returns how many
/// are ready (0 on a timeout), or `None` if a signal interrupted the wait.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> Option<usize> {
    let timeout_ms = timeout.map_or(-1, |timeout| {
        // Round up: waking a millisecond early would only poll again.
        timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
    });
    // SAFETY: `fds` is a live, correctly sized array of pollfd structs.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    usize::try_from(ready).ok()
}

/// A `pollfd` waiting for `fd` to be readable.
pub(crate) fn readable(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// Reads the whole of a file into `buffer` with plain system calls; `None` if it cannot be read
/// or does not fit. Allocates nothing.
pub(crate) fn read_whole_file(path: &std::ffi::CStr, buffer: &mut [u8]) -> Option<usize> {
    read_file(path, buffer, true)
}

/// Reads up to `buffer.len()` bytes of a file; `None` if it cannot be read. Allocates nothing.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn read_file_prefix(path: &std::ffi::CStr, buffer: &mut [u8]) -> Option<usize> {
    read_file(path, buffer, false)
}

fn read_file(path: &std::ffi::CStr, buffer: &mut [u8], whole: bool) -> Option<usize> {
    use nix::fcntl::{open, OFlag};
    let fd = open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).ok()?;
    let mut length = 0;
    let complete = loop {
        if length == buffer.len() {
            break !whole;
        }
        match nix::unistd::read(&fd, &mut buffer[length..]) {
            Ok(0) => break true,
            Ok(read) if !whole => {
                length += read;
                break true;
            }
            Ok(read) => length += read,
            Err(Errno::EINTR) => {}
            Err(_) => break false,
        }
    };
    // Closed as `close` does, without the check std's debug builds make on a drop.
    super::descriptors::close(fd);
    complete.then_some(length)
}

/// Opens `path` to read, close-on-exec, as a raw descriptor the caller closes; `None` if it
/// cannot. Allocates nothing.
pub(crate) fn open_read_only(path: &std::ffi::CStr) -> Option<RawFd> {
    use std::os::fd::IntoRawFd;
    let flags = nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC;
    nix::fcntl::open(path, flags, Mode::empty())
        .ok()
        .map(IntoRawFd::into_raw_fd)
}

/// Reads into `into` from `fd` at `offset`, as much as one `pread` gives, retrying after a
/// signal; returns how many bytes it read (0 on an error). Allocates nothing.
pub(crate) fn read_file_at(fd: RawFd, offset: u64, into: &mut [u8]) -> usize {
    loop {
        // SAFETY: reads at most `into.len()` bytes into `into`, which we own; `fd` is a plain
        // descriptor number, and a bad one makes the call fail.
        let read = unsafe {
            libc::pread(
                fd,
                into.as_mut_ptr().cast(),
                into.len(),
                offset as libc::off_t,
            )
        };
        if read >= 0 {
            return read as usize;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return 0;
        }
    }
}

/// Copies `into.len()` bytes of this process's memory from address `start` into `into` through
/// the kernel (`process_vm_readv` on this process), which stops at a page that cannot be read
/// rather than faulting; returns how many bytes it copied. Allocates nothing.
///
/// Linux only: macOS and FreeBSD have no such call for a process's own memory short of a
/// debugger's rights (`mach_vm_read` needs the task port, `ptrace` a tracer), so there it copies
/// nothing, and its callers (the reachability scan) do not run there.
pub(crate) fn read_own_memory(start: usize, into: &mut [u8]) -> usize {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let local = libc::iovec {
            iov_base: into.as_mut_ptr().cast(),
            iov_len: into.len(),
        };
        let remote = libc::iovec {
            iov_base: start as *mut libc::c_void,
            iov_len: into.len(),
        };
        // SAFETY: copies at most `into.len()` bytes into `into`, which we own; the kernel checks
        // the source and fails (or stops short) where it cannot be read.
        let copied = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
        usize::try_from(copied).unwrap_or(0)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (start, into);
        0
    }
}

// The files they read are in Linux's `/proc`.
#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;

    #[test]
    fn files_are_read_whole_or_by_their_start() {
        let mut buffer = [0u8; 4096];
        let whole = read_whole_file(c"/proc/self/stat", &mut buffer).unwrap();
        assert!(buffer[..whole].ends_with(b"\n"));
        let mut small = [0u8; 4];
        assert_eq!(read_file_prefix(c"/proc/self/stat", &mut small), Some(4));
        assert_eq!(read_whole_file(c"/proc/self/stat", &mut small), None);
    }
}
