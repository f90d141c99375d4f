//! Constant cost as a suite grows: does the 10,000th test cost what the 1st did, and how much
//! memory does the harness hold at the end of a long run?
//!
//! One isolated-test run of many trivial tests at `--test-threads=2`. The harness prints one
//! `test NAME ... ok` line per test as it finishes; the bench timestamps each line as it arrives
//! on the pipe and compares the time the first `window` tests took (1st to `window`th line) with
//! the time the last `window` took. A harness that keeps state per finished test (a growing
//! table, a leaked descriptor, an ever longer poll set) shows as a ratio above 1.
//!
//! Peak memory is `ru_maxrss` of the rusage that `wait4` returns for the harness. That figure is
//! the larger of the harness's own peak and that of any child it reaped; the children here are
//! trivial tests, forks of the harness that touch almost nothing, so it is the harness's peak.
//! The harness's resident set is also sampled (`VmRSS`) after the first window and before the
//! end, which shows growth over the run on its own.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::runner::{libtest_passed, reap};

/// What one long run showed.
pub struct Scaling {
    pub tests: usize,
    pub window: usize,
    pub wall: Duration,
    /// Time from the 1st to the `window`th `ok` line.
    pub first: Duration,
    /// Time from the `tests - window + 1`th to the last `ok` line.
    pub last: Duration,
    /// `ru_maxrss` of the harness, in KiB.
    pub peak_rss_kb: u64,
    /// The harness's `VmRSS` when the first window ended and when the last test finished, in KiB.
    pub rss_kb_first_window: Option<u64>,
    pub rss_kb_end: Option<u64>,
}

impl Scaling {
    /// How much longer the last window took than the first: 1.0 is a constant cost per test.
    pub fn last_vs_first(&self) -> f64 {
        self.last.as_secs_f64() / self.first.as_secs_f64()
    }
}

/// Runs `executable` (an isolated-test suite) at `--test-threads=2`, selecting `filter`, expecting
/// `expected` tests to pass, and times its first and last `window` tests.
pub fn measure(
    executable: &Path,
    filter: Option<&str>,
    expected: usize,
    window: usize,
) -> Result<Scaling, String> {
    assert!(
        window >= 2 && window <= expected,
        "a window of {window} in {expected} tests"
    );
    let started = Instant::now();
    let mut child = Command::new(executable)
        .args(filter)
        .arg("--test-threads=2")
        .env_remove("ISOLATED_TEST_SELF_CHECK")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|error| format!("cannot run {}: {error}", executable.display()))?;
    let pid = child.id() as libc::pid_t;

    let mut finished = Vec::with_capacity(expected);
    let mut transcript = Vec::new();
    let (mut rss_kb_first_window, mut rss_kb_end) = (None, None);
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).split(b'\n') {
        let line = line.map_err(|error| format!("reading the harness's output: {error}"))?;
        if line.starts_with(b"test ") && line.ends_with(b" ... ok") {
            finished.push(Instant::now());
            if finished.len() == window {
                rss_kb_first_window = resident_kb(pid);
            } else if finished.len() == expected {
                rss_kb_end = resident_kb(pid);
            }
        } else {
            transcript.extend_from_slice(&line);
            transcript.push(b'\n');
        }
    }

    // `pid` is our child and std's `Child` is never waited on here, so it is not reaped yet.
    let reaped = reap(pid)?;
    let wall = started.elapsed();
    let passed = libtest_passed(&transcript);
    if !reaped.exited_cleanly() || passed != Some(expected) || finished.len() != expected {
        return Err(format!(
            "the {expected}-test scaling run ended with status {:#x}, {} ok lines, summary \
             says {passed:?} passed:\n{}",
            reaped.status,
            finished.len(),
            String::from_utf8_lossy(&transcript)
        ));
    }
    Ok(Scaling {
        tests: expected,
        window,
        wall,
        first: finished[window - 1] - finished[0],
        last: finished[expected - 1] - finished[expected - window],
        peak_rss_kb: reaped.peak_rss_kb,
        rss_kb_first_window,
        rss_kb_end,
    })
}

/// `VmRSS` of a live process, in KiB (Linux).
fn resident_kb(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let value = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    value.trim().trim_end_matches("kB").trim().parse().ok()
}
