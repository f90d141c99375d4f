//! Windows: what the exec backend needs of the system there, one concern a module. Windows has
//! no fork, no signals and no process groups: a test's child is the test binary started again
//! ([`crate::parent::launch::exec`]), kept with everything it starts in a Job Object of its own
//! ([`job`]), its result channel an inherited pipe handle ([`handles`]), and its pipes read by a
//! thread each ([`pipe_reader`]), since an anonymous pipe cannot be polled there.

pub(crate) mod exit_codes;
pub(crate) mod handles;
mod ids;
pub(crate) mod job;
pub(crate) mod memory;
pub(crate) mod pipe_reader;

pub(crate) use ids::{Pid, Signal};
