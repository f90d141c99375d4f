//! A pseudo-terminal a suite runs in as its controlling terminal, so that the driver can type
//! the keys a user types (Ctrl-Z) and the kernel's job control does the rest.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A new pseudo-terminal: the driver types into its master side; a suite started
/// [`in_terminal`](crate::Harness::in_terminal) has its other side as controlling terminal.
#[derive(Debug)]
pub struct Terminal {
    master: OwnedFd,
    terminal: OwnedFd,
}

impl Terminal {
    /// Opens a pseudo-terminal with the system's default settings (Ctrl-Z sends SIGTSTP).
    #[track_caller]
    pub fn open() -> Self {
        let (mut master, mut terminal) = (-1, -1);
        // SAFETY: two out-pointers to live integers; null name, settings and size ask for the
        // defaults.
        let opened = unsafe {
            libc::openpty(
                &mut master,
                &mut terminal,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(opened, 0, "openpty: {}", io::Error::last_os_error());
        // SAFETY: `openpty` just made both descriptors, and nothing else owns them.
        unsafe {
            Self {
                master: OwnedFd::from_raw_fd(master),
                terminal: OwnedFd::from_raw_fd(terminal),
            }
        }
    }

    /// The terminal side, which the suite gets as its stdin and controlling terminal.
    pub(crate) fn terminal_fd(&self) -> RawFd {
        self.terminal.as_raw_fd()
    }

    /// Types Ctrl-Z, as a user does to stop the job in the foreground.
    #[track_caller]
    pub fn type_ctrl_z(&self) {
        let key = [0x1a_u8];
        // SAFETY: writes one byte from a live buffer to the master side.
        let written = unsafe { libc::write(self.master.as_raw_fd(), key.as_ptr().cast(), 1) };
        assert_eq!(written, 1, "typing Ctrl-Z: {}", io::Error::last_os_error());
    }
}
