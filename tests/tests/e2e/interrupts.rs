//! Stopping the harness mid-run (fixtures/interrupts.rs, at one test thread): three tests have
//! finished and the fourth says through a FIFO that it is running, then sleeps; the driver then
//! signals the harness. SIGINT and SIGTERM end the run with a count of what finished and the
//! shell's status for the signal; SIGKILL cannot be caught, but the children die with the
//! harness. Either way, nothing the harness started remains.

use std::collections::BTreeMap;

use isolated_test_e2e::{fixture, processes_that_outlive_the_run, Fifo, Harness, Run, TempDir};

/// A run stopped by a signal, and the processes it had running then.
struct Stopped {
    run: Run,
    /// The sleeping test's process.
    sleeper: i32,
    /// The `sleep 1000` it started, when asked to.
    grandchild: Option<i32>,
}

/// What the sleeping test does before it says it runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sleeper {
    Alone,
    /// Starts `sleep 1000` in its process group.
    WithGrandchild,
    /// Leaves its process group for the harness's.
    InTheHarnessGroup,
}

/// Runs the suite, waits until its last test sleeps, sends `signal` to the harness, and waits
/// for the harness to end.
fn stop_mid_run(signal: i32, sleeper: Sleeper) -> Stopped {
    stop_mid_run_as(fixture!("interrupts"), &[signal], sleeper, |_| {})
}

/// [`stop_mid_run`] for `harness`, sending each of `signals` in turn, after `check` has looked
/// at the sleeping test's process.
fn stop_mid_run_as(
    harness: Harness,
    signals: &[i32],
    sleeper: Sleeper,
    check: impl FnOnce(i32),
) -> Stopped {
    let dir = TempDir::new("interrupts");
    let fifo = Fifo::create(dir.path().join("ready"));
    let mut harness = harness
        .env("E2E_READY_FIFO", fifo.path())
        .args(["--test-threads=1"]);
    match sleeper {
        Sleeper::Alone => {}
        Sleeper::WithGrandchild => harness = harness.env("E2E_WITH_GRANDCHILD", "1"),
        Sleeper::InTheHarnessGroup => harness = harness.env("E2E_JOIN_HARNESS_GROUP", "1"),
    }
    let running = harness.spawn();
    let Some(line) = fifo.read_line_while(&running) else {
        let run = running.wait();
        panic!(
            "the harness ended before its last test said it runs\n{}",
            run.context()
        );
    };
    let (sleeper, grandchild) = parse_ready_line(&line);
    // Should the harness outlive the hang guard, `wait` kills its process group; these two are
    // in the sleeping test's group (or the harness's), which this guard kills.
    let _guard = KillIfPanicking(sleeper);
    check(sleeper);
    for &signal in signals {
        running.signal(signal);
    }
    let run = running.wait();
    Stopped {
        run,
        sleeper,
        grandchild: (grandchild != 0).then_some(grandchild),
    }
}

/// Ctrl-Z at the terminal stops the whole run, as under libtest, where the tests are threads of
/// the stopped process: the harness stops every test's process group (none of them is the
/// terminal's foreground group, which the keys reach) before it stops itself, and `fg` (SIGCONT
/// to the harness) lets them go on. The time stopped does not count against a timeout.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_z_at_the_terminal_stops_every_test_with_the_harness_and_fg_goes_on() {
    let dir = TempDir::new("ctrl-z");
    let ready = Fifo::create(dir.path().join("ready"));
    let go = Fifo::create(dir.path().join("go"));
    let terminal = isolated_test_e2e::Terminal::open();
    let running = fixture!("interrupts")
        .env("E2E_READY_FIFO", ready.path())
        .env("E2E_GO_FIFO", go.path())
        .args(["--test-threads=1"])
        .in_terminal(&terminal)
        .spawn();
    let _harness_guard = KillIfPanicking(running.pid());
    let line = ready
        .read_line_while(&running)
        .expect("the last test says it runs");
    let (sleeper, _) = parse_ready_line(&line);
    let _guard = KillIfPanicking(sleeper);
    terminal.type_ctrl_z();
    running.wait_until_stopped();
    assert_eq!(
        process_state(sleeper),
        Some('T'),
        "the test ran on while the harness was stopped"
    );
    running.signal(libc::SIGCONT);
    std::fs::write(go.path(), "go\n").expect("the go line is written");
    let run = running.wait();
    run.assert_exit_code(101);
    run.assert_ok("d_sleeps_until_interrupted");
}

/// The state letter of process `pid` (`R`, `S`, `T` for stopped...), from /proc.
#[cfg(target_os = "linux")]
fn process_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command's name, in parentheses that may hold anything but a last `)`.
    stat.rsplit_once(") ")?.1.chars().next()
}

/// `PID GRANDCHILD_PID`, as the sleeping test writes it.
fn parse_ready_line(line: &str) -> (i32, i32) {
    let pids: Vec<i32> = line
        .split(' ')
        .map(|pid| {
            pid.parse()
                .unwrap_or_else(|_| panic!("not a pid in {line:?}"))
        })
        .collect();
    match pids[..] {
        [sleeper, grandchild] => (sleeper, grandchild),
        _ => panic!("expected `PID GRANDCHILD_PID`, got {line:?}"),
    }
}

struct KillIfPanicking(i32);

impl Drop for KillIfPanicking {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // SAFETY: plain signals to the sleeping test's process group and the test itself.
            unsafe {
                libc::kill(-self.0, libc::SIGKILL);
                libc::kill(self.0, libc::SIGKILL);
            }
        }
    }
}

impl Stopped {
    /// Nothing the harness started is still running.
    #[track_caller]
    fn assert_nothing_remains(&self) {
        let mut pids = vec![self.sleeper];
        pids.extend(self.grandchild);
        let survivors = processes_that_outlive_the_run(&pids);
        assert!(
            survivors.is_empty(),
            "left running (since killed): {survivors:?}; the sleeping test was {}, its grandchild {:?}\n{}",
            self.sleeper,
            self.grandchild,
            self.run.context()
        );
    }

    /// The summary of an interrupted run: `test result: interrupted by SIGNAL.`, then counts,
    /// which must be those of three tests finished (two passed, one failed) and one not.
    #[track_caller]
    fn assert_interrupted_summary(&self, signal_name: &str) {
        let run = &self.run;
        let prefix = format!("test result: interrupted by {signal_name}.");
        let line = run
            .stdout
            .lines()
            .find(|line| line.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?}\n{}", run.context()));
        let counts: BTreeMap<&str, usize> = line[prefix.len()..]
            .split(';')
            .filter_map(|part| {
                let (number, what) = part.trim().split_once(' ')?;
                Some((what, number.parse().ok()?))
            })
            .collect();
        let count = |what: &str| counts.get(what).copied();
        assert!(
            count("passed") == Some(2)
                && count("failed") == Some(1)
                && count("did not finish") == Some(1)
                && matches!(count("ignored"), None | Some(0)),
            "expected 2 passed, 1 failed, 0 ignored, 1 did not finish in {line:?}\n{}",
            run.context()
        );
        run.assert_verdict("a_passes", "ok");
        run.assert_verdict("b_passes", "ok");
        run.assert_verdict("c_fails", "FAILED");
    }
}

/// Stops the run with `signal` and checks it ends as libtest's would for it: every child
/// killed, a count of what finished, exit status 128 + `signal`.
#[track_caller]
fn assert_stopped_cleanly(signal: i32, name: &str, sleeper: Sleeper) {
    let stopped = stop_mid_run(signal, sleeper);
    stopped.assert_nothing_remains();
    stopped.assert_interrupted_summary(name);
    stopped.run.assert_exit_code(128 + signal);
    stopped.run.assert_harness_did_not_panic();
}

#[test]
fn sigint_mid_run_kills_every_child_reports_what_finished_and_exits_130() {
    assert_stopped_cleanly(libc::SIGINT, "SIGINT", Sleeper::WithGrandchild);
}

#[test]
fn sigterm_mid_run_kills_every_child_reports_what_finished_and_exits_143() {
    assert_stopped_cleanly(libc::SIGTERM, "SIGTERM", Sleeper::WithGrandchild);
}

#[test]
fn sighup_mid_run_ends_it_like_sigterm_and_exits_129() {
    assert_stopped_cleanly(libc::SIGHUP, "SIGHUP", Sleeper::WithGrandchild);
}

#[test]
fn sigquit_mid_run_ends_it_like_sigterm_and_exits_131() {
    assert_stopped_cleanly(libc::SIGQUIT, "SIGQUIT", Sleeper::WithGrandchild);
}

#[test]
fn sigterm_ends_the_run_when_a_test_left_its_group_for_the_harnesss() {
    assert_stopped_cleanly(libc::SIGTERM, "SIGTERM", Sleeper::InTheHarnessGroup);
}

/// Under `nohup`, SIGHUP stays ignored: sent before SIGTERM, it would otherwise be the one that
/// ends the run (pending standard signals are taken lowest first) and the status would be 129.
#[test]
fn a_harness_started_under_nohup_keeps_sighup_ignored_in_itself_and_its_children() {
    let stopped = stop_mid_run_as(
        fixture!("interrupts").started_ignoring(libc::SIGHUP),
        &[libc::SIGHUP, libc::SIGTERM],
        Sleeper::Alone,
        |sleeper| {
            let ignored = ignored_signals(sleeper);
            assert!(
                ignored & (1 << (libc::SIGHUP - 1)) != 0,
                "the sleeping test {sleeper} does not ignore SIGHUP (SigIgn {ignored:#x})"
            );
        },
    );
    stopped.assert_nothing_remains();
    stopped.assert_interrupted_summary("SIGTERM");
    stopped.run.assert_exit_code(128 + libc::SIGTERM);
    stopped.run.assert_harness_did_not_panic();
}

/// A suite of 201 tests at one thread is forked from a zygote made before the harness's signal
/// handlers: its tests find SIGHUP as the harness did, ignored under `nohup`, default otherwise.
#[test]
fn tests_forked_from_a_zygote_find_sighup_as_the_harness_did() {
    for (ignored, expected) in [(true, "ignored"), (false, "default")] {
        let mut harness = fixture!("many")
            .env("E2E_SIGHUP", expected)
            .args(["--test-threads=1"]);
        if ignored {
            harness = harness.started_ignoring(libc::SIGHUP);
        }
        let run = harness.run();
        run.assert_verdict("sighup::is_as_the_harness_found_it", "ok");
        run.assert_exit_code(0);
    }
}

/// `--format json` stopped by SIGTERM: stdout holds the JSON events of what finished and no
/// more; the closing lines a person reads (the failures so far, the count) go to stderr.
#[test]
fn sigterm_under_json_leaves_stdout_json_and_says_the_rest_on_stderr() {
    let harness = fixture!("interrupts").env("RUSTC_BOOTSTRAP", "1").args([
        "-Zunstable-options",
        "--format",
        "json",
    ]);
    let stopped = stop_mid_run_as(harness, &[libc::SIGTERM], Sleeper::Alone, |_| {});
    let run = &stopped.run;
    stopped.assert_nothing_remains();
    run.assert_exit_code(128 + libc::SIGTERM);
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|_| panic!("not a JSON event: {line:?}\n{}", run.context()))
        })
        .collect();
    let last = events.last().expect("events");
    assert_eq!(last["event"], "started", "{}", run.context());
    assert_eq!(
        last["name"],
        "d_sleeps_until_interrupted",
        "{}",
        run.context()
    );
    assert!(
        run.stderr.contains(
            "\ntest result: interrupted by SIGTERM. 2 passed; 1 failed; 0 ignored; 1 did not finish; finished in "
        ) && run.stderr.contains("\nfailures:\n    c_fails\n"),
        "{}",
        run.context()
    );
}

/// The mask of signals `pid` ignores, from `/proc/PID/status`.
fn ignored_signals(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|error| panic!("/proc/{pid}/status: {error}"));
    let mask = status
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))
        .unwrap_or_else(|| panic!("no SigIgn line in /proc/{pid}/status"));
    u64::from_str_radix(mask.trim(), 16).unwrap_or_else(|_| panic!("not a mask: {mask:?}"))
}

#[test]
fn a_sigkilled_harness_takes_its_children_with_it() {
    let stopped = stop_mid_run(libc::SIGKILL, Sleeper::Alone);
    assert_eq!(
        stopped.run.signal,
        Some(libc::SIGKILL),
        "{}",
        stopped.run.context()
    );
    stopped.assert_nothing_remains();
}
