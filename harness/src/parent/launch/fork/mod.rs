//! The fork backend: each test's child is a fork of the harness, of a zygote that ran the test's
//! setup once ([`zygote`]), or a spare such a zygote forked ahead.
//!
//! An isolated call's child is a fork of the calling process ([`call`]).
//!
//! A fork is made only from a process that has one thread (asserted): a fork from a
//! multi-threaded process can inherit a lock another thread held and hang the child. The harness
//! starts no thread, and a zygote refuses to serve after a setup that left one running.

pub(crate) mod call;
pub(crate) mod prepare;
pub(in crate::parent::launch) mod spawn;
pub(crate) mod zygote;

use std::os::fd::RawFd;

pub(crate) use spawn::ForkContext;
use zygote::{Zygotes, BASE};

use super::{Launched, Launcher, StartError, TestToStart};

/// Whether tests are forked from zygotes: they hand the harness their forks as its own children
/// with Linux's `CLONE_PARENT`, which macOS and FreeBSD lack. Elsewhere every test's child is a
/// fork of the harness, and runs its test's setup itself, before the body.
pub(crate) const ZYGOTES: bool = cfg!(target_os = "linux");

/// Starts each test's child by a fork: from `setup`'s zygote where the test has a setup, else
/// from the base zygote of a large suite (or, should it fail, the harness itself).
pub(crate) struct ForkLauncher {
    context: ForkContext,
    zygotes: Zygotes,
}

impl ForkLauncher {
    pub(crate) fn new(context: ForkContext, zygotes: Zygotes) -> Self {
        Self { context, zygotes }
    }
}

impl Launcher for ForkLauncher {
    fn start(&mut self, test: &TestToStart, harness_fds: &[RawFd]) -> Result<Launched, StartError> {
        let context = &self.context;
        match test.setup {
            Some(setup) if ZYGOTES => self.zygotes.spawn(setup, context, test, harness_fds),
            // A large suite's base zygote; should it fail, the harness forks the test itself.
            None if self.zygotes.has_base() => self
                .zygotes
                .spawn(BASE, context, test, harness_fds)
                .or_else(|_| Ok(spawn::spawn(context, test, harness_fds)?)),
            // Without zygotes, a test's own child runs its setup (see `spawn::spawn`).
            _ => Ok(spawn::spawn(context, test, harness_fds)?),
        }
    }

    fn own_fds(&self, fds: &mut Vec<RawFd>) {
        fds.extend(self.zygotes.control_fds());
    }

    fn owns(&self, pid: i32) -> bool {
        self.zygotes.pids().any(|zygote| zygote == pid)
    }

    fn stop(&mut self) {
        self.zygotes.kill_all();
    }
}
