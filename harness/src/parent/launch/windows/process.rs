//! A started child as the watcher holds it on Windows: the process and the Job Object it and
//! everything it starts are in; killed with the job, and reaped into the typed end a Unix child
//! is reaped into. A crash ends a Windows process with the exception's status as its exit code,
//! which the reasons name ([`exception_name`](crate::sys::windows::exit_codes::exception_name)).

use std::os::windows::io::{AsRawHandle, OwnedHandle};
use std::time::Duration;

use windows_sys::Win32::Foundation::{FILETIME, WAIT_OBJECT_0};
use windows_sys::Win32::System::Threading::{GetProcessTimes, WaitForSingleObject, INFINITE};

use crate::outcome::{ChildEnd, SignalNumber, Usage};
use crate::sys::windows::exit_codes::KILLED_BY_HARNESS;
use crate::sys::windows::job::Job;
use crate::sys::windows::pipe_reader;
use crate::sys::Pid;

/// A child process of this one, in a job of its own, not reaped yet.
#[derive(Debug)]
pub(crate) struct ChildProcess {
    child: std::process::Child,
    job: Job,
}

/// How a reaped child ended and what it used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reaped {
    pub(crate) end: ChildEnd,
    /// `None` where it could not be reaped.
    pub(crate) usage: Option<Usage>,
}

impl ChildProcess {
    /// `child`, which is in `job`; the supervisor hears of its end ([`pipe_reader::announce`])
    /// from a thread that waits for it.
    pub(crate) fn watch(child: std::process::Child, job: Job) -> std::io::Result<Self> {
        let process: OwnedHandle =
            std::os::windows::io::AsHandle::as_handle(&child).try_clone_to_owned()?;
        std::thread::Builder::new()
            .name("isolated-test exit watcher".into())
            .spawn(move || {
                // SAFETY: the thread owns its copy of the process handle for the wait.
                unsafe { WaitForSingleObject(process.as_raw_handle(), INFINITE) };
                pipe_reader::announce();
            })?;
        Ok(Self { child, job })
    }

    pub(crate) fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Whether it has ended.
    pub(crate) fn has_ended(&self) -> bool {
        // SAFETY: the child's handle is open while `self` lives; a zero wait only looks.
        unsafe { WaitForSingleObject(self.child.as_raw_handle(), 0) == WAIT_OBJECT_0 }
    }

    /// Kills it and everything in its job.
    pub(crate) fn kill_tree(&self) {
        self.job.terminate(KILLED_BY_HARNESS);
    }

    /// Kills what is left in its job once it ended.
    pub(crate) fn kill_leftovers(&self) {
        self.job.terminate(KILLED_BY_HARNESS);
    }

    /// Windows stops no process by a signal.
    pub(crate) fn stopped_by(&self) -> Option<SignalNumber> {
        None
    }

    /// Not told on Windows.
    pub(crate) fn longest_cpu_wait(&self) -> Option<Duration> {
        None
    }

    /// Reaps it, once it has ended or been killed: its exit code and its processor time.
    pub(crate) fn reap(mut self) -> Reaped {
        let Ok(status) = self.child.wait() else {
            return Reaped {
                end: ChildEnd::NotReaped,
                usage: None,
            };
        };
        let usage = processor_time(&self.child).map(|(user, system)| Usage {
            max_rss_bytes: peak_working_set(&self.child),
            user,
            system,
        });
        Reaped {
            end: ChildEnd::Exited(status.code().unwrap_or(i32::MIN)),
            usage,
        }
    }
}

/// The most memory an ended process had in RAM at once: its peak working set, Windows' word for
/// the maximum resident set size.
fn peak_working_set(child: &std::process::Child) -> u64 {
    use windows_sys::Win32::System::ProcessStatus::{
        K32GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS,
    };
    // SAFETY: all-zero is a valid value of this plain C struct.
    let mut counters: PROCESS_MEMORY_COUNTERS = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of_val(&counters) as u32;
    // SAFETY: the handle is open while `child` lives; `counters` is ours, of the size given.
    let read = unsafe { K32GetProcessMemoryInfo(child.as_raw_handle(), &mut counters, size) };
    if read == 0 {
        return 0;
    }
    counters.PeakWorkingSetSize as u64
}

/// The user and kernel time an ended process ran.
fn processor_time(child: &std::process::Child) -> Option<(Duration, Duration)> {
    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
    // SAFETY: the handle is open while `child` lives; the four FILETIMEs are ours to fill.
    let read = unsafe {
        GetProcessTimes(
            child.as_raw_handle(),
            &mut created,
            &mut exited,
            &mut kernel,
            &mut user,
        )
    };
    // In units of 100 ns.
    let time = |t: FILETIME| {
        Duration::from_nanos(
            ((u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime)) * 100,
        )
    };
    (read != 0).then(|| (time(user), time(kernel)))
}
