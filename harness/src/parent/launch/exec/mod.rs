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

#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::child::no_alloc::harness_addresses::{self, LoadedObject};
use crate::child::{self, ChildOptions};
use crate::env;
use crate::outcome::EXIT_CHANNEL_LOST;
use crate::parent::launch::TestToStart;
use crate::registry::{self, SuiteDefaults};
use crate::sys;
use crate::wire;
#[cfg(unix)]
use unix::become_test_process;
#[cfg(windows)]
use windows::become_test_process;

/// The variable that makes the test binary a test's child, and what it says.
pub(crate) const ORDER: &str = "ISOLATED_TEST_CHILD_ORDER";

/// What a re-executed child is told: which test, and how to run and report it.
#[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ChildOrder {
    /// The test's full name, as the registry names it.
    test: String,
    /// Its place in the registry's order, the same in every start of this binary: the child
    /// finds its test there (and checks its name), not by naming every test of the suite.
    registered: usize,
    /// The token its result frames carry.
    token: u64,
    /// Its result channel, inherited from the harness: a descriptor's number, or on Windows a
    /// handle's value.
    channel: u64,
    /// On Windows, the inherited handle of the Job Object it joins first.
    #[cfg(windows)]
    job: u64,
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

/// Starts each test's child by executing the test binary again: how, each system's module says
/// ([`unix`], [`windows`]).
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

impl ExecLauncher {
    /// The command that starts `test`'s child: this binary, told its order in [`ORDER`] (its
    /// result channel `channel`, and on Windows its job `job`), stdin from the null device, and
    /// each captured stream's write end as its stdout and stderr (`None`: the harness's own).
    /// Returns the read ends with it.
    fn command<R, W: Into<Stdio>>(
        &self,
        test: &TestToStart,
        channel: u64,
        #[cfg(windows)] job: u64,
        stdout: Option<(R, W)>,
        stderr: Option<(R, W)>,
    ) -> (Command, Option<R>, Option<R>) {
        let order = ChildOrder {
            test: test.case.full_name(),
            registered: test.registered,
            token: test.token,
            channel,
            #[cfg(windows)]
            job,
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
            .stderr(stderr_end);
        (command, stdout, stderr)
    }
}

/// A captured stream's read end, for the harness, and its write end as the child's stdout or
/// stderr; not captured, the harness's own.
fn read_end_and_stdio<R, W: Into<Stdio>>(pair: Option<(R, W)>) -> (Option<R>, Stdio) {
    match pair {
        Some((read, write)) => (Some(read), write.into()),
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
    let registered = registry::in_order();
    let at_its_place = registered
        .get(order.registered)
        .filter(|case| case.full_name() == order.test);
    let Some(&case) = at_its_place.or_else(|| {
        registered
            .iter()
            .find(|case| case.full_name() == order.test)
    }) else {
        eprintln!("error: this binary has no test named {}", order.test);
        sys::signals::exit_now(EXIT_CHANNEL_LOST)
    };
    become_test_process(&order);
    // What a forked child inherits allocated from the harness (std's stdout buffer, stdin's),
    // allocated here before the body's heap is measured: no test is charged for it.
    let _ = std::io::Write::flush(&mut std::io::stdout().lock());
    drop(std::io::stdin().lock());
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
    child::run_test(
        case,
        order.channel,
        order.token,
        child::counting_is_installed(),
        order.options,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_comes_back_as_it_was_sent() {
        let order = ChildOrder {
            test: "module::a_test".into(),
            registered: 3,
            token: 0x5EED,
            channel: 7,
            #[cfg(windows)]
            job: 8,
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
