//! Checking that processes a test left behind are gone.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::run::{pidfd_open, HANG_GUARD};

/// Waits until process `pid` has ended, and panics if it is still running after [`HANG_GUARD`]
/// (killing it first, so a failing run leaves nothing behind).
///
/// The harness SIGKILLs a test's leftover processes before it exits, but a killed process dies
/// when the kernel next schedules it, possibly just after the harness has gone; so this waits on
/// a pidfd, which turns readable the moment the process has ended, rather than looking once.
/// An ended process may linger as a zombie (state `Z`) until whoever inherited it reaps it: that
/// counts as ended.
#[track_caller]
pub fn assert_process_ends(pid: i32, what: &str) {
    if let [survivor] = &processes_that_outlive(&[pid], HANG_GUARD)[..] {
        panic!("{what} {survivor}");
    }
}

/// A process that was still running when it should have ended. It has been killed since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Survivor {
    pub pid: i32,
    /// Its state letter from `/proc/PID/stat` when the wait gave up.
    pub state: Option<char>,
}

impl std::fmt::Display for Survivor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "(pid {}) outlived the run: still in state {:?} {HANG_GUARD:?} after the harness exited",
            self.pid, self.state
        )
    }
}

/// The processes of process group `group` now, by `/proc/PID/stat`.
pub fn processes_in_group(group: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            // `PID (COMM) STATE PPID PGRP ...`: COMM may hold spaces and parentheses.
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let after = stat.rfind(')').map_or("", |close| &stat[close + 1..]);
            after.split_whitespace().nth(2) == Some(group.to_string().as_str())
        })
        .collect()
}

/// Waits, all under one [`HANG_GUARD`] deadline, for every process in `pids` to end; returns
/// those that did not, after SIGKILLing them so that a failing run leaves nothing behind.
pub fn processes_that_outlive_the_run(pids: &[i32]) -> Vec<Survivor> {
    processes_that_outlive(pids, HANG_GUARD)
}

fn processes_that_outlive(pids: &[i32], limit: Duration) -> Vec<Survivor> {
    let survivors: Vec<Survivor> = wait_for_ends(pids, limit)
        .into_iter()
        .map(|(pid, state)| Survivor { pid, state })
        .collect();
    for survivor in &survivors {
        // SAFETY: a plain signal to a pid that was alive a moment ago.
        unsafe { libc::kill(survivor.pid, libc::SIGKILL) };
    }
    survivors
}

/// Waits up to `limit` in all for each of `pids` to end; returns those still running, with
/// their states.
fn wait_for_ends(pids: &[i32], limit: Duration) -> Vec<(i32, Option<char>)> {
    let deadline = Instant::now() + limit;
    let mut waiting: Vec<(i32, OwnedFd)> = Vec::new();
    for &pid in pids {
        match pidfd_open(pid) {
            Ok(pidfd) => waiting.push((pid, pidfd)),
            // No such process: it has ended and been reaped.
            Err(error) if error.raw_os_error() == Some(libc::ESRCH) => {}
            Err(error) => panic!("pidfd_open({pid}): {error}"),
        }
    }
    while !waiting.is_empty() {
        let mut polls: Vec<libc::pollfd> = waiting
            .iter()
            .map(|(_, pidfd)| libc::pollfd {
                fd: pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let left = deadline.saturating_duration_since(Instant::now());
        // SAFETY: a live array of pollfd structs of the length given.
        let ready = unsafe {
            libc::poll(
                polls.as_mut_ptr(),
                polls.len() as libc::nfds_t,
                left.as_millis().min(i32::MAX as u128) as i32,
            )
        };
        if ready < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        if ready <= 0 {
            break;
        }
        let mut index = 0;
        waiting.retain(|(pid, _)| {
            let ended = polls[index].revents != 0;
            index += 1;
            if ended {
                let state = process_state(*pid);
                assert!(
                    matches!(state, None | Some('Z' | 'X')),
                    "pid {pid} ended, yet /proc says its state is {state:?}"
                );
            }
            !ended
        });
    }
    waiting
        .into_iter()
        .map(|(pid, _)| (pid, process_state(pid)))
        .collect()
}

/// The state letter from `/proc/PID/stat` (`R`, `S`, `Z`, ...), `None` if there is no such
/// process.
fn process_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `PID (COMM) STATE ...`; COMM may itself contain ") ".
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.chars().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn a_killed_unreaped_child_has_ended() {
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        child.kill().unwrap();
        // Not reaped yet: a zombie, which counts as ended.
        assert_eq!(wait_for_ends(&[child.id() as i32], HANG_GUARD), []);
        child.wait().unwrap();
    }

    #[test]
    fn a_running_process_has_not_ended() {
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        let pid = child.id() as i32;
        let result = wait_for_ends(&[pid], Duration::ZERO);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            matches!(result[..], [(p, Some(_))] if p == pid),
            "{result:?}"
        );
    }
}
