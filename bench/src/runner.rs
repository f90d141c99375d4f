//! The runners compared, and one timed run of a suite under one of them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::cargo::Nextest;
use crate::Subset;

/// How the tests of a suite are run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// libtest, every test on a thread of one process: the baseline, no isolation.
    Libtest,
    /// isolated-test's default (fork) backend: a forked child per test.
    Isolated,
    /// isolated-test's exec backend (`ISOLATED_TEST_BACKEND=exec`): the isolated-test binary
    /// executed again (fork + exec) for each test, as cargo-nextest starts it.
    IsolatedExec,
    /// rusty-fork under libtest: each test spawns (fork + exec) a copy of the test binary that
    /// runs that one test.
    RustyFork,
    /// cargo-nextest running the libtest binary: a process (fork + exec) per test.
    Nextest,
}

/// A runner at a parallelism.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Runner {
    pub kind: Kind,
    /// `--test-threads`: tests (or children) in flight at once.
    pub threads: usize,
}

/// Every runner, in the order each round runs them.
pub const RUNNERS: [Runner; 7] = [
    Runner::new(Kind::Libtest, 1),
    Runner::new(Kind::Isolated, 1),
    Runner::new(Kind::Libtest, 2),
    Runner::new(Kind::Isolated, 2),
    Runner::new(Kind::IsolatedExec, 2),
    Runner::new(Kind::RustyFork, 2),
    Runner::new(Kind::Nextest, 2),
];

impl Runner {
    const fn new(kind: Kind, threads: usize) -> Self {
        Self { kind, threads }
    }

    /// Its name in the table and the JSON.
    pub fn name(self) -> &'static str {
        match self.kind {
            Kind::Libtest => "libtest",
            Kind::Isolated => "isolated-test",
            Kind::IsolatedExec => "isolated-test exec",
            Kind::RustyFork => "rusty-fork",
            Kind::Nextest => "cargo-nextest",
        }
    }

    /// `isolated-test j2`.
    pub fn label(self) -> String {
        format!("{} j{}", self.name(), self.threads)
    }
}

/// The three binaries of a suite: the same tests written for each kind of runner.
pub struct SuiteTargets<'a> {
    pub libtest: &'a str,
    pub isolated: &'a str,
    pub rusty_fork: &'a str,
}

/// The command that runs the suite (its subset `filter`) under `runner`, or `None` if that runner
/// cannot run here. `executables` maps each test target to its built binary.
pub fn command(
    runner: Runner,
    targets: &SuiteTargets,
    executables: &HashMap<String, PathBuf>,
    nextest: Option<&Nextest>,
    filter: Option<&str>,
) -> Option<Command> {
    let target = match runner.kind {
        Kind::Libtest | Kind::Nextest => targets.libtest,
        Kind::Isolated | Kind::IsolatedExec => targets.isolated,
        Kind::RustyFork => targets.rusty_fork,
    };
    if runner.kind != Kind::Nextest {
        let mut command = test_binary(&executables[target], filter, runner.threads);
        if runner.kind == Kind::IsolatedExec {
            command.env("ISOLATED_TEST_BACKEND", "exec");
        }
        return Some(command);
    }
    let mut command = nextest?.run_command(target, runner.threads, filter);
    clean_env(&mut command);
    Some(command)
}

/// The command that runs a test binary itself (libtest's or isolated-test's harness) on the
/// tests `filter` selects, at `--test-threads=threads`, in a clean environment.
pub fn test_binary(executable: &Path, filter: Option<&str>, threads: usize) -> Command {
    let mut command = Command::new(executable);
    command.args(filter);
    command.arg(format!("--test-threads={threads}"));
    clean_env(&mut command);
    command
}

/// Removes what, in the caller's environment, would change how a runner behaves.
pub fn clean_env(command: &mut Command) {
    for variable in [
        "RUST_TEST_THREADS",
        "RUST_TEST_NOCAPTURE",
        "ISOLATED_TEST_TIMEOUT",
        "ISOLATED_TEST_LEAK_LIMIT",
        "ISOLATED_TEST_SELF_CHECK",
        "ISOLATED_TEST_BACKEND",
        "NEXTEST_PROFILE",
        "NEXTEST_RETRIES",
        "NEXTEST_TEST_THREADS",
    ] {
        command.env_remove(variable);
    }
}

/// [`run`]'s wall time, where every test of `subset` passed; `what` (the runner and the suite)
/// names the run in the error.
pub fn run_subset(
    runner: Runner,
    command: Command,
    subset: Subset,
    what: &str,
) -> Result<Duration, String> {
    let timed = run(runner, command)?;
    if timed.passed != subset.tests {
        return Err(format!(
            "{what} passed {} tests, expected {} (filter {:?})",
            timed.passed, subset.tests, subset.filter
        ));
    }
    Ok(timed.wall)
}

/// One timed run: its wall time (spawn to exit) and the number of tests it says passed.
pub struct Timed {
    pub wall: Duration,
    pub passed: usize,
}

/// Runs `command` to its end, capturing its output, and reads the pass count from its summary.
/// A run that fails, or says nothing about how many tests passed, is an error.
pub fn run(runner: Runner, mut command: Command) -> Result<Timed, String> {
    let started = Instant::now();
    let output = command
        .output()
        .map_err(|error| format!("cannot run {command:?}: {error}"))?;
    let wall = started.elapsed();
    let passed = match runner.kind {
        Kind::Nextest => nextest_passed(&output.stderr),
        _ => libtest_passed(&output.stdout),
    };
    match passed {
        Some(passed) if output.status.success() => Ok(Timed { wall, passed }),
        _ => Err(format!(
            "{} failed ({}): {command:?}\n--- stdout (end) ---\n{}\n--- stderr (end) ---\n{}",
            runner.label(),
            output.status,
            tail(&output.stdout),
            tail(&output.stderr)
        )),
    }
}

/// `N` from libtest's (and isolated-test's) `test result: ok. N passed; 0 failed; ...`.
pub fn libtest_passed(stdout: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(stdout);
    let summary = text
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("test result: "))?;
    count_before(summary, " passed")
}

/// `N` from cargo-nextest's `Summary [ 1.234s] 100 tests run: N passed, 900 skipped`.
fn nextest_passed(stderr: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(stderr);
    let summary = text
        .lines()
        .rev()
        .find(|line| line.trim_start().starts_with("Summary ["))?;
    let counts = summary.split_once(" run: ")?.1;
    count_before(counts, " passed")
}

/// The number just before the first `label` in `text`: `count_before("3 passed", " passed")`.
pub fn count_before(text: &str, label: &str) -> Option<usize> {
    let before = &text[..text.find(label)?];
    let digits = before
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .filter(|digits| !digits.is_empty())?;
    digits.parse().ok()
}

/// The last lines of a captured stream, for an error message.
pub fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// How a child that this process spawned ended, as `wait4` reports it.
pub struct Reaped {
    /// The raw wait status.
    pub status: libc::c_int,
    /// `ru_maxrss` in KiB: the largest resident set of the child and of every descendant it
    /// reaped (a test's child, a zygote), which is why it is read here and not in `/proc`.
    pub peak_rss_kb: u64,
}

impl Reaped {
    pub fn exited_cleanly(&self) -> bool {
        libc::WIFEXITED(self.status) && libc::WEXITSTATUS(self.status) == 0
    }
}

/// Waits for the child `pid` with `wait4`, which std's `Child::wait` does not expose: only it
/// returns the child's rusage. `pid` must be a child of this process that nothing reaped yet.
pub fn reap(pid: libc::pid_t) -> Result<Reaped, String> {
    let mut status = 0;
    // SAFETY: all-zero bytes are a valid `rusage` (plain integers).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `usage` are valid places for wait4 to write to; a `pid` that is not
        // our unreaped child only makes it fail.
        if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(format!("wait4: {error}"));
        }
    }
    Ok(Reaped {
        status,
        peak_rss_kb: u64::try_from(usage.ru_maxrss).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pass_counts() {
        let libtest = b"test a ... ok\n\ntest result: ok. 100 passed; 0 failed; 0 ignored; 0 measured; 900 filtered out; finished in 0.05s\n\n";
        assert_eq!(libtest_passed(libtest), Some(100));
        let nextest = b"        PASS [   0.008s] (100/100) bench::trivial t_0::t99\n\xe2\x94\x80\n     Summary [   0.390s] 100 tests run: 100 passed, 900 skipped\n";
        assert_eq!(nextest_passed(nextest), Some(100));
        let one = b"     Summary [   0.010s] 1 test run: 1 passed, 999 skipped\n";
        assert_eq!(nextest_passed(one), Some(1));
        assert_eq!(libtest_passed(b"error: no tests\n"), None);
    }
}
