//! The zygote process: runs its setup once, then forks a child ahead for each spare the harness
//! asks for, hands the harness the child's socket, and lets the harness hand it a test directly.

use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;

use nix::sys::signal::Signal;
use nix::unistd::{self, Pid};

use super::{Fork, SetupReport};
use crate::child;
use crate::outcome::EXIT_CHANNEL_LOST;
use crate::parent::launch::fork::spawn::{self, ForkContext};
use crate::parent::signals;
use crate::registry::{self, Setup, TestCase};
use crate::sys::{self, descriptors::close};
use crate::wire::{decode_value, encode_value};

/// The panic a setup raised, as its hook saw it.
static SETUP_PANIC: Mutex<Option<(Option<String>, Option<String>)>> = Mutex::new(None);

/// The zygote: runs the setup, says how it went, then forks a spare for each request until the
/// harness closes its end.
pub(super) fn serve(
    setup: Setup,
    control: OwnedFd,
    context: &ForkContext,
    harness_fds: &[RawFd],
    rehome_at_least: Option<usize>,
) -> ! {
    let _ = unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
    // Die with the harness even if it is SIGKILLed (where the system can: not on macOS); if it
    // already died, do not run at all.
    sys::signals::die_with_parent();
    if unistd::getppid() != context.parent {
        sys::signals::exit_now(EXIT_CHANNEL_LOST);
    }
    for &fd in harness_fds {
        sys::descriptors::close_raw(fd);
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
    let said = encode_value(&report)
        .is_ok_and(|bytes| sys::fd_passing::send_with_fds(&control, &bytes, &[]).is_ok());
    if !ready || !said {
        sys::signals::exit_now(0);
    }
    sys::huge_pages::collapse_into_huge_pages();
    // Here, not in the harness: the harness builds its registry meanwhile, and forks nothing.
    if let Some(at_least) = rehome_at_least {
        sys::huge_pages::rehome_relocated_data(at_least);
    }
    // In the registry's order, as the harness numbers them.
    let cases = registry::in_order();
    loop {
        // Each datagram asks for one spare; the end of the socket ends the zygote.
        match sys::fd_passing::receive_with_fds(&control) {
            Ok((bytes, _)) if !bytes.is_empty() => {}
            _ => sys::signals::exit_now(0),
        }
        let (answer, socket) = match fork_spare(&control, context, &cases) {
            Ok((pid, socket)) => (Ok(pid), Some(socket)),
            Err(why) => (Err(why), None),
        };
        let Ok(bytes) = encode_value::<Result<i32, String>>(&answer) else {
            sys::signals::exit_now(0);
        };
        let fds: Vec<RawFd> = socket.iter().map(AsRawFd::as_raw_fd).collect();
        if sys::fd_passing::send_with_fds(&control, &bytes, &fds).is_err() {
            sys::signals::exit_now(0);
        }
        // The harness holds its own copy now: a spare whose socket's other end the zygote kept
        // would never see the harness go.
        drop(socket);
    }
}

/// Forks a spare: a child of the harness (`CLONE_PARENT`) in this zygote's process group, which
/// waits on a socket of its own for its test. Its pid and the harness's end of that socket.
fn fork_spare(
    control: &OwnedFd,
    context: &ForkContext,
    cases: &[&'static TestCase],
) -> Result<(i32, OwnedFd), String> {
    let (mine, theirs) = sys::fd_passing::socket_pair().map_err(|error| error.to_string())?;
    // A child inherits the stdout buffer: flushed here, it cannot print the setup's text again.
    let _ = io::stdout().flush();
    // SAFETY: this zygote has one thread: it starts none, and refuses to serve after a setup
    // that left one running; `fork_sibling` asserts it.
    match unsafe { sys::fork::fork_sibling() } {
        Err(error) => Err(error.to_string()),
        Ok(None) => {
            sys::descriptors::close_raw(control.as_raw_fd());
            close(mine);
            wait_for_test(theirs, context, cases)
        }
        Ok(Some(pid)) => {
            close(theirs);
            Ok((pid.as_raw(), mine))
        }
    }
}

/// The spare: waits for the harness to hand it a test, then becomes that test's child. Ends
/// quietly if the harness goes first (the end of the socket).
fn wait_for_test(socket: OwnedFd, context: &ForkContext, cases: &[&'static TestCase]) -> ! {
    // All that does not depend on the test, done before it comes.
    spawn::prepare_test_process(context, &[]);
    let Ok((bytes, fds)) = sys::fd_passing::receive_with_fds(&socket) else {
        sys::signals::exit_now(0);
    };
    if bytes.is_empty() {
        sys::signals::exit_now(0);
    }
    close(socket);
    let request = decode_value::<Fork>(&bytes)
        .ok()
        .filter(|fork| fds.len() == fork.descriptors())
        .and_then(|fork| {
            let case = *cases.get(fork.registered)?;
            (case as *const TestCase as usize == fork.address).then_some((case, fork))
        });
    // Never from this harness; the test is not run, and its verdict says the child said nothing.
    let Some((case, fork)) = request else {
        sys::signals::exit_now(EXIT_CHANNEL_LOST);
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
    match sys::threads::thread_count() {
        Some(threads) if threads > 1 => SetupReport::LeftThreads(threads - 1),
        _ => SetupReport::Ready,
    }
}

/// In a spare handed its test: takes the pipes (result, then stdout and stderr where captured)
/// and runs `case`.
fn become_test(
    context: &ForkContext,
    case: &'static TestCase,
    fork: &Fork,
    fds: Vec<OwnedFd>,
) -> ! {
    let mut fds = fds.into_iter();
    let Some(result) = fds.next() else {
        sys::signals::exit_now(EXIT_CHANNEL_LOST);
    };
    let stdout = fork.stdout.then(|| fds.next()).flatten();
    let stderr = fork.stderr.then(|| fds.next()).flatten();
    // Out of the zygote's group now: the harness kills the test's group when it ends.
    let _ = unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
    spawn::take_test_output(stdout, stderr);
    sys::descriptors::set_blocking(result.as_raw_fd());
    child::run_test(
        case,
        result.as_raw_fd() as u64,
        fork.token,
        context.counting,
        fork.options,
    )
}
