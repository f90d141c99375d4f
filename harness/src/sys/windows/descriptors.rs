//! Descriptor plumbing the shared code asks for on every system; on Windows there is none to do.

/// Closing the C runtime's descriptors 1 and 2 is not how a Windows child says all: its result
/// channel's close is.
pub(crate) fn close_raw(_fd: i32) {}

/// Windows pipes have no `O_NONBLOCK` a test could leave set.
pub(crate) fn set_blocking(_fd: i32) {}
