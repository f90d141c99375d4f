//! How a test's child is started, and what the watcher gets back: a [`ChildProcess`] to watch,
//! kill and reap into a typed end ([`Reaped`]).

mod process;

pub(crate) use process::{ChildProcess, Reaped};
