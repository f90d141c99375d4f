//! The exec backend on Unix: the test binary started in a process group of its own, its result
//! channel an inherited descriptor.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::process::CommandExt;

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::unistd::Pid;

use super::{ChildOrder, ExecLauncher};
use crate::parent::launch::fork::spawn::{join_the_run, take_own_description};
use crate::parent::launch::pipes::ChildPipes;
use crate::parent::launch::{ChildProcess, Launched, Launcher, StartError, TestToStart};
use crate::parent::signals;
use crate::sys::{self, RawFd};

impl Launcher for ExecLauncher {
    fn start(
        &mut self,
        test: &TestToStart,
        _harness_fds: &[RawFd],
    ) -> Result<Launched, StartError> {
        // Every descriptor of the harness is close-on-exec: the new program keeps none of them
        // but the three it is given and its result channel.
        let (result, stdout, stderr) = ChildPipes::new(self.capture, test.case)?.into_pairs();
        for (_, write) in [Some(&result), stdout.as_ref(), stderr.as_ref()]
            .into_iter()
            .flatten()
        {
            // The child's ends are open file descriptions of their own: blocking, as a forked
            // child makes them.
            sys::descriptors::set_blocking(write.as_raw_fd());
        }
        // Its result channel survives the exec; the harness closes its copy once it started.
        fcntl(&result.1, FcntlArg::F_SETFD(FdFlag::empty())).map_err(io::Error::from)?;
        let channel = result.1.as_raw_fd() as u64;
        let (mut command, stdout, stderr) = self.command(test, channel, stdout, stderr);
        command.process_group(0);
        let spawned = command.spawn();
        // The write ends, the result channel's and those `command` holds, are the child's alone
        // now: the harness reads end of file once the child and all it started closed theirs.
        drop(command);
        drop(result.1);
        let spawned = spawned?;
        Ok(Launched {
            process: ChildProcess::from_pid(Pid::from_raw(spawned.id() as i32)),
            stdout,
            stderr,
            result: result.0,
        })
    }

    fn own_fds(&self, _fds: &mut Vec<RawFd>) {}

    fn owns(&self, _pid: i32) -> bool {
        false
    }

    fn stop(&mut self) {}
}

/// What a forked child's backend sets up before it hands over to the test: what every child
/// does first ([`join_the_run`]), signals, its own description of a shared stdout, and its
/// channel kept from what the test starts.
pub(super) fn become_test_process(order: &ChildOrder) {
    join_the_run(Pid::from_raw(order.harness));
    // The handlers were the harness's and are gone with the exec; a signal it ignored from its
    // start (`nohup`) stays ignored, as in a forked child. Its blocked set is inherited.
    signals::unblock_termination();
    if order.stdout_shared {
        take_own_description(1);
    }
    if order.stderr_shared {
        take_own_description(2);
    }
    // SAFETY: the harness made `channel` this process's result channel, open from its start;
    // borrowed for one `fcntl`.
    let channel = unsafe { BorrowedFd::borrow_raw(order.channel as RawFd) };
    // A process the test starts must not inherit the channel.
    let _ = fcntl(channel, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
}
