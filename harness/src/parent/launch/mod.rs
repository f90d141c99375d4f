//! The seam between how a test's child is started and how it is watched.
//!
//! A [`Launcher`] starts the child for one test and hands back a [`Launched`]: the child as a
//! [`ChildProcess`] (its pid and process group: watched for its end, killed with everything it
//! started, reaped into a typed end, [`Reaped`]) and the parent's ends of its pipes. The
//! supervisor watches that, whoever made it: its deadlines, the output it drains, the outcomes
//! it makes and the verdicts read from them never learn how the child was started.
//!
//! Two backends: [`fork`] (the default), where a plain fork of the harness, a fork from a zygote
//! that ran the test's `setup =` once, or a spare such a zygote forked ahead are all its
//! business; and [`exec`], which starts the test binary again for one test. A backend
//! implements [`Launcher`] and must give each child:
//!
//! - the child side of [`child::run_test`](crate::child::run_test): the test run on its named
//!   thread, its result frames written with the given token on the result pipe, and the pipe
//!   closed just before the child exits (the supervisor reads "said all" from that);
//! - a process group of its own, led by the child, so that [`ChildProcess::kill_tree`] reaches
//!   all it starts; and its death with the harness, so that nothing outlives the run;
//! - stdin from `/dev/null`; stdout and stderr to the pipes it returns, or, where it returns
//!   `None`, to the harness's own (`--nocapture`);
//! - the parent's read ends non-blocking and close-on-exec: the supervisor never blocks on a
//!   child's output;
//! - none of the harness's descriptors (`harness_fds`; an `exec` drops them by close-on-exec).
//!
//! An isolated call's closure exists only in the memory of the process that calls `isolate()`:
//! only a fork can run it ([`fork::call::start_call`]), and a backend without fork has no
//! `isolate()`. Its child comes back as a [`Launched`] too, and is
//! watched and reaped to the same typed end.

pub(crate) mod exec;
#[cfg(unix)]
pub(crate) mod fork;
#[cfg(unix)]
pub(crate) mod pipes;
#[cfg(unix)]
mod process;
#[cfg(windows)]
#[path = "windows/process.rs"]
mod process;

use std::io;

use crate::sys::RawFd;

pub(crate) use process::{ChildProcess, Reaped};

use crate::child::ChildOptions;
use crate::outcome::SetupFailure;
use crate::registry::{Setup, TestCase};

/// How the children of a run's tests are started.
pub(crate) trait Launcher {
    /// Starts a child that runs `test`, its outcome to be watched for by the caller.
    /// `harness_fds` are the harness's descriptors no child may keep (other children's pipes,
    /// the wake-up pipe): a fork inherits every descriptor and must close them.
    fn start(&mut self, test: &TestToStart, harness_fds: &[RawFd]) -> Result<Launched, StartError>;

    /// Adds to `fds` the launcher's own descriptors that no test's child may keep (a zygote's
    /// socket).
    #[cfg(unix)]
    fn own_fds(&self, fds: &mut Vec<RawFd>);

    /// Whether `pid` is one of the launcher's own processes (a zygote and the spares it forked),
    /// which is no test's: never swept as an orphan.
    fn owns(&self, pid: i32) -> bool;

    /// Kills and reaps every process of its own: the run is over, and nothing outlives it.
    fn stop(&mut self);
}

/// A test whose child is to be started.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TestToStart {
    pub(crate) case: &'static TestCase,
    /// Its place in the registry's order: a copy of the harness (a zygote, a child started
    /// again) numbers its tests the same.
    pub(crate) registered: usize,
    /// The setup its child is to start from, run once for all its tests.
    pub(crate) setup: Option<Setup>,
    /// The token its result frames carry.
    pub(crate) token: u64,
    pub(crate) options: ChildOptions,
}

/// A started child, as the watcher gets it.
#[derive(Debug)]
pub(crate) struct Launched {
    pub(crate) process: ChildProcess,
    /// The read end of its stdout; `None` where it writes to the harness's own (`--nocapture`).
    pub(crate) stdout: Option<ReadEnd>,
    /// The read end of its stderr; `None` where it writes to the harness's own.
    pub(crate) stderr: Option<ReadEnd>,
    /// The read end of its result channel.
    pub(crate) result: ReadEnd,
}

/// The parent's read end of a child's pipe: a descriptor the supervisor polls on Unix; on
/// Windows, where a pipe cannot be polled, the inbox a thread of the harness fills from it.
#[cfg(unix)]
pub(crate) type ReadEnd = std::os::fd::OwnedFd;
#[cfg(windows)]
pub(crate) type ReadEnd = crate::sys::windows::pipe_reader::ThreadedReader;

/// Why a test's child could not be had.
#[derive(Debug)]
pub(crate) enum StartError {
    Spawn(io::Error),
    /// The setup it was to start from failed (in a zygote: never on Windows).
    #[cfg_attr(windows, allow(dead_code))]
    Setup(SetupFailure),
}

impl From<io::Error> for StartError {
    fn from(error: io::Error) -> Self {
        StartError::Spawn(error)
    }
}
