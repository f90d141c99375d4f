//! The operating system's calls that the harness makes in more than one place, each written once,
//! one concern a module. Each is raw where std would allocate, take a lock or not reach the call:
//! many run in a forked child, inside the allocator, in a signal handler or while other threads
//! are stopped.
//!
//! Functions marked "Allocates nothing" may run in those places; the others may allocate.
//!
//! Everything here is for Unix; what only Linux has is marked `#[cfg(target_os = "linux")]`
//! where it is defined.

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
