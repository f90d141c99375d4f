//! The exec backend: each test's child is the test binary executed again, told which test to
//! run by one environment variable ([`ORDER`]), as cargo-nextest and rusty-fork start a test. It
//! needs no fork of the harness, so it is the backend for systems without a usable one; on the
//! others `ISOLATED_TEST_BACKEND=exec` selects it.
//!
//! Both sides are here. The harness ([`ExecLauncher`]) starts the binary with the test's pipes
//! as its stdout, stderr and an inherited result channel, in a process group of its own. The
//! binary's `main!` sees the order before anything else ([`order_from_env`]) and becomes that
//! test's child ([`run_child`]): it sets up its process as a forked child is set up, then runs
//! the same child-side code, so its report, verdict and output are a forked child's.
//!
//! What only a fork can give is given another way or not at all: a test's `setup` runs in each
//! child before its body (no zygote keeps its result), and `isolate()` inside a test still forks.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::unistd::Pid;

use super::fork::spawn::{join_the_run, take_own_description};
use super::pipes::{ChildPipes, Pair};
use super::{ChildProcess, Launched, Launcher, StartError, TestToStart};
use crate::child::no_alloc::harness_addresses::{self, LoadedObject};
use crate::child::{self, ChildOptions};
use crate::env;
use crate::outcome::EXIT_CHANNEL_LOST;
use crate::parent::signals;
use crate::registry::{self, SuiteDefaults};
use crate::sys;
use crate::wire;

/// The variable that makes the test binary a test's child, and what it says.
pub(crate) const ORDER: &str = "ISOLATED_TEST_CHILD_ORDER";

/// What a re-executed child is told: which test, and how to run and report it.
#[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ChildOrder {
    /// The test's full name, as the registry names it.
    test: String,
    /// The token its result frames carry.
    token: u64,
    /// The descriptor of its result channel, inherited from the harness.
    channel: RawFd,
    /// Its stdout and stderr are the harness's own (`--nocapture`), not pipes.
    stdout_shared: bool,
    stderr_shared: bool,
    /// The harness, which the child dies with.
    harness: i32,
    /// Where the harness has the executable and its libraries: the child's frames are named at
    /// the harness's addresses.
    objects: Vec<LoadedObject>,
    /// The key of the setup to run before the body: the test's own, or the suite's.
    setup: Option<String>,
    options: ChildOptions,
}

impl ChildOrder {
    /// As the variable's value: the order's bincode, in hex.
    fn encode(&self) -> String {
        let bytes = wire::encode_value(self).expect("a child's order always encodes");
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    fn decode(text: &str) -> Option<Self> {
        let digits = text.as_bytes();
        if !digits.len().is_multiple_of(2) {
            return None;
        }
        let bytes = digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        wire::decode_value(&bytes).ok()
    }
}

/// Starts each test's child by executing the test binary again.
pub(crate) struct ExecLauncher {
    binary: PathBuf,
    capture: bool,
    /// The harness's executable and libraries, where the loader placed them.
    objects: Vec<LoadedObject>,
}

impl ExecLauncher {
    /// Executes `binary` (this one) for each test; `capture` unless `--nocapture`.
    pub(crate) fn new(binary: PathBuf, capture: bool) -> Self {
        let objects = harness_addresses::loaded_objects();
        Self {
            binary,
            capture,
            objects,
        }
    }
}

impl Launcher for ExecLauncher {
    fn start(
        &mut self,
        test: &TestToStart,
        _harness_fds: &[RawFd],
    ) -> Result<Launched, StartError> {
        // Every descriptor of the harness is close-on-exec: the new program keeps none of them
        // but the three it is given and its result channel.
        let (result, stdout, stderr) = ChildPipes::new(self.capture, test.case)?.into_pairs();
        for (_, write) in [Some(&result), stdout.as_ref(), stderr.as_ref()]
            .into_iter()
            .flatten()
        {
            // The child's ends are open file descriptions of their own: blocking, as a forked
            // child makes them.
            sys::descriptors::set_blocking(write.as_raw_fd());
        }
        // Its result channel survives the exec; the harness closes its copy once it started.
        fcntl(&result.1, FcntlArg::F_SETFD(FdFlag::empty())).map_err(io::Error::from)?;
        let order = ChildOrder {
            test: test.case.full_name(),
            token: test.token,
            channel: result.1.as_raw_fd(),
            stdout_shared: stdout.is_none(),
            stderr_shared: stderr.is_none(),
            harness: std::process::id() as i32,
            objects: self.objects.clone(),
            setup: test.setup.map(|setup| setup.key.to_owned()),
            options: test.options,
        };
        let (stdout, stdout_end) = read_end_and_stdio(stdout);
        let (stderr, stderr_end) = read_end_and_stdio(stderr);
        let mut command = Command::new(&self.binary);
        command
            .env(ORDER, order.encode())
            .stdin(Stdio::null())
            .stdout(stdout_end)
            .stderr(stderr_end)
            .process_group(0);
        let spawned = command.spawn();
        // The write ends, the result channel's and those `command` holds, are the child's alone
        // now: the harness reads end of file once the child and all it started closed theirs.
        drop(command);
        drop(result.1);
        let spawned = spawned?;
        Ok(Launched {
            process: ChildProcess::from_pid(Pid::from_raw(spawned.id() as i32)),
            stdout,
            stderr,
            result: result.0,
        })
    }

    fn own_fds(&self, _fds: &mut Vec<RawFd>) {}

    fn owns(&self, _pid: i32) -> bool {
        false
    }

    fn stop(&mut self) {}
}

/// A captured stream's read end, for the harness, and its write end as the child's stdout or
/// stderr; not captured, the harness's own.
fn read_end_and_stdio(pair: Option<Pair>) -> (Option<OwnedFd>, Stdio) {
    match pair {
        Some((read, write)) => (Some(read), Stdio::from(write)),
        None => (None, Stdio::inherit()),
    }
}

/// The order this process was started with, if the harness started it as a test's child; the
/// variable is removed, so that a process the test starts is no test's child.
pub(crate) fn order_from_env() -> Option<ChildOrder> {
    let text = env::of_this_process(ORDER)?;
    // Sound as long as no other thread reads the environment: this runs first in `main`, when
    // the process has one thread.
    std::env::remove_var(ORDER);
    match ChildOrder::decode(&text) {
        Some(order) => Some(order),
        None => {
            eprintln!("error: {ORDER} holds no order this harness wrote");
            sys::signals::exit_now(EXIT_CHANNEL_LOST)
        }
    }
}

/// Runs the test `order` names as a forked child would, and ends the process; `suite` has the
/// setup of the tests that name none.
pub(crate) fn run_child(order: ChildOrder, suite: &SuiteDefaults) -> ! {
    let Some(case) = registry::in_order()
        .into_iter()
        .find(|case| case.full_name() == order.test)
    else {
        eprintln!("error: this binary has no test named {}", order.test);
        sys::signals::exit_now(EXIT_CHANNEL_LOST)
    };
    become_test_process(&order);
    harness_addresses::translate_for(&order.objects);
    child::install_panic_hook();
    child::install_stuck_handler();
    child::install_stop_handler();
    // What a zygote ran once for all the tests that need it runs in each child here, before
    // the body's heap is measured: the test finds the statics ready, and is not charged for them.
    if let Some(key) = &order.setup {
        match [case.setup, suite.setup]
            .into_iter()
            .flatten()
            .find(|setup| setup.key == key)
        {
            Some(setup) => (setup.run)(),
            None => {
                eprintln!("error: this binary has no setup {key}");
                sys::signals::exit_now(EXIT_CHANNEL_LOST)
            }
        }
    }
    // SAFETY: the harness made `channel` this process's result channel, open from its start, and
    // nothing of this process closes it before `run_test` ends the process.
    let channel = unsafe { BorrowedFd::borrow_raw(order.channel) };
    // A process the test starts must not inherit the channel.
    let _ = fcntl(channel, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
    child::run_test(
        case,
        channel,
        order.token,
        child::counting_is_installed(),
        order.options,
    )
}

/// What a forked child's backend sets up before it hands over to the test: what every child
/// does first ([`join_the_run`]), signals, and its own description of a shared stdout.
fn become_test_process(order: &ChildOrder) {
    join_the_run(Pid::from_raw(order.harness));
    // The handlers were the harness's and are gone with the exec; a signal it ignored from its
    // start (`nohup`) stays ignored, as in a forked child. Its blocked set is inherited.
    signals::unblock_termination();
    if order.stdout_shared {
        take_own_description(1);
    }
    if order.stderr_shared {
        take_own_description(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_comes_back_as_it_was_sent() {
        let order = ChildOrder {
            test: "module::a_test".into(),
            token: 0x5EED,
            channel: 7,
            stdout_shared: false,
            stderr_shared: true,
            harness: 42,
            objects: vec![LoadedObject {
                name: String::new(),
                bias: 0x5555_0000,
                span: (0x5555_0000, 0x5556_0000),
            }],
            setup: Some("suite::warm_up".into()),
            options: ChildOptions {
                memory_limit: Some(1 << 20),
                ..ChildOptions::default()
            },
        };
        assert_eq!(ChildOrder::decode(&order.encode()), Some(order));
        assert_eq!(ChildOrder::decode("0"), None);
        assert_eq!(ChildOrder::decode("zz"), None);
    }
}
