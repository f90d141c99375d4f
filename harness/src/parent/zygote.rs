//! Setups run once: for each distinct `setup = warm_up`, a zygote process forked from the
//! harness runs the setup, then forks every test that needs it, so each test starts with the
//! statics ready and its changes vanish with it.
//!
//! A zygote forks with `CLONE_PARENT`: the test's child is the harness's own, watched, killed
//! and reaped like any other. The harness asks over a `SOCK_SEQPACKET` socket, passing the
//! child's pipes along; the zygote answers with the pid. A zygote dies with the harness
//! (`PR_SET_PDEATHSIG`, and the socket's end) and is killed when the run ends.

use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::unistd::{self, ForkResult, Pid};
use serde::{Deserialize, Serialize};

use super::reap;
use super::signals;
use super::spawn::{self, ForkContext, SpawnedChild};
use crate::child::{self, ChildOptions};
use crate::outcome::{SetupFailed, SetupFailure};
use crate::registry::{Setup, TestCase};
use crate::sys::{self, close};
use crate::wire::{decode_value, encode_value, EXIT_CHANNEL_LOST};

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

/// The harness asks a zygote for a child; its pipes' write ends travel with the request.
#[derive(Debug, Serialize, Deserialize)]
struct Fork {
    /// The test's `TestCase`, by address: the zygote is a copy of the harness, and finds it in
    /// the registry by the same address.
    case: usize,
    token: u64,
    options: ChildOptions,
    stdout: bool,
    stderr: bool,
}

/// How long the harness waits for a ready zygote's answer: it forks at once.
const ANSWER_LIMIT: Duration = Duration::from_secs(10);

struct Zygote {
    setup: Setup,
    state: State,
}

enum State {
    Ready { pid: Pid, control: OwnedFd },
    Failed(SetupFailure),
}

/// The run's zygotes, one per setup, each started when the first test that needs it starts.
pub(crate) struct Zygotes {
    zygotes: Vec<Zygote>,
    /// `ISOLATED_TEST_SETUP_TIMEOUT`.
    timeout: Option<Duration>,
}

/// Why a test's child could not be had.
#[derive(Debug)]
pub(crate) enum StartError {
    Spawn(io::Error),
    Setup(SetupFailure),
}

impl From<io::Error> for StartError {
    fn from(error: io::Error) -> Self {
        StartError::Spawn(error)
    }
}

/// The zygote of a large suite, which forks every test that has no setup of its own: made
/// before the harness builds its registry, so what it forks from does not grow with the suite.
pub(crate) const BASE: Setup = Setup {
    name: "(none)",
    key: "isolated-test::base",
    run: || (),
};

impl Zygotes {
    pub(crate) fn new(timeout: Option<Duration>) -> Self {
        Self {
            zygotes: Vec::new(),
            timeout,
        }
    }

    /// Starts the [`BASE`] zygote; where it cannot start, tests are forked from the harness.
    pub(crate) fn start_base(&mut self, context: &ForkContext) {
        let state = start(BASE, context, &[], self.timeout);
        if matches!(state, State::Ready { .. }) {
            self.zygotes.push(Zygote { setup: BASE, state });
        }
    }

    /// Whether the [`BASE`] zygote forks the tests without a setup.
    pub(crate) fn has_base(&self) -> bool {
        self.zygotes
            .iter()
            .any(|zygote| zygote.setup == BASE && matches!(zygote.state, State::Ready { .. }))
    }

    /// The zygotes' pids: children of the harness that are no test's.
    pub(crate) fn pids(&self) -> impl Iterator<Item = i32> + '_ {
        self.zygotes
            .iter()
            .filter_map(|zygote| match &zygote.state {
                State::Ready { pid, .. } => Some(pid.as_raw()),
                State::Failed(_) => None,
            })
    }

    /// A child for `case`, forked by `setup`'s zygote (started now if it is the first).
    pub(crate) fn spawn(
        &mut self,
        setup: Setup,
        context: &ForkContext,
        case: &'static TestCase,
        token: u64,
        options: ChildOptions,
        harness_fds: &[RawFd],
    ) -> Result<SpawnedChild, StartError> {
        let at = match self.zygotes.iter().position(|zygote| zygote.setup == setup) {
            Some(at) => at,
            None => {
                let state = start(setup, context, harness_fds, self.timeout);
                self.zygotes.push(Zygote { setup, state });
                self.zygotes.len() - 1
            }
        };
        let zygote = &mut self.zygotes[at];
        let State::Ready { pid, control } = &zygote.state else {
            let State::Failed(failure) = &zygote.state else {
                unreachable!()
            };
            return Err(StartError::Setup(failure.clone()));
        };
        match ask(control, context, case, token, options) {
            Ok(spawned) => Ok(spawned),
            Err(Asked::Spawn(error)) => Err(StartError::Spawn(error)),
            Err(Asked::ZygoteLost) => {
                let pid = *pid;
                sys::kill_process_and_group(pid);
                let (end, _) = reap::reap(pid);
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

    /// The harness's ends of the zygotes' sockets: no test's child may keep them.
    pub(crate) fn control_fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.zygotes
            .iter()
            .filter_map(|zygote| match &zygote.state {
                State::Ready { control, .. } => Some(control.as_raw_fd()),
                State::Failed(_) => None,
            })
    }

    /// Kills and reaps every zygote.
    pub(crate) fn kill_all(&mut self) {
        for zygote in &mut self.zygotes {
            if let State::Ready { pid, .. } = zygote.state {
                sys::kill_and_reap(pid);
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

enum Asked {
    Spawn(io::Error),
    /// The zygote did not answer: it died, or hangs.
    ZygoteLost,
}

/// Asks the zygote at `control` for a child of `case`, with fresh pipes.
fn ask(
    control: &OwnedFd,
    context: &ForkContext,
    case: &'static TestCase,
    token: u64,
    options: ChildOptions,
) -> Result<SpawnedChild, Asked> {
    let pipes = spawn::ChildPipes::new(context, case).map_err(Asked::Spawn)?;
    let request = Fork {
        case: case as *const TestCase as usize,
        token,
        options,
        stdout: pipes.captures_stdout(),
        stderr: pipes.captures_stderr(),
    };
    let bytes = encode_value(&request).map_err(|why| Asked::Spawn(io::Error::other(why)))?;
    let fds: Vec<RawFd> = pipes.write_ends().collect();
    sys::send_with_fds(control, &bytes, &fds).map_err(|_| Asked::ZygoteLost)?;
    let answer = receive_within(control, ANSWER_LIMIT).ok_or(Asked::ZygoteLost)?;
    let pid = match decode_value::<Result<i32, String>>(&answer) {
        Ok(Ok(pid)) => Pid::from_raw(pid),
        Ok(Err(why)) => return Err(Asked::Spawn(io::Error::other(why))),
        Err(_) => return Err(Asked::ZygoteLost),
    };
    // Also set by the child itself; whichever runs first wins the race against a kill.
    let _ = unistd::setpgid(pid, pid);
    Ok(pipes.parent_ends(pid))
}

/// One datagram from `control` within `limit`; `None` if none came, or the other end closed.
fn receive_within(control: &OwnedFd, limit: Duration) -> Option<Vec<u8>> {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let mut fds = [sys::readable(control.as_raw_fd())];
        match sys::poll(&mut fds, Some(left)) {
            Some(0) => return None,
            Some(_) => break,
            None => continue,
        }
    }
    let (bytes, _) = sys::receive_with_fds(control).ok()?;
    (!bytes.is_empty()).then_some(bytes)
}

/// Forks the zygote of `setup` and waits, at most `timeout`, for its setup to end.
fn start(
    setup: Setup,
    context: &ForkContext,
    harness_fds: &[RawFd],
    timeout: Option<Duration>,
) -> State {
    let failed = |why| {
        State::Failed(SetupFailure {
            setup: setup.name,
            why,
            first: true,
        })
    };
    let pair = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    );
    let (mine, theirs) = match pair {
        Ok(pair) => pair,
        Err(error) => return failed(SetupFailed::NotStarted(error.to_string())),
    };
    // A zygote inherits the stdout buffer: flushed here, it cannot print the harness's text.
    let _ = io::stdout().flush();
    // SAFETY: this process has one thread (the harness starts none); `sys::fork` asserts it in
    // debug builds.
    match unsafe { sys::fork(context.task_dir.as_ref()) } {
        Err(error) => failed(SetupFailed::NotStarted(error.to_string())),
        Ok(ForkResult::Child) => {
            close(mine);
            serve(setup, theirs, context, harness_fds)
        }
        Ok(ForkResult::Parent { child }) => {
            let _ = unistd::setpgid(child, child);
            close(theirs);
            let report = receive_within(&mine, timeout.unwrap_or(Duration::MAX / 4))
                .map(|bytes| decode_value::<SetupReport>(&bytes));
            let why = match report {
                Some(Ok(SetupReport::Ready)) => {
                    return State::Ready {
                        pid: child,
                        control: mine,
                    }
                }
                Some(Ok(SetupReport::Panicked { location, message })) => {
                    SetupFailed::Panicked { location, message }
                }
                Some(Ok(SetupReport::LeftThreads(threads))) => SetupFailed::LeftThreads(threads),
                Some(Err(why)) => SetupFailed::NotStarted(format!("it said something else: {why}")),
                None if timed_out(child) => match timeout {
                    Some(after) => SetupFailed::TimedOut(after),
                    None => SetupFailed::NotStarted("no answer".to_owned()),
                },
                None => SetupFailed::Died(reap::reap(child).0),
            };
            sys::kill_and_reap(child);
            failed(why)
        }
    }
}

/// Whether zygote `pid` is still running: it said nothing because its time ran out.
fn timed_out(pid: Pid) -> bool {
    use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    matches!(waitid(Id::Pid(pid), flags), Ok(WaitStatus::StillAlive))
}

/// The panic a setup raised, as its hook saw it.
static SETUP_PANIC: Mutex<Option<(Option<String>, Option<String>)>> = Mutex::new(None);

/// The zygote: runs the setup, says how it went, then forks a test's child for each request
/// until the harness closes its end.
fn serve(setup: Setup, control: OwnedFd, context: &ForkContext, harness_fds: &[RawFd]) -> ! {
    let _ = unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // Die with the harness even if it is SIGKILLed; if it already died, do not run at all.
        let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
        if unistd::getppid() != context.parent {
            sys::exit_now(EXIT_CHANNEL_LOST);
        }
    }
    for &fd in harness_fds {
        sys::close_raw(fd);
    }
    signals::restore_termination_dispositions();
    signals::unblock_termination();
    // The harness's handler writes to its wake-up pipe, closed here: a setup that runs a
    // command must not find a byte written into a file that reused the number.
    // SAFETY: restoring the default disposition installs no handler of ours.
    let _ =
        unsafe { nix::sys::signal::signal(Signal::SIGCHLD, nix::sys::signal::SigHandler::SigDfl) };
    let report = run_setup(setup);
    let ready = matches!(report, SetupReport::Ready);
    let said =
        encode_value(&report).is_ok_and(|bytes| sys::send_with_fds(&control, &bytes, &[]).is_ok());
    if !ready || !said {
        sys::exit_now(0);
    }
    sys::collapse_into_huge_pages();
    // By address, sorted: a map would grow this process, and every fork from it, by more.
    let mut cases: Vec<(usize, &'static TestCase)> = inventory::iter::<TestCase>
        .into_iter()
        .map(|case| (case as *const TestCase as usize, case))
        .collect();
    cases.sort_unstable_by_key(|&(address, _)| address);
    loop {
        let Ok((bytes, fds)) = sys::receive_with_fds(&control) else {
            sys::exit_now(0);
        };
        if bytes.is_empty() {
            sys::exit_now(0);
        }
        let answer = match decode_value::<Fork>(&bytes) {
            Ok(fork) => match cases.binary_search_by_key(&fork.case, |&(address, _)| address) {
                Ok(at) => fork_test(&control, context, cases[at].1, &fork, fds),
                Err(_) => Err("no such test".to_owned()),
            },
            Err(why) => Err(why),
        };
        let Ok(bytes) = encode_value(&answer) else {
            sys::exit_now(0);
        };
        if sys::send_with_fds(&control, &bytes, &[]).is_err() {
            sys::exit_now(0);
        }
    }
}

/// Runs the setup, catching its panic with its location.
fn run_setup(setup: Setup) -> SetupReport {
    let harness_hook = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned());
        let location = info.location().map(ToString::to_string);
        if let Ok(mut panic) = SETUP_PANIC.lock() {
            panic.get_or_insert((location, message));
        }
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(setup.run));
    let _ = panic::take_hook();
    panic::set_hook(harness_hook);
    if let Err(payload) = result {
        // The payload's destructor is the setup's, not ours to run.
        std::mem::forget(payload);
        let (location, message) = SETUP_PANIC
            .lock()
            .ok()
            .and_then(|mut panic| panic.take())
            .unwrap_or((None, None));
        return SetupReport::Panicked { location, message };
    }
    match sys::thread_count() {
        Some(threads) if threads > 1 => SetupReport::LeftThreads(threads - 1),
        _ => SetupReport::Ready,
    }
}

/// Forks the child of `case` with the pipes the harness sent, and returns its pid.
fn fork_test(
    control: &OwnedFd,
    context: &ForkContext,
    case: &'static TestCase,
    fork: &Fork,
    fds: Vec<OwnedFd>,
) -> Result<i32, String> {
    let expected = 1 + usize::from(fork.stdout) + usize::from(fork.stderr);
    if fds.len() != expected {
        return Err(format!("{} descriptors came, not {expected}", fds.len()));
    }
    let mut fds = fds.into_iter();
    let result = fds.next().expect("counted above");
    let stdout = fork.stdout.then(|| fds.next()).flatten();
    let stderr = fork.stderr.then(|| fds.next()).flatten();
    // A child inherits the stdout buffer: flushed here, it cannot print the setup's text again.
    let _ = io::stdout().flush();
    // SAFETY: this zygote has one thread: it starts none, and refuses to serve after a setup
    // that left one running; `fork_sibling` asserts it.
    match unsafe { sys::fork_sibling() } {
        Err(error) => Err(error.to_string()),
        Ok(None) => {
            sys::close_raw(control.as_raw_fd());
            spawn::become_test_process(context, stdout, stderr, &[]);
            sys::set_blocking(result.as_raw_fd());
            child::run_test(
                case,
                std::os::fd::AsFd::as_fd(&result),
                fork.token,
                context.counting,
                fork.options,
            )
        }
        Ok(Some(pid)) => Ok(pid.as_raw()),
    }
}
