//! A Job Object per test's child: the child and everything it starts are in it (a process a
//! job's member starts joins the job), so the harness kills the whole tree with one call, and the
//! system kills it when the harness's handle closes, however the harness ends. The job also
//! ends a member that crashed at once, without the error-reporting dialog that would keep it.

use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle, RawHandle};

use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation,
    SetInformationJobObject, TerminateJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
};
use windows_sys::Win32::System::Threading::GetCurrentProcess;

/// A job whose members die when it is closed.
#[derive(Debug)]
pub(crate) struct Job(OwnedHandle);

impl Job {
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: no attributes, no name: a new anonymous job.
        let handle = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh handle that nothing else owns.
        let job = Self(unsafe { OwnedHandle::from_raw_handle(handle) });
        // SAFETY: all-zero is a valid value of this plain C struct.
        let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        limits.BasicLimitInformation.LimitFlags =
            JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION;
        // SAFETY: `limits` is live and of the size given, for the class it is.
        let set = unsafe {
            SetInformationJobObject(
                job.0.as_raw_handle(),
                JobObjectExtendedLimitInformation,
                (&raw const limits).cast(),
                std::mem::size_of_val(&limits) as u32,
            )
        };
        if set == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(job)
    }

    /// Puts `process` in the job; from then on what it starts is in the job too.
    pub(crate) fn assign(&self, process: RawHandle) -> io::Result<()> {
        // SAFETY: both handles are open for the call.
        if unsafe { AssignProcessToJobObject(self.0.as_raw_handle(), process) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Kills every process in the job, each ending with `code`.
    pub(crate) fn terminate(&self, code: u32) {
        // SAFETY: the job's handle is open while `self` lives.
        unsafe { TerminateJobObject(self.0.as_raw_handle(), code) };
    }

    pub(crate) fn handle(&self) -> &OwnedHandle {
        &self.0
    }
}

/// In a test's child, first thing: joins the job whose inherited handle is `value`, then closes
/// that handle (a child holding a job's handle would keep it open past the harness). The
/// harness puts the child in it as well once it started it; joining here too means no test code
/// runs outside it.
pub(crate) fn join_inherited(value: u64) {
    let handle = value as usize as RawHandle;
    // SAFETY: the harness gave this process the job's handle, which nothing else here owns; the
    // pseudo handle of this process needs no closing.
    unsafe {
        AssignProcessToJobObject(handle, GetCurrentProcess());
    }
    super::handles::close(value);
}
