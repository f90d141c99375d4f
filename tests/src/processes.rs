//! Checking that processes a test left behind are gone, and a scratch directory for their pids.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::run::HANG_GUARD;

/// Waits until process `pid` has ended, and panics if it is still running after [`HANG_GUARD`]
/// (killing it first, so a failing run leaves nothing behind).
///
/// The harness SIGKILLs a test's leftover processes before it exits, but a killed process dies
/// when the kernel next schedules it, possibly just after the harness has gone; so this waits on
/// a pidfd, which turns readable the moment the process has ended, rather than looking once.
/// An ended process may linger as a zombie (state `Z`) until whoever inherited it reaps it: that
/// counts as ended.
#[track_caller]
pub fn assert_process_ends(pid: i32, what: &str) {
    if let Err(state) = wait_for_end(pid, HANG_GUARD) {
        // SAFETY: a plain signal to a pid that was alive a moment ago, so that a failing run
        // leaves nothing behind.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        panic!("{what} (pid {pid}) outlived the run: still in state {state:?} {HANG_GUARD:?} after the harness exited");
    }
}

/// Waits up to `limit` for `pid` to end; on timeout returns its state.
fn wait_for_end(pid: i32, limit: Duration) -> Result<(), Option<char>> {
    // SAFETY: `pidfd_open` takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        let error = io::Error::last_os_error();
        // No such process: it has ended and been reaped.
        assert_eq!(
            error.raw_os_error(),
            Some(libc::ESRCH),
            "pidfd_open({pid}): {error}"
        );
        return Ok(());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let mut poll = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ready = loop {
        // SAFETY: one live pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, limit.as_millis() as i32) };
        if ready >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            break ready;
        }
    };
    let state = process_state(pid);
    match (ready, state) {
        (1, None | Some('Z' | 'X')) => Ok(()),
        (1, state) => panic!("pid {pid} ended, yet /proc says its state is {state:?}"),
        (_, state) => Err(state),
    }
}

/// The state letter from `/proc/PID/stat` (`R`, `S`, `Z`, ...), `None` if there is no such
/// process.
fn process_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `PID (COMM) STATE ...`; COMM may itself contain ") ".
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.chars().next()
}

/// A fresh directory under the system's temp dir, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "isolated-test-e2e-{}-{label}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&path)
            .unwrap_or_else(|error| panic!("creating {}: {error}", path.display()));
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The pid a fixture test wrote to `NAME.pid`.
    #[track_caller]
    pub fn read_pid(&self, name: &str) -> i32 {
        let file = self.0.join(format!("{name}.pid"));
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|error| panic!("reading {}: {error}", file.display()));
        text.trim()
            .parse()
            .unwrap_or_else(|error| panic!("{}: {text:?} is not a pid: {error}", file.display()))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn a_killed_unreaped_child_has_ended() {
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        child.kill().unwrap();
        // Not reaped yet: a zombie, which counts as ended.
        assert_eq!(wait_for_end(child.id() as i32, HANG_GUARD), Ok(()));
        child.wait().unwrap();
    }

    #[test]
    fn a_running_process_has_not_ended() {
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        let result = wait_for_end(child.id() as i32, Duration::ZERO);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(matches!(result, Err(Some(_))), "{result:?}");
    }
}
