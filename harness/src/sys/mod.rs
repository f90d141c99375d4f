//! The operating system's calls that the harness makes in more than one place, each written once,
//! one concern a module. Each is raw where std would allocate, take a lock or not reach the call:
//! many run in a forked child, inside the allocator, in a signal handler or while other threads
//! are stopped.
//!
//! Functions marked "Allocates nothing" may run in those places; the others may allocate.
//!
//! Everything here is for Unix: Linux, macOS and FreeBSD. Each wrapper's callers see one
//! function; the call each system has sits under `#[cfg(target_os = ...)]` inside it (`pipe2` or
//! `pipe` and `fcntl`, `close_range` or `closefrom`, ...). What a system lacks is switched off
//! where it is defined, with what its callers get instead (the README's "Platforms" table).

pub(crate) mod children;
pub(crate) mod descriptor_table;
pub(crate) mod descriptors;
pub(crate) mod fd_passing;
pub(crate) mod fork;
pub(crate) mod huge_pages;
pub(crate) mod pipes;
pub(crate) mod profiler;
pub(crate) mod raw_io;
pub(crate) mod reap;
pub(crate) mod signals;
pub(crate) mod threads;
pub(crate) mod usage;
