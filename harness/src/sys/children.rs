//! What the kernel says of a process's children and threads through `/proc`: which children
//! this process has, how long a child's threads waited for a processor. These allocate, and run
//! in the harness only.

use std::time::Duration;

use nix::unistd::Pid;

/// This process's children, where the kernel lists them: per thread, so every thread's (a
/// test's child has its parked main thread, which orphans are handed to, and the test's).
pub(crate) fn own_children() -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut children: Vec<i32> = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    children.sort_unstable();
    children
}

/// The longest any thread of process `pid` has waited, in all, on a run queue for a processor
/// (`/proc/PID/task/TID/schedstat`'s second field, counted from the thread's start); `None`
/// where the kernel does not say.
pub(crate) fn longest_cpu_wait(pid: Pid) -> Option<Duration> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    tasks
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            stat.split_whitespace().nth(1)?.parse().ok()
        })
        .max()
        .map(Duration::from_nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_a_processor_are_read_for_a_process_that_exists() {
        let own = Pid::from_raw(std::process::id() as i32);
        assert!(longest_cpu_wait(own).is_some());
        assert_eq!(longest_cpu_wait(Pid::from_raw(i32::MAX)), None);
    }
}
