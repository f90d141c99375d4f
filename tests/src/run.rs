//! Running a fixture suite binary with chosen arguments and environment.

use std::ffi::OsString;
use std::fmt::Write as _;
#[cfg(unix)]
use std::io;
#[cfg(unix)]
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
#[cfg(unix)]
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
#[cfg(unix)]
use std::sync::mpsc;
use std::time::Duration;

use crate::report::{strip_ansi, Failure, Report};

// Windows has no process group, pidfd or signal to give a run: there a run is waited for by
// polling, and a hung one killed through its handle.
#[cfg(windows)]
mod windows;

/// How long one harness run may take before the driver calls it hung, kills it and fails.
/// Not a timing threshold: every fixture run ends in about a second; this turns a hang (say, a
/// harness waiting on a grandchild's pipe) into a failure instead of a stuck `cargo test`. A run
/// of thousands of tests sets its own ([`Harness::hang_guard`]).
pub(crate) const HANG_GUARD: Duration = Duration::from_secs(60);

/// Variables the harness, std or the colour crates read: never inherited from the developer's
/// shell or CI, only set by a test that is about them.
const SCRUBBED: &[&str] = &[
    "RUST_BACKTRACE",
    "RUST_LIB_BACKTRACE",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "RUST_TEST_THREADS",
    "RUST_TEST_NOCAPTURE",
];
const SCRUBBED_PREFIX: &str = "ISOLATED_TEST_";

/// Set on the driver (`ISOLATED_TEST_E2E_BACKEND=exec cargo test -p isolated-test-e2e`), the
/// backend every fixture run is started with, unless the test picks one itself: so that the whole
/// suite, not a sample of it, holds under each backend. `fork` (the harness's default) or `exec`.
pub const E2E_BACKEND: &str = "ISOLATED_TEST_E2E_BACKEND";

/// The harness's own variable, which [`E2E_BACKEND`] fills in.
const BACKEND: &str = "ISOLATED_TEST_BACKEND";

/// The backend the driver was asked to run every fixture under ([`E2E_BACKEND`]), if any.
/// Panics on a value the harness has no backend for, rather than run the suite under the default
/// and let it pass as the other.
pub fn backend_under_test() -> Option<&'static str> {
    let value = std::env::var_os(E2E_BACKEND)?;
    match value.to_str().map(str::trim) {
        Some("" | "fork") => None,
        Some("exec") => Some("exec"),
        _ => panic!("{E2E_BACKEND}={value:?}: the backends are `fork` and `exec`"),
    }
}

/// Gives `command`, a fixture suite started without [`Harness`], the backend under test
/// ([`E2E_BACKEND`]), unless the command sets `ISOLATED_TEST_BACKEND` itself.
pub fn with_backend_under_test(command: &mut Command) -> &mut Command {
    let chosen = command.get_envs().any(|(name, _)| name == BACKEND);
    if let (Some(backend), false) = (backend_under_test(), chosen) {
        command.env(BACKEND, backend);
    }
    command
}

/// One invocation of a fixture suite, built up like a [`Command`].
#[derive(Clone, Debug)]
pub struct Harness {
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    colour_under_test: bool,
    /// Termination signals the suite starts with ignored, as under `nohup`.
    #[cfg(unix)]
    started_ignoring: Vec<libc::c_int>,
    /// How long the run may take before it is called hung: [`HANG_GUARD`] unless set.
    hang_guard: Duration,
    /// The terminal side of a pseudo-terminal the suite runs in, as its session's controlling
    /// terminal and its stdin, in the terminal's foreground.
    #[cfg(target_os = "linux")]
    terminal: Option<RawFd>,
}

/// The signals whose disposition at start the harness keeps (ignored stays ignored): reset for
/// every run, so that a driver started in the background (where a shell ignores SIGINT and
/// SIGQUIT) or under `nohup` tests the same thing as one started from a terminal.
#[cfg(unix)]
const TERMINATION: [libc::c_int; 4] = [libc::SIGHUP, libc::SIGINT, libc::SIGQUIT, libc::SIGTERM];

impl Harness {
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            colour_under_test: false,
            #[cfg(unix)]
            started_ignoring: Vec::new(),
            hang_guard: HANG_GUARD,
            #[cfg(target_os = "linux")]
            terminal: None,
        }
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Runs the suite under the fork backend whatever [`E2E_BACKEND`] says, for a test about what
    /// only a fork gives (a `setup` run once in a zygote, `isolate()`, the timing of spare
    /// zygotes): each caller says which, next to the call.
    pub fn fork_only(self) -> Self {
        self.env(BACKEND, "fork")
    }

    /// Calls the run hung only after `guard` rather than [`HANG_GUARD`], for a suite whose run
    /// takes more than a few seconds (thousands of tests): each caller says how long it takes.
    pub fn hang_guard(mut self, guard: Duration) -> Self {
        self.hang_guard = guard;
        self
    }

    /// Leaves colour to the test: without this, `--color never` is passed so that no escape
    /// sequence gets between an assertion and the text it is about.
    pub fn colour_under_test(mut self) -> Self {
        self.colour_under_test = true;
        self
    }

    /// Starts the suite with `signal` ignored, as `nohup` does for SIGHUP; every other
    /// termination signal starts with its default disposition.
    #[cfg(unix)]
    pub fn started_ignoring(mut self, signal: libc::c_int) -> Self {
        self.started_ignoring.push(signal);
        self
    }

    /// Runs the suite in `terminal`, as a shell runs a job in the foreground: a session of its
    /// own with `terminal` as controlling terminal, and as stdin. Keys typed there reach it.
    #[cfg(target_os = "linux")]
    pub fn in_terminal(mut self, terminal: &crate::Terminal) -> Self {
        self.terminal = Some(terminal.terminal_fd());
        self
    }

    /// The variables the run is started with: the test's own, and the backend under test
    /// ([`E2E_BACKEND`]) unless the test picked one.
    fn final_env(&self) -> Vec<(OsString, OsString)> {
        let mut env = self.env.clone();
        let chosen = env.iter().any(|(name, _)| name == BACKEND);
        if let (Some(backend), false) = (backend_under_test(), chosen) {
            env.push((BACKEND.into(), backend.into()));
        }
        env
    }

    fn command_line(&self) -> String {
        let mut line = String::new();
        for (name, value) in &self.final_env() {
            let _ = write!(
                line,
                "{}={} ",
                name.to_string_lossy(),
                value.to_string_lossy()
            );
        }
        line.push_str(&self.program.to_string_lossy());
        for arg in self.final_args() {
            line.push(' ');
            line.push_str(&arg.to_string_lossy());
        }
        line
    }

    fn final_args(&self) -> Vec<OsString> {
        let mut args = self.args.clone();
        if !self.colour_under_test {
            args.extend(["--color".into(), "never".into()]);
        }
        args
    }

    /// Runs the suite to the end and returns what it printed. Panics if it runs for its hang
    /// guard ([`HANG_GUARD`] unless set), after killing its process group.
    #[cfg(unix)]
    pub fn run(&self) -> Run {
        self.spawn().wait()
    }

    /// Runs the suite to the end and returns what it printed. Panics if it runs for its hang
    /// guard ([`HANG_GUARD`] unless set), after killing it (its tests' processes die with it, in
    /// its job).
    #[cfg(windows)]
    pub fn run(&self) -> Run {
        let command_line = self.command_line();
        let output = windows::run_to_end(self.command(), &command_line, self.hang_guard);
        Run::new(command_line, output)
    }

    /// The suite's command: its arguments, no stdin, its output piped, and the environment
    /// scrubbed of what the harness reads but the test does not set.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(self.final_args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, _) in std::env::vars_os() {
            let text = name.to_string_lossy();
            if SCRUBBED.contains(&&*text) || text.starts_with(SCRUBBED_PREFIX) {
                command.env_remove(&name);
            }
        }
        for (name, value) in &self.final_env() {
            command.env(name, value);
        }
        command
    }

    /// Starts the suite and returns at once, for a test that acts on the harness while it runs.
    #[cfg(unix)]
    pub fn spawn(&self) -> Running {
        let mut command = self.command();
        #[cfg(target_os = "linux")]
        let terminal = self.terminal;
        #[cfg(not(target_os = "linux"))]
        let terminal: Option<RawFd> = None;
        match terminal {
            // Its own group, so that the hang guard can kill it and whatever it started.
            None => {
                command.process_group(0);
            }
            Some(terminal) => {
                // SAFETY: `dup` of a descriptor this process holds open for the run's start.
                let stdin = unsafe { libc::dup(terminal) };
                assert!(stdin >= 0, "dup: {}", io::Error::last_os_error());
                // SAFETY: `stdin` is the new descriptor `dup` just made.
                command.stdin(unsafe { OwnedFd::from_raw_fd(stdin) });
            }
        }
        let dispositions = TERMINATION.map(|signal| {
            let ignored = self.started_ignoring.contains(&signal);
            (
                signal,
                if ignored {
                    libc::SIG_IGN
                } else {
                    libc::SIG_DFL
                },
            )
        });
        // SAFETY: `close_range`, `signal` (with a default or ignored disposition: no handler)
        // and `sigprocmask` are async-signal-safe system calls on values copied in beforehand.
        // The first marks every descriptor above stderr close-on-exec, so the suite starts with
        // exactly stdin, stdout and stderr: whatever cargo or a shell leaked into this process
        // (a jobserver pipe, say) must not be mistaken for a result channel by the fixtures
        // that look for one. The others give it the dispositions chosen above and no blocked
        // signal, whatever this process inherited.
        unsafe {
            command.pre_exec(move || {
                libc::close_range(3, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as libc::c_int);
                for (signal, disposition) in dispositions {
                    libc::signal(signal, disposition);
                }
                let mut none = std::mem::zeroed::<libc::sigset_t>();
                libc::sigemptyset(&mut none);
                libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
                if terminal.is_some() {
                    // A session of its own (a group too, which the hang guard kills), its
                    // stdin the terminal that session takes as its controlling terminal.
                    if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }

        let command_line = self.command_line();
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("could not start `{command_line}`: {error}"));
        let pid = child.id() as libc::pid_t;
        // Opened before anything can reap the harness, so it always names this process.
        let pidfd = pidfd_open(pid)
            .unwrap_or_else(|error| panic!("pidfd_open for `{command_line}`: {error}"));
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = done.send(child.wait_with_output());
        });
        Running {
            command_line,
            pid,
            pidfd,
            finished,
            hang_guard: self.hang_guard,
        }
    }
}

/// A suite started with [`Harness::spawn`] and not yet waited for.
#[cfg(unix)]
#[derive(Debug)]
pub struct Running {
    command_line: String,
    pid: libc::pid_t,
    pidfd: OwnedFd,
    finished: mpsc::Receiver<io::Result<Output>>,
    hang_guard: Duration,
}

#[cfg(unix)]
impl Running {
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Readable once the harness process has ended.
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    pub fn command_line(&self) -> &str {
        &self.command_line
    }

    /// Sends `signal` to the harness process itself (not its group), through its pidfd, so it
    /// can never reach another process that reused the pid.
    #[track_caller]
    pub fn signal(&self, signal: i32) {
        // SAFETY: `pidfd_send_signal` takes a descriptor, a signal number, a null siginfo and
        // flags 0.
        let sent = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        assert_eq!(
            sent,
            0,
            "sending signal {signal} to `{}`: {}",
            self.command_line,
            io::Error::last_os_error()
        );
    }

    /// Waits until the harness process is stopped (by a job-control signal). Panics if it ends
    /// instead, or is not stopped within its hang guard (after killing its process group).
    #[track_caller]
    pub fn wait_until_stopped(&self) {
        let pid = self.pid;
        let (done, stopped) = mpsc::channel();
        std::thread::spawn(move || {
            let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
            let flags = libc::WSTOPPED | libc::WEXITED | libc::WNOWAIT;
            // SAFETY: a live out-pointer; WNOWAIT leaves the state for the run's own waiter.
            let waited =
                unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, info.as_mut_ptr(), flags) };
            // SAFETY: filled by the successful `waitid`.
            let code = (waited == 0).then(|| unsafe { info.assume_init() }.si_code);
            let _ = done.send(code);
        });
        match stopped.recv_timeout(self.hang_guard) {
            Ok(Some(libc::CLD_STOPPED)) => {}
            Ok(code) => panic!("`{}` was not stopped (waitid: {code:?})", self.command_line),
            Err(_) => {
                // SAFETY: signals the process group we created for this run.
                unsafe { libc::kill(-self.pid, libc::SIGKILL) };
                panic!(
                    "`{}` did not stop within {:?}; its process group was killed",
                    self.command_line, self.hang_guard
                );
            }
        }
    }

    /// Waits for the suite to end and returns what it printed. Panics if it runs for its hang
    /// guard more, after killing its process group.
    pub fn wait(self) -> Run {
        let command_line = self.command_line;
        let hang_guard = self.hang_guard;
        let output = match self.finished.recv_timeout(hang_guard) {
            Ok(output) => output.unwrap_or_else(|error| panic!("`{command_line}`: {error}")),
            Err(_) => {
                // SAFETY: signals the process group we created for this run.
                unsafe { libc::kill(-self.pid, libc::SIGKILL) };
                panic!(
                    "`{command_line}` did not finish within {hang_guard:?}; its process group was killed"
                );
            }
        };
        Run::new(command_line, output)
    }
}

/// A new pidfd for process `pid`.
#[cfg(unix)]
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: `pidfd_open` takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// What one run of a suite did: exit status, raw output, and the output parsed.
#[derive(Debug)]
pub struct Run {
    pub command_line: String,
    /// `None` when the harness was killed by a signal.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// Exactly as printed, colour included.
    pub stdout: String,
    pub stderr: String,
    /// `stdout` without colour, parsed.
    pub report: Report,
}

impl Run {
    fn new(command_line: String, output: Output) -> Self {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        Run {
            command_line,
            code: output.status.code(),
            #[cfg(unix)]
            signal: output.status.signal(),
            // A Windows process ends with an exit code only: a crash is an NTSTATUS code.
            #[cfg(windows)]
            signal: None,
            report: Report::parse(&strip_ansi(&stdout)),
            stdout,
            stderr,
        }
    }

    /// Everything about the run, for assertion messages (a flood of output cut to its ends).
    pub fn context(&self) -> String {
        format!(
            "command: {}\nexit code: {:?}, signal: {:?}\n======== stdout ========\n{}\n======== stderr ========\n{}\n========================",
            self.command_line,
            self.code,
            self.signal,
            abbreviate(&self.stdout),
            abbreviate(&self.stderr)
        )
    }

    #[track_caller]
    pub fn assert_exit_code(&self, code: i32) {
        assert_eq!(self.code, Some(code), "wrong exit code\n{}", self.context());
    }

    /// The verdict printed for `name` (`ok`, `FAILED`, `ignored`); fails if there is not exactly
    /// one.
    #[track_caller]
    pub fn verdict(&self, name: &str) -> &str {
        let verdicts: Vec<&str> = self
            .report
            .verdicts
            .iter()
            .filter(|(test, _)| test == name)
            .map(|(_, verdict)| verdict.as_str())
            .collect();
        match verdicts[..] {
            [verdict] => verdict,
            _ => panic!(
                "expected one verdict line for {name:?}, found {verdicts:?}\n{}",
                self.context()
            ),
        }
    }

    #[track_caller]
    pub fn assert_verdict(&self, name: &str, verdict: &str) {
        assert_eq!(
            self.verdict(name),
            verdict,
            "wrong verdict for {name}\n{}",
            self.context()
        );
    }

    /// `name` passed, and is not in the failures section.
    #[track_caller]
    pub fn assert_ok(&self, name: &str) {
        self.assert_verdict(name, "ok");
        assert!(
            !self.report.failures.contains_key(name),
            "{name} passed but has a failure entry\n{}",
            self.context()
        );
    }

    #[track_caller]
    pub fn assert_ignored(&self, name: &str) {
        self.assert_verdict(name, "ignored");
    }

    /// `name` failed, and the first line under `---- name ----` is exactly `reason`.
    #[track_caller]
    pub fn assert_failed(&self, name: &str, reason: &str) -> &Failure {
        let failure = self.failure(name);
        assert_eq!(
            failure.reason,
            reason,
            "wrong reason for {name}\n{}",
            self.context()
        );
        failure
    }

    /// The failure entry of `name`, which must have been reported FAILED.
    #[track_caller]
    pub fn failure(&self, name: &str) -> &Failure {
        self.assert_verdict(name, "FAILED");
        self.failure_entry(name)
    }

    /// The `---- name ----` entry of the failures section, whatever the verdict lines say (`-q`
    /// prints none; under `--nocapture` a test's output can split one).
    #[track_caller]
    pub fn failure_entry(&self, name: &str) -> &Failure {
        self.report.failures.get(name).unwrap_or_else(|| {
            panic!(
                "no `---- {name} ----` entry in the failures section\n{}",
                self.context()
            )
        })
    }

    /// The names on verdict lines, in the order printed.
    pub fn names(&self) -> Vec<&str> {
        self.report
            .verdicts
            .iter()
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// The raw stdout line after the line `line`, colour codes and all.
    pub fn raw_line_after(&self, line: &str) -> Option<&str> {
        let mut lines = self.stdout.lines();
        lines.find(|candidate| *candidate == line)?;
        lines.next()
    }

    /// The lines of one-character verdicts (and of named failures) that `-q` prints after
    /// `running N tests`.
    pub fn terse_marks(&self) -> Option<String> {
        let mut lines = self.stdout.lines();
        lines.find(|line| line.starts_with("running "))?;
        let marks: Vec<&str> = lines
            .take_while(|line| {
                !line.is_empty() && *line != "failures:" && !line.starts_with("test result: ")
            })
            .collect();
        Some(marks.join("\n"))
    }

    /// The harness's own stderr has no `panicked at` line: whatever a test does, the harness
    /// does not panic. (A test's captured output is not there: it is shown on stdout, under the
    /// test's failure.)
    #[track_caller]
    pub fn assert_harness_did_not_panic(&self) {
        let panics: Vec<&str> = self
            .stderr
            .lines()
            .filter(|line| line.contains("panicked at"))
            .collect();
        assert!(
            panics.is_empty(),
            "the harness panicked: {panics:?}\n{}",
            self.context()
        );
    }

    /// stderr's lines.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

/// `text`, or its first and last 8 KiB when it is much longer.
fn abbreviate(text: &str) -> String {
    const END: usize = 8 << 10;
    if text.len() <= 4 * END {
        return text.to_owned();
    }
    let mut head = END;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - END;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n[... {} bytes left out ...]\n{}",
        &text[..head],
        tail - head,
        &text[tail..]
    )
}
