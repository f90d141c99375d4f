//! Waiting for a suite on Windows, which has no process group to kill or pidfd to wait on.

use std::io::Read;
use std::process::{Command, Output};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a running suite is looked at: its end is noticed this late at most.
const POLL: Duration = Duration::from_millis(10);

/// Runs `command` to the end and returns what it printed. Panics if it runs for `hang_guard`,
/// after killing it: the harness keeps its tests' processes in a job that dies with it.
pub(super) fn run_to_end(mut command: Command, command_line: &str, hang_guard: Duration) -> Output {
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("could not start `{command_line}`: {error}"));
    // Read while it runs, so that a suite printing more than a pipe holds is never stuck.
    let stdout = read_to_end(child.stdout.take().expect("stdout is piped"));
    let stderr = read_to_end(child.stderr.take().expect("stderr is piped"));
    let deadline = Instant::now() + hang_guard;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("`{command_line}` did not finish within {hang_guard:?}; it was killed");
            }
            Err(error) => panic!("waiting for `{command_line}`: {error}"),
        }
    };
    Output {
        status,
        stdout: stdout.join().expect("the stdout reader does not panic"),
        stderr: stderr.join().expect("the stderr reader does not panic"),
    }
}

/// Everything `pipe` gives until its end, read on a thread of its own.
fn read_to_end(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}
