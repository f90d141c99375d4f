//! Processes that escape a test's process group (`setsid`, `setpgid`, a daemon's double fork).
//!
//! Killing a test's process group reaches everything it started except these. On Linux the
//! harness is a child subreaper, so when an escaped process's parent dies it becomes the
//! harness's child: after each test the harness looks at its own children, and kills and reaps
//! every one that is not a running test or a member of one's group.

use std::collections::HashSet;

use nix::unistd::Pid;

use crate::outcome::Escapee;
use crate::sys;

/// Makes orphaned descendants of this process its own children (Linux only).
pub(crate) fn become_subreaper() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = nix::sys::prctl::set_child_subreaper(true);
}

/// What `/proc/PID/stat` says of a process.
#[derive(Debug, PartialEq, Eq)]
struct ProcStat {
    command: String,
    state: char,
    group: i32,
}

fn parse_stat(text: &str) -> Option<ProcStat> {
    // `PID (COMM) STATE PPID PGRP ...`; COMM may itself hold spaces and parentheses.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let command = text.get(open + 1..close)?.to_owned();
    let mut fields = text.get(close + 1..)?.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _parent = fields.next()?;
    let group = fields.next()?.parse().ok()?;
    Some(ProcStat {
        command,
        state,
        group,
    })
}

fn stat_of(pid: i32) -> Option<ProcStat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// How many children this process has, where the kernel says.
pub(crate) fn child_count() -> usize {
    sys::children::own_children().len()
}

/// Remembers the groups of finished tests, whose stragglers are killed with their group and need
/// only reaping.
#[derive(Default)]
pub(crate) struct OrphanSweeper {
    finished_groups: HashSet<i32>,
}

impl OrphanSweeper {
    /// A test's group was killed: processes still found in it were not escapes.
    pub(crate) fn group_finished(&mut self, group: i32) {
        self.finished_groups.insert(group);
    }

    /// Kills and reaps every child of the harness that `is_running_test` does not claim (by pid
    /// or process group); returns those that had escaped a test's process group alive.
    pub(crate) fn sweep(&mut self, is_running_test: impl Fn(i32) -> bool) -> Vec<Escapee> {
        let mut escapees = Vec::new();
        for pid in sys::children::own_children() {
            if is_running_test(pid) {
                continue;
            }
            let Some(stat) = stat_of(pid) else { continue };
            if is_running_test(stat.group) {
                // Orphaned inside a running test's group: it goes when that group does.
                continue;
            }
            let escaped = stat.state != 'Z' && !self.finished_groups.contains(&stat.group);
            // A process that leads its own group takes that group with it.
            sys::reap::kill_and_reap(Pid::from_raw(pid));
            if stat.group == pid {
                self.finished_groups.insert(pid);
            }
            if escaped {
                escapees.push(Escapee {
                    pid,
                    command: stat.command,
                });
            }
        }
        escapees
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_even_with_odd_names() {
        let stat = parse_stat("4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 ...").unwrap();
        assert_eq!(
            stat,
            ProcStat {
                command: "my (odd) cmd".to_owned(),
                state: 'S',
                group: 4242,
            }
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_is_described() {
        let stat = stat_of(std::process::id() as i32).unwrap();
        assert_eq!(stat.group, nix::unistd::getpgrp().as_raw());
    }
}
