//! The operating system's calls that the harness makes in more than one place, each written once,
//! one concern a module. Each is raw where std would allocate, take a lock or not reach the call:
//! many run in a forked child, inside the allocator, in a signal handler or while other threads
//! are stopped.
//!
//! Functions marked "Allocates nothing" may run in those places; the others may allocate.
//!
//! The modules by concern are for Unix: Linux, macOS and FreeBSD; [`windows`] has what the exec
//! backend needs on Windows. Each wrapper's callers see one
//! function; the call each system has sits under `#[cfg(target_os = ...)]` inside it (`pipe2` or
//! `pipe` and `fcntl`, `close_range` or `closefrom`, ...). What a system lacks is switched off
//! where it is defined, with what its callers get instead (the README's "Platforms" table).

#[cfg(unix)]
pub(crate) mod children;
#[cfg(windows)]
#[path = "windows/children.rs"]
pub(crate) mod children;
#[cfg(unix)]
pub(crate) mod descriptor_table;
#[cfg(unix)]
pub(crate) mod descriptors;
#[cfg(windows)]
#[path = "windows/descriptors.rs"]
pub(crate) mod descriptors;
#[cfg(unix)]
pub(crate) mod fd_passing;
#[cfg(unix)]
pub(crate) mod fork;
#[cfg(unix)]
pub(crate) mod huge_pages;
#[cfg(unix)]
pub(crate) mod memory;
#[cfg(windows)]
pub(crate) use windows::memory;
#[cfg(unix)]
pub(crate) mod pipes;
#[cfg(unix)]
pub(crate) mod profiler;
#[cfg(windows)]
#[path = "windows/profiler.rs"]
pub(crate) mod profiler;
#[cfg(unix)]
pub(crate) mod raw_io;
#[cfg(unix)]
pub(crate) mod reap;
#[cfg(windows)]
#[path = "windows/reap.rs"]
pub(crate) mod reap;
#[cfg(unix)]
pub(crate) mod signals;
#[cfg(windows)]
#[path = "windows/signals.rs"]
pub(crate) mod signals;
#[cfg(unix)]
pub(crate) mod threads;
#[cfg(windows)]
#[path = "windows/threads.rs"]
pub(crate) mod threads;
#[cfg(unix)]
pub(crate) mod usage;
#[cfg(windows)]
#[path = "windows/usage.rs"]
pub(crate) mod usage;
#[cfg(windows)]
pub(crate) mod windows;

/// A process's id and a signal, as the code shared by every system names them.
#[cfg(unix)]
pub(crate) use nix::{sys::signal::Signal, unistd::Pid};
#[cfg(windows)]
pub(crate) use windows::{Pid, Signal};

/// A descriptor number. Windows has the C runtime's, but the harness lists none there: the lists
/// of descriptors a child must not keep stay empty, since a Windows child inherits only the
/// handles it is given.
#[cfg(unix)]
pub(crate) use std::os::fd::RawFd;
#[cfg(windows)]
pub(crate) type RawFd = i32;
