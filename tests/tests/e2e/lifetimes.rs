//! Nothing a test starts outlives the run (fixtures/grandchildren.rs). Each fixture test leaves a
//! grandchild holding its output pipes open; the harness must still finish (`Harness::run` fails
//! a run that hangs) and the grandchild must be gone.

use isolated_test_e2e::{assert_process_ends, fixture, Run, TempDir};

/// Runs one fixture test; returns the run and the pid of the grandchild it left.
fn run_one(name: &str, extra_args: &[&str]) -> (Run, i32) {
    let pids = TempDir::new(name);
    let guard = KillIfHung { pids: &pids, name };
    let run = fixture!("grandchildren")
        .env("E2E_PID_DIR", pids.path())
        .args(["--exact", name])
        .args(extra_args)
        .run();
    drop(guard);
    let pid = pids.read_pid(name);
    (run, pid)
}

/// When a run hangs, the hang guard kills the harness's process group, which the grandchild is
/// not in: this kills the grandchild too, so a failing test leaves nothing behind.
struct KillIfHung<'a> {
    pids: &'a TempDir,
    name: &'a str,
}

impl Drop for KillIfHung<'_> {
    fn drop(&mut self) {
        let file = self.pids.path().join(format!("{}.pid", self.name));
        let pid = std::fs::read_to_string(file).ok();
        if let (true, Some(Ok(pid))) = (std::thread::panicking(), pid.map(|pid| pid.parse())) {
            // SAFETY: a plain signal to the pid the fixture test recorded.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

#[test]
fn a_grandchild_left_sleeping_is_killed() {
    let (run, pid) = run_one("leaves_a_sleeping_grandchild", &[]);
    run.assert_exit_code(0);
    run.assert_ok("leaves_a_sleeping_grandchild");
    assert_process_ends(pid, "the sleeping grandchild");
}

#[test]
fn a_forked_grandchild_holding_the_result_channel_is_killed() {
    let (run, pid) = run_one("leaves_a_forked_grandchild", &[]);
    run.assert_exit_code(0);
    run.assert_ok("leaves_a_forked_grandchild");
    assert_process_ends(pid, "the forked grandchild");
}

#[test]
fn a_grandchild_holding_the_harnesss_own_stdout_under_nocapture_is_killed() {
    // Under --nocapture the grandchild holds the pipe this driver reads: if it survived, the
    // run would never reach end of file.
    let (run, pid) = run_one("leaves_a_sleeping_grandchild", &["--nocapture"]);
    run.assert_exit_code(0);
    assert_eq!(run.report.summary.map(|summary| summary.passed), Some(1));
    assert_process_ends(pid, "the sleeping grandchild");
}

#[test]
fn a_grandchild_of_a_test_that_timed_out_is_killed() {
    let (run, pid) = run_one("times_out_with_a_grandchild", &[]);
    run.assert_exit_code(101);
    run.assert_failed(
        "times_out_with_a_grandchild",
        "timed out after 300ms; its process group was killed",
    );
    assert_process_ends(pid, "the timed-out test's grandchild");
}

#[test]
fn a_grandchild_in_its_own_process_group_is_killed_and_named() {
    // The harness kills a test's process group; a grandchild started with `process_group(0)`
    // (or `setsid`) is outside it, so the harness must find it otherwise, kill it, and say so.
    let name = "leaves_a_grandchild_in_its_own_process_group";
    let (run, pid) = run_one(name, &[]);
    run.assert_exit_code(0);
    run.assert_ok(name);
    assert_process_ends(pid, "the grandchild in its own process group");
    let warning = format!(
        "warning: {name} left process {pid} (sleep) running outside its process group; it was killed"
    );
    assert!(
        run.report.after_summary.contains(&warning),
        "no line {warning:?} after the summary\n{}",
        run.context()
    );
}
