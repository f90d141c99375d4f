//! Setups run once: for each distinct `setup = warm_up`, a zygote process forked from the
//! harness runs the setup, then forks every test that needs it, so each test starts with the
//! statics ready and its changes vanish with it.
//!
//! A zygote forks with `CLONE_PARENT`: the test's child is the harness's own, watched, killed
//! and reaped like any other. It forks children ahead, each handed to the harness with a socket
//! over which the harness sends it a test and the test's pipes ([`spares`]; the zygote's side is
//! [`serve`]). A zygote dies with the harness (`PR_SET_PDEATHSIG`, and the socket's end) and is
//! killed, with its spares, when the run ends.

use std::io::{self, Write};
use std::os::fd::RawFd;
use std::time::Duration;

use nix::unistd::{self, ForkResult};
use serde::{Deserialize, Serialize};

use super::spawn::ForkContext;
use crate::child::ChildOptions;
use crate::outcome::{SetupFailed, SetupFailure};
use crate::parent::launch::{ChildProcess, Launched, StartError, TestToStart};
use crate::registry::Setup;
use crate::sys::{self, descriptors::close};
use crate::wire::decode_value;

/// What a zygote says once its setup has run.
#[derive(Debug, Serialize, Deserialize)]
enum SetupReport {
    Ready,
    Panicked {
        location: Option<String>,
        message: Option<String>,
    },
    LeftThreads(usize),
}

mod serve;
mod spares;

use spares::{receive_within, Asked, Running};

/// The harness hands a spare its test; the test's pipes' write ends travel with the request.
#[derive(Debug, Serialize, Deserialize)]
struct Fork {
    /// The test's place in the registry's order: the zygote is a copy of the harness, whose
    /// registry is in the same order.
    registered: usize,
    /// The test's `TestCase`'s address, the same in the copy: checked against the place.
    address: usize,
    token: u64,
    options: ChildOptions,
    stdout: bool,
    stderr: bool,
}

impl Fork {
    /// How many descriptors travel with it: the result pipe's, then stdout's and stderr's.
    fn descriptors(&self) -> usize {
        1 + usize::from(self.stdout) + usize::from(self.stderr)
    }
}

struct Zygote {
    setup: Setup,
    state: State,
}

enum State {
    Ready(Running),
    Failed(SetupFailure),
}

/// The run's zygotes, one per setup, each started when the first test that needs it starts.
pub(crate) struct Zygotes {
    zygotes: Vec<Zygote>,
    /// `ISOLATED_TEST_SETUP_TIMEOUT`.
    timeout: Option<Duration>,
    /// Spares each zygote keeps ready: the tests that run at once.
    ahead: usize,
    /// Each zygote moves its relocated data into huge pages (in mappings with at least this
    /// many relocated bytes) after its setup: see [`sys::huge_pages::rehome_relocated_data`].
    rehome_at_least: Option<usize>,
}

/// The zygote of a large suite, which forks every test that has no setup of its own: made
/// before the harness builds its registry, so what it forks from does not grow with the suite.
pub(crate) const BASE: Setup = Setup {
    name: "(none)",
    key: "isolated-test::base",
    run: || (),
};

impl Zygotes {
    pub(crate) fn new(
        timeout: Option<Duration>,
        ahead: usize,
        rehome_at_least: Option<usize>,
    ) -> Self {
        Self {
            zygotes: Vec::new(),
            timeout,
            ahead,
            rehome_at_least,
        }
    }

    /// Starts the [`BASE`] zygote; where it cannot start, tests are forked from the harness.
    pub(crate) fn start_base(&mut self, context: &ForkContext) {
        if !super::ZYGOTES {
            return;
        }
        let state = start(BASE, context, &[], self);
        if matches!(state, State::Ready(_)) {
            self.zygotes.push(Zygote { setup: BASE, state });
        }
    }

    /// Whether the [`BASE`] zygote forks the tests without a setup.
    pub(super) fn has_base(&self) -> bool {
        self.zygotes
            .iter()
            .any(|zygote| zygote.setup == BASE && matches!(zygote.state, State::Ready(_)))
    }

    /// The zygotes' pids: children of the harness that are no test's.
    pub(super) fn pids(&self) -> impl Iterator<Item = i32> + '_ {
        self.zygotes
            .iter()
            .filter_map(|zygote| match &zygote.state {
                State::Ready(running) => Some(running.pid.as_raw()),
                State::Failed(_) => None,
            })
    }

    /// A child for `test`, forked by `setup`'s zygote (started now if it is the first).
    pub(super) fn spawn(
        &mut self,
        setup: Setup,
        context: &ForkContext,
        test: &TestToStart,
        harness_fds: &[RawFd],
    ) -> Result<Launched, StartError> {
        let at = match self.zygotes.iter().position(|zygote| zygote.setup == setup) {
            Some(at) => at,
            None => {
                let state = start(setup, context, harness_fds, self);
                self.zygotes.push(Zygote { setup, state });
                self.zygotes.len() - 1
            }
        };
        let zygote = &mut self.zygotes[at];
        let running = match &mut zygote.state {
            State::Ready(running) => running,
            State::Failed(failure) => return Err(StartError::Setup(failure.clone())),
        };
        match running.ask(context, test) {
            Ok(spawned) => Ok(spawned),
            Err(Asked::Spawn(error)) => Err(StartError::Spawn(error)),
            Err(Asked::ZygoteLost) => {
                let pid = running.pid;
                let process = ChildProcess::from_pid(pid);
                process.kill_tree();
                let end = process.reap().end;
                sys::reap::reap_group(pid);
                let failure = SetupFailure {
                    setup: setup.name,
                    why: SetupFailed::Died(end),
                    first: true,
                };
                zygote.state = State::Failed(failure.clone());
                Err(StartError::Setup(failure))
            }
        }
    }

    /// The harness's ends of the zygotes' and their spares' sockets: no test's child may keep
    /// them.
    pub(super) fn control_fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.zygotes
            .iter()
            .filter_map(|zygote| match &zygote.state {
                State::Ready(running) => Some(running.fds()),
                State::Failed(_) => None,
            })
            .flatten()
    }

    /// Kills and reaps every zygote.
    pub(super) fn kill_all(&mut self) {
        for zygote in &mut self.zygotes {
            if let State::Ready(running) = &zygote.state {
                let pid = running.pid;
                sys::reap::kill_and_reap(pid);
                // Its spares, in its group.
                sys::reap::reap_group(pid);
                zygote.state = State::Failed(SetupFailure {
                    setup: zygote.setup.name,
                    why: SetupFailed::NotStarted("the run ended".to_owned()),
                    first: false,
                });
            }
        }
    }
}

impl Drop for Zygotes {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Forks the zygote of `setup` and waits, at most the zygotes' timeout, for its setup to end.
fn start(setup: Setup, context: &ForkContext, harness_fds: &[RawFd], zygotes: &Zygotes) -> State {
    let Zygotes {
        timeout,
        ahead,
        rehome_at_least,
        ..
    } = *zygotes;
    let failed = |why| {
        State::Failed(SetupFailure {
            setup: setup.name,
            why,
            first: true,
        })
    };
    let pair = sys::fd_passing::socket_pair();
    let (mine, theirs) = match pair {
        Ok(pair) => pair,
        Err(error) => return failed(SetupFailed::NotStarted(error.to_string())),
    };
    // A zygote inherits the stdout buffer: flushed here, it cannot print the harness's text.
    let _ = io::stdout().flush();
    // SAFETY: this process has one thread (the harness starts none); `sys::fork::fork` asserts it in
    // debug builds.
    match unsafe { sys::fork::fork(context.task_dir.as_ref()) } {
        Err(error) => failed(SetupFailed::NotStarted(error.to_string())),
        Ok(ForkResult::Child) => {
            close(mine);
            serve::serve(setup, theirs, context, harness_fds, rehome_at_least)
        }
        Ok(ForkResult::Parent { child }) => {
            let _ = unistd::setpgid(child, child);
            close(theirs);
            let report = receive_within(&mine, timeout.unwrap_or(Duration::MAX / 4))
                .map(|(bytes, _)| decode_value::<SetupReport>(&bytes));
            let why = match report {
                Some(Ok(SetupReport::Ready)) => {
                    return State::Ready(Running::new(child, mine, ahead))
                }
                Some(Ok(SetupReport::Panicked { location, message })) => {
                    SetupFailed::Panicked { location, message }
                }
                Some(Ok(SetupReport::LeftThreads(threads))) => SetupFailed::LeftThreads(threads),
                Some(Err(why)) => SetupFailed::NotStarted(format!("it said something else: {why}")),
                // Still running: it said nothing because its time ran out.
                None if !ChildProcess::from_pid(child).has_ended() => match timeout {
                    Some(after) => SetupFailed::TimedOut(after),
                    None => SetupFailed::NotStarted("no answer".to_owned()),
                },
                None => SetupFailed::Died(ChildProcess::from_pid(child).reap().end),
            };
            sys::reap::kill_and_reap(child);
            failed(why)
        }
    }
}
