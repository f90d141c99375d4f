//! Forking one child per test: the pipes, the fork, and the child's fresh process state.
//!
//! Only ever called on the harness's main thread while it is the process's only thread: a fork
//! from a multi-threaded process can inherit a lock another thread held and hang the child.

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd, RawFd};

use nix::fcntl::OFlag;
use nix::sys::resource::{setrlimit, Resource};
use nix::sys::signal::{signal, SigHandler, Signal};
use nix::unistd::{self, ForkResult, Pid};

use crate::child::{self, ChildOptions};
use crate::registry::TestCase;

/// The parent's ends of a new child's pipes.
pub(crate) struct SpawnedChild {
    pub(crate) pid: Pid,
    /// `None` under `--nocapture`: the child writes to the harness's own stdout and stderr.
    pub(crate) stdout: Option<OwnedFd>,
    pub(crate) stderr: Option<OwnedFd>,
    pub(crate) result: OwnedFd,
}

/// What every child needs from the harness, fixed for the run.
pub(crate) struct ForkContext {
    pub(crate) capture: bool,
    pub(crate) counting: bool,
    /// Opened once; every child's stdin.
    pub(crate) dev_null: OwnedFd,
    /// The harness's `/proc/self/task`, where there is one: counts its threads before a fork.
    pub(crate) task_dir: Option<OwnedFd>,
    pub(crate) parent: Pid,
}

/// Closes `fd` without the check std's debug builds make on every drop (an `fcntl` each: six a
/// test in the parent alone).
pub(crate) fn close(fd: OwnedFd) {
    // SAFETY: `into_raw_fd` hands our ownership of the descriptor to `close`.
    unsafe { libc::close(fd.into_raw_fd()) };
}

/// A pipe whose read end the parent polls without blocking and whose write end a child inherits.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?)
}

/// Forks a child that runs `case`. `harness_fds` are descriptors the child must not keep (other
/// children's pipes, the wake-up pipe).
pub(crate) fn spawn(
    context: &ForkContext,
    case: &'static TestCase,
    token: u64,
    options: ChildOptions,
    harness_fds: &[RawFd],
) -> io::Result<SpawnedChild> {
    debug_assert_single_threaded(context.task_dir.as_ref());
    let (result_read, result_write) = pipe()?;
    let stdout = context.capture.then(pipe).transpose()?;
    // A `stderr = "regex"` test's stderr is captured even under `--nocapture`, and shown after.
    let stderr = (context.capture || case.stderr.is_some())
        .then(pipe)
        .transpose()?;
    // A child inherits the stdout buffer: flushed here, it cannot print the harness's text again.
    let _ = io::stdout().flush();

    // SAFETY: this process has one thread (asserted above in debug builds; the harness starts
    // none and libtest-mimic runs with one), so the child inherits no lock held by another thread
    // and may allocate and print freely.
    match unsafe { unistd::fork() }? {
        ForkResult::Child => {
            close(result_read);
            let stdout_write = stdout.map(|(_read, write)| write);
            let stderr_write = stderr.map(|(_read, write)| write);
            become_test_process(context, stdout_write, stderr_write, harness_fds);
            clear_nonblocking(result_write.as_raw_fd());
            child::run_test(case, result_write.as_fd(), token, context.counting, options)
        }
        ForkResult::Parent { child } => {
            // Also set by the child itself; whichever runs first wins the race against a kill.
            let _ = unistd::setpgid(child, child);
            close(result_write);
            let read_end = |pipe: Option<(OwnedFd, OwnedFd)>| {
                pipe.map(|(read, write)| {
                    close(write);
                    read
                })
            };
            Ok(SpawnedChild {
                pid: child,
                stdout: read_end(stdout),
                stderr: read_end(stderr),
                result: result_read,
            })
        }
    }
}

/// Turns the fresh child into a process of its own: group, stdio, limits, signals.
fn become_test_process(
    context: &ForkContext,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    harness_fds: &[RawFd],
) {
    let _ = unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // Die with the harness even if it is SIGKILLed; if it already died, do not run at all.
        let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
        if unistd::getppid() != context.parent {
            // SAFETY: `_exit` ends this process at once.
            unsafe { libc::_exit(child::EXIT_CHANNEL_LOST) };
        }
    }
    // Orphans of the test's own processes come to the child while it lives, so it can tell
    // whether the test left any process behind.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let _ = setrlimit(Resource::RLIMIT_CORE, 0, 0);
    // SAFETY: restoring the default disposition installs no handler of ours.
    let _ = unsafe { signal(Signal::SIGCHLD, SigHandler::SigDfl) };
    crate::signals::restore_termination_dispositions();
    // SAFETY: as above; a test sees SIGPIPE ignored, as under libtest.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) };
    crate::signals::unblock_termination();
    let _ = unistd::dup2_stdin(&context.dev_null);
    for (fd, target) in [(stdout, 1), (stderr, 2)] {
        match fd {
            Some(fd) => {
                // SAFETY: both are descriptor numbers; dup2 onto 1 and 2 replaces the child's
                // stdio, which only this child uses.
                unsafe { libc::dup2(fd.as_raw_fd(), target) };
                clear_nonblocking(target);
                close(fd);
            }
            None => take_own_description(target),
        }
    }
    for &fd in harness_fds {
        // SAFETY: these descriptors belong to the parent's bookkeeping; this child never uses them.
        unsafe { libc::close(fd) };
    }
    for fd in std::iter::once(&context.dev_null).chain(&context.task_dir) {
        // SAFETY: as above: the harness's own descriptors, unused in the child.
        unsafe { libc::close(fd.as_raw_fd()) };
    }
}

/// Under `--nocapture` the child writes to the harness's own stdout and stderr: where they are a
/// pipe or a terminal, it gets an open file description of its own on the same file, so that
/// status flags it sets (`O_NONBLOCK`) are not the harness's. A regular file keeps the shared one:
/// its offset must be shared, and `O_NONBLOCK` means nothing there.
fn take_own_description(fd: RawFd) {
    let path = match fd {
        1 => c"/proc/self/fd/1",
        2 => c"/proc/self/fd/2",
        _ => return,
    };
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fstat` fills the buffer on success; `fcntl(F_GETFL)` only reads the flags.
    let (kind, flags) = unsafe {
        if libc::fstat(fd, stat.as_mut_ptr()) != 0 {
            return;
        }
        (
            stat.assume_init().st_mode & libc::S_IFMT,
            libc::fcntl(fd, libc::F_GETFL),
        )
    };
    if !(kind == libc::S_IFIFO || kind == libc::S_IFCHR) || flags < 0 {
        return;
    }
    // Opened non-blocking, or a pipe nobody reads would block the open itself.
    let keep = flags & (libc::O_ACCMODE | libc::O_APPEND);
    // SAFETY: a NUL-terminated path; the new descriptor replaces `fd` and is closed.
    unsafe {
        let own = libc::open(
            path.as_ptr(),
            keep | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if own >= 0 {
            libc::dup2(own, fd);
            libc::close(own);
            libc::fcntl(fd, libc::F_SETFL, keep);
        }
    }
}

/// Under `--nocapture`, after a child ended: its stdout and stderr may share the harness's open
/// file description still (a socket cannot be reopened), so a test that set `O_NONBLOCK` there
/// set it for the harness too. Clears it, so that the harness's own output never fails with
/// "would block".
pub(crate) fn keep_stdio_blocking() {
    for fd in [1, 2] {
        // SAFETY: F_GETFL and F_SETFL only read and change the status flags of stdout and stderr.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 && flags & libc::O_NONBLOCK != 0 {
                libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
    }
}

/// Makes a pipe's write end blocking again: [`pipe`] sets O_NONBLOCK on both ends, and no other
/// status flag, so clearing them all clears just that.
fn clear_nonblocking(fd: RawFd) {
    // SAFETY: F_SETFL on a descriptor we own changes only its status flags.
    unsafe { libc::fcntl(fd, libc::F_SETFL, 0) };
}

/// The harness's thread count, by `fstat` on its `/proc/self/task` opened once: no path walk
/// before every fork.
fn parent_thread_count(task_dir: Option<&OwnedFd>) -> Option<usize> {
    let fd = task_dir?.as_raw_fd();
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fstat` fills the buffer on success.
    let ok = unsafe { libc::fstat(fd, stat.as_mut_ptr()) } == 0;
    // SAFETY: initialised by the successful `fstat` above.
    ok.then(|| unsafe { stat.assume_init() }.st_nlink.saturating_sub(2) as usize)
}

fn debug_assert_single_threaded(task_dir: Option<&OwnedFd>) {
    if cfg!(debug_assertions) {
        if let Some(threads) = parent_thread_count(task_dir) {
            assert_eq!(
                threads, 1,
                "isolated-test: refusing to fork from a process with {threads} threads"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_counted_both_ways() {
        // libtest runs this on a thread of its own: the main thread waits, so at least two.
        let task_dir: Option<OwnedFd> = std::fs::File::open("/proc/self/task").ok().map(Into::into);
        assert!(parent_thread_count(task_dir.as_ref()).unwrap() >= 2);
        assert!(crate::child::thread_count().unwrap() >= 2);
    }
}
