//! A named pipe through which a fixture test tells the driver it has reached a point (and what
//! it started), so that the driver acts on the harness at that moment without sleeping.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::run::{Running, HANG_GUARD};

/// A FIFO the driver reads and a fixture test writes one line into, by its path.
#[derive(Debug)]
pub struct Fifo {
    path: PathBuf,
    /// Opened without blocking before any writer exists, so the writer's `open` never waits and
    /// the driver's read end never sees an end of file before a writer has come.
    read: OwnedFd,
}

impl Fifo {
    /// Creates the FIFO at `path` (in a fresh directory) and opens its read end.
    #[track_caller]
    pub fn create(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("no NUL in path");
        // SAFETY: a NUL-terminated path and a mode.
        if unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) } != 0 {
            panic!("mkfifo {}: {}", path.display(), io::Error::last_os_error());
        }
        // SAFETY: a NUL-terminated path and flags; returns a new descriptor or -1.
        let fd = unsafe {
            libc::open(
                c_path.as_ptr(),
                libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            panic!("opening {}: {}", path.display(), io::Error::last_os_error());
        }
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let read = unsafe { OwnedFd::from_raw_fd(fd) };
        Self { path, read }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The first line a fixture test writes, without its newline; `None` if the harness ends
    /// first, or the writer goes away without a whole line. Panics after [`HANG_GUARD`].
    #[track_caller]
    pub fn read_line_while(&self, running: &Running) -> Option<String> {
        let deadline = Instant::now() + HANG_GUARD;
        let mut line = Vec::new();
        loop {
            let mut polls = [
                libc::pollfd {
                    fd: self.read.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: running.pidfd().as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            let left = deadline.saturating_duration_since(Instant::now());
            // SAFETY: a live array of two pollfd structs.
            let ready = unsafe { libc::poll(polls.as_mut_ptr(), 2, left.as_millis() as i32) };
            if ready < 0 {
                let error = io::Error::last_os_error();
                assert_eq!(error.kind(), io::ErrorKind::Interrupted, "poll: {error}");
                continue;
            }
            assert!(
                ready > 0,
                "`{}` sent nothing through {} within {HANG_GUARD:?}",
                running.command_line(),
                self.path.display()
            );
            if polls[0].revents != 0 {
                let mut buffer = [0u8; 256];
                // SAFETY: reads into a live buffer of the given length.
                let n = unsafe {
                    libc::read(
                        self.read.as_raw_fd(),
                        buffer.as_mut_ptr().cast(),
                        buffer.len(),
                    )
                };
                match n {
                    n if n > 0 => line.extend_from_slice(&buffer[..n as usize]),
                    // End of file: the writer closed without a whole line.
                    0 => return None,
                    _ => {
                        let error = io::Error::last_os_error();
                        assert!(
                            matches!(
                                error.kind(),
                                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                            ),
                            "reading {}: {error}",
                            self.path.display()
                        );
                    }
                }
                if let Some(end) = line.iter().position(|&byte| byte == b'\n') {
                    return Some(String::from_utf8_lossy(&line[..end]).into_owned());
                }
            } else if polls[1].revents != 0 {
                return None;
            }
        }
    }
}
