//! The zygote process: runs its setup once, then hands the harness a child for each test.
//!
//! It keeps one child forked ahead, a *spare*, waiting on a socket of its own: a request goes to
//! the spare, the answer goes back at once, and the next spare is forked while the harness is busy
//! with that test. At one test at a time, the fork leaves the path from one test to the next.

use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;

use nix::sys::signal::Signal;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::unistd::{self, Pid};

use super::{Fork, SetupReport};
use crate::child;
use crate::parent::signals;
use crate::parent::spawn::{self, ForkContext};
use crate::registry::{Setup, TestCase};
use crate::sys::{self, close};
use crate::wire::{decode_value, encode_value, EXIT_CHANNEL_LOST};

/// The panic a setup raised, as its hook saw it.
static SETUP_PANIC: Mutex<Option<(Option<String>, Option<String>)>> = Mutex::new(None);

/// The zygote: runs the setup, says how it went, then forks a test's child for each request
/// until the harness closes its end.
pub(super) fn serve(
    setup: Setup,
    control: OwnedFd,
    context: &ForkContext,
    harness_fds: &[RawFd],
) -> ! {
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
    let mut spare = None;
    loop {
        if spare.is_none() {
            spare = fork_spare(&control, context, &cases);
        }
        let Ok((bytes, fds)) = sys::receive_with_fds(&control) else {
            sys::exit_now(0);
        };
        if bytes.is_empty() {
            sys::exit_now(0);
        }
        let answer = match decode_value::<Fork>(&bytes) {
            Ok(fork) => match find(&cases, fork.case) {
                Some(case) if fds.len() == fork.descriptors() => {
                    match spare.take().map(|spare| spare.hand(&bytes, &fds)) {
                        Some(Ok(pid)) => Ok(pid),
                        // A spare that is gone (killed from outside): fork as if there were none.
                        Some(Err(())) | None => fork_test(&control, context, case, &fork, fds),
                    }
                }
                Some(_) => Err(format!(
                    "{} descriptors came, not {}",
                    fds.len(),
                    fork.descriptors()
                )),
                None => Err("no such test".to_owned()),
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

/// The test at `address` in the zygote's sorted table.
fn find(cases: &[(usize, &'static TestCase)], address: usize) -> Option<&'static TestCase> {
    let at = cases
        .binary_search_by_key(&address, |&(address, _)| address)
        .ok()?;
    Some(cases[at].1)
}

/// A child forked ahead of its test: a child of the harness (`CLONE_PARENT`) in the zygote's
/// process group, so that killing the zygote's group kills it too, until its request comes.
struct Spare {
    pid: i32,
    socket: OwnedFd,
}

impl Spare {
    /// Passes on the harness's request and the child's pipes; the spare's pid, or `Err` if it is
    /// gone.
    fn hand(self, request: &[u8], fds: &[OwnedFd]) -> Result<i32, ()> {
        let raw: Vec<RawFd> = fds.iter().map(AsRawFd::as_raw_fd).collect();
        sys::send_with_fds(&self.socket, request, &raw).map_err(|_| ())?;
        Ok(self.pid)
    }
}

/// Forks the next spare; `None` if the fork failed (each test is then forked on request).
fn fork_spare(
    control: &OwnedFd,
    context: &ForkContext,
    cases: &[(usize, &'static TestCase)],
) -> Option<Spare> {
    let (mine, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .ok()?;
    // A child inherits the stdout buffer: flushed here, it cannot print the setup's text again.
    let _ = io::stdout().flush();
    // SAFETY: this zygote has one thread: it starts none, and refuses to serve after a setup
    // that left one running; `fork_sibling` asserts it.
    match unsafe { sys::fork_sibling() } {
        Err(_) => None,
        Ok(None) => {
            sys::close_raw(control.as_raw_fd());
            close(mine);
            wait_for_test(theirs, context, cases)
        }
        Ok(Some(pid)) => {
            close(theirs);
            Some(Spare {
                pid: pid.as_raw(),
                socket: mine,
            })
        }
    }
}

/// The spare: waits for its request, then becomes that test's child. Ends quietly if the zygote
/// goes first.
fn wait_for_test(
    socket: OwnedFd,
    context: &ForkContext,
    cases: &[(usize, &'static TestCase)],
) -> ! {
    let Ok((bytes, fds)) = sys::receive_with_fds(&socket) else {
        sys::exit_now(0);
    };
    close(socket);
    // The zygote checked the request before passing it on.
    let Some((fork, case)) = decode_value::<Fork>(&bytes)
        .ok()
        .and_then(|fork| Some((find(cases, fork.case)?, fork)))
        .map(|(case, fork)| (fork, case))
    else {
        sys::exit_now(EXIT_CHANNEL_LOST);
    };
    become_test(context, case, &fork, fds)
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
    // A child inherits the stdout buffer: flushed here, it cannot print the setup's text again.
    let _ = io::stdout().flush();
    // SAFETY: this zygote has one thread: it starts none, and refuses to serve after a setup
    // that left one running; `fork_sibling` asserts it.
    match unsafe { sys::fork_sibling() } {
        Err(error) => Err(error.to_string()),
        Ok(None) => {
            sys::close_raw(control.as_raw_fd());
            become_test(context, case, fork, fds)
        }
        Ok(Some(pid)) => Ok(pid.as_raw()),
    }
}

/// In a new child of the zygote: takes the pipes (result, then stdout and stderr where captured)
/// and runs `case`.
fn become_test(
    context: &ForkContext,
    case: &'static TestCase,
    fork: &Fork,
    fds: Vec<OwnedFd>,
) -> ! {
    let mut fds = fds.into_iter();
    let Some(result) = fds.next() else {
        sys::exit_now(EXIT_CHANNEL_LOST);
    };
    let stdout = fork.stdout.then(|| fds.next()).flatten();
    let stderr = fork.stderr.then(|| fds.next()).flatten();
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
