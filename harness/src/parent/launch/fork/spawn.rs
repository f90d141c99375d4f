//! Forking one child per test: the pipes, the fork, and the child's fresh process state, up to
//! the hand-over to [`child::run_test`].
//!
//! Only ever called on the harness's main thread while it is the process's only thread: a fork
//! from a multi-threaded process can inherit a lock another thread held and hang the child.

use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::sys::resource::{setrlimit, Resource};
use nix::sys::signal::{signal, SigHandler, Signal};
use nix::unistd::{self, ForkResult, Pid};

use crate::child;
use crate::outcome::EXIT_CHANNEL_LOST;
use crate::parent::launch::pipes::ChildPipes;
use crate::parent::launch::{Launched, TestToStart};
use crate::parent::signals;
use crate::registry::Setup;
use crate::sys;

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

/// Forks a child that runs `test`. `harness_fds` are descriptors the child must not keep (other
/// children's pipes, the wake-up pipe).
pub(crate) fn spawn(
    context: &ForkContext,
    test: &TestToStart,
    harness_fds: &[RawFd],
) -> io::Result<Launched> {
    let pipes = ChildPipes::new(context.capture, test.case)?;
    // A child inherits the stdout buffer: flushed here, it cannot print the harness's text again.
    let _ = io::stdout().flush();

    // SAFETY: this process has one thread (the harness starts none, and runs every test from
    // one; `sys::fork::fork` asserts it in debug builds).
    match unsafe { sys::fork::fork(context.task_dir.as_ref()) }? {
        ForkResult::Child => {
            let (result, stdout, stderr) = pipes.child_ends();
            become_test_process(context, stdout, stderr, harness_fds);
            sys::descriptors::set_blocking(result.as_raw_fd());
            if let Some(setup) = test.setup {
                run_setup_here(setup);
            }
            let counting = context.counting;
            child::run_test(
                test.case,
                result.as_raw_fd() as u64,
                test.token,
                counting,
                test.options,
            )
        }
        ForkResult::Parent { child } => {
            // Also set by the child itself; whichever runs first wins the race against a kill.
            let _ = unistd::setpgid(child, child);
            Ok(pipes.parent_ends(child))
        }
    }
}

/// Runs a test's setup in its own child, before the body, where no zygote ran it once for all
/// its tests (not on Linux: see [`super::ZYGOTES`]): the statics it sets up are ready as in a
/// zygote's fork, and what it allocates is not the body's. A setup that panics ends the child
/// with Rust's panic status and no report (its panic message on the test's stderr): the test
/// fails, as its tests fail where a zygote's setup panicked.
fn run_setup_here(setup: Setup) {
    if std::panic::catch_unwind(setup.run).is_err() {
        sys::signals::exit_now(101);
    }
}

/// Turns the fresh child into a process of its own: group, stdio, limits, signals.
pub(super) fn become_test_process(
    context: &ForkContext,
    stdout: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    harness_fds: &[RawFd],
) {
    let _ = unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
    prepare_test_process(context, harness_fds);
    take_test_output(stdout, stderr);
}

/// What every test's child sets up first, however it was started: its death with the harness
/// `parent` even if that is SIGKILLed (where the system can: not on macOS), and no run at all if
/// the harness died already; the orphans of the test's own processes, which come to it so that
/// it can tell whether the test left any behind; no core dumps.
pub(in crate::parent::launch) fn join_the_run(parent: Pid) {
    sys::signals::die_with_parent();
    if unistd::getppid() != parent {
        sys::signals::exit_now(EXIT_CHANNEL_LOST);
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let _ = setrlimit(Resource::RLIMIT_CORE, 0, 0);
}

/// What a child sets up before it knows its test: a zygote's spare does it while it waits.
/// Its death with the harness, orphans, limits, signals, stdin; the harness's descriptors closed.
pub(super) fn prepare_test_process(context: &ForkContext, harness_fds: &[RawFd]) {
    join_the_run(context.parent);
    // SAFETY: restoring the default disposition installs no handler of ours.
    let _ = unsafe { signal(Signal::SIGCHLD, SigHandler::SigDfl) };
    signals::restore_termination_dispositions();
    // SAFETY: as above; a test sees SIGPIPE ignored, as under libtest.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) };
    signals::unblock_termination();
    let _ = unistd::dup2_stdin(&context.dev_null);
    // The parent's bookkeeping: this child never uses them.
    let own = [&context.dev_null].into_iter().chain(&context.task_dir);
    for fd in harness_fds
        .iter()
        .copied()
        .chain(own.map(AsRawFd::as_raw_fd))
    {
        sys::descriptors::close_raw(fd);
    }
}

/// The test's stdout and stderr: the pipes the harness reads, or under `--nocapture` the
/// harness's own.
pub(super) fn take_test_output(stdout: Option<OwnedFd>, stderr: Option<OwnedFd>) {
    for (fd, target) in [(stdout, 1), (stderr, 2)] {
        match fd {
            Some(fd) => {
                sys::descriptors::move_to(fd, target);
                // `pipe` sets O_NONBLOCK on both ends, and no other status flag.
                sys::descriptors::set_blocking(target);
            }
            None => take_own_description(target),
        }
    }
}

/// Under `--nocapture` the child writes to the harness's own stdout and stderr: where they are a
/// pipe or a terminal, it gets an open file description of its own on the same file, so that
/// status flags it sets (`O_NONBLOCK`) are not the harness's. A regular file keeps the shared one:
/// its offset must be shared, and `O_NONBLOCK` means nothing there.
pub(in crate::parent::launch) fn take_own_description(fd: RawFd) {
    let path = match fd {
        1 => c"/proc/self/fd/1",
        2 => c"/proc/self/fd/2",
        _ => return,
    };
    if sys::descriptors::is_pipe_or_terminal(fd) {
        sys::descriptors::reopen(fd, path);
    }
}
