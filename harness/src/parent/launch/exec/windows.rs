//! The exec backend on Windows, the only one there: the test binary started with its pipes as
//! stdout and stderr and its result channel an inherited handle, in a Job Object of its own that
//! it joins before anything else runs (and the harness puts it in too, once started): a timeout
//! kills the whole tree, and so does the harness's end.

use std::io;
use std::os::windows::io::AsRawHandle;

use super::{ChildOrder, ExecLauncher};
use crate::parent::launch::{ChildProcess, Launched, Launcher, StartError, TestToStart};
use crate::sys::windows::handles;
use crate::sys::windows::job::{self, Job};
use crate::sys::windows::pipe_reader::ThreadedReader;
use crate::sys::RawFd;

impl Launcher for ExecLauncher {
    fn start(
        &mut self,
        test: &TestToStart,
        _harness_fds: &[RawFd],
    ) -> Result<Launched, StartError> {
        let job = Job::new()?;
        let (result_read, result_write) = io::pipe()?;
        let stdout = self.capture.then(io::pipe).transpose()?;
        let captures_stderr = self.capture || test.case.stderr.is_some();
        let stderr = captures_stderr.then(io::pipe).transpose()?;
        let (mut command, stdout, stderr) = self.command(
            test,
            handles::value_of(&result_write),
            handles::value_of(job.handle()),
            stdout,
            stderr,
        );
        // Inheritable for this start alone: the harness starts its children from one thread,
        // so no other child gets them.
        handles::set_inheritable(&result_write, true)?;
        handles::set_inheritable(job.handle(), true)?;
        let spawned = command.spawn();
        handles::set_inheritable(job.handle(), false)?;
        // The write ends are the child's alone now: the harness reads end of file once the
        // child and all it started closed theirs.
        drop(command);
        drop(result_write);
        let child = spawned?;
        // The child joins its job first thing; this covers a kill that comes before it does.
        let _ = job.assign(child.as_raw_handle());
        Ok(Launched {
            process: ChildProcess::watch(child, job)?,
            stdout: stdout.map(ThreadedReader::start).transpose()?,
            stderr: stderr.map(ThreadedReader::start).transpose()?,
            result: ThreadedReader::start(result_read)?,
        })
    }

    fn owns(&self, _pid: i32) -> bool {
        false
    }

    fn stop(&mut self) {}
}

/// What the child sets up before it hands over to the test: it joins its job, so that nothing
/// of the test runs outside it; a crash ends it with the exception's status, as its reason says;
/// and it keeps its channel from the processes the test starts.
pub(super) fn become_test_process(order: &ChildOrder) {
    job::join_inherited(order.job);
    handles::crash_without_dialog();
    let _ = handles::set_inheritable_by_value(order.channel, false);
}
