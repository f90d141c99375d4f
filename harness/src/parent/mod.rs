//! The harness process's side of a test: starting its child ([`launch`]), watching it, killing
//! and reaping it and whatever it left. Makes [`ChildOutcome`](crate::outcome::ChildOutcome)s;
//! prints nothing.
//!
//! What Windows does its own way has a twin of the same interface in `windows/`, chosen where
//! the module is declared.

#[cfg(unix)]
pub(crate) mod isolation;
pub(crate) mod launch;
pub(crate) mod leak_sites;
#[cfg(unix)]
pub(crate) mod orphans;
#[cfg(windows)]
#[path = "windows/orphans.rs"]
pub(crate) mod orphans;
#[cfg(unix)]
mod output_rest;
mod running;
#[cfg(unix)]
pub(crate) mod signals;
#[cfg(windows)]
#[path = "windows/signals.rs"]
pub(crate) mod signals;
mod slow_notice;
mod streams;
pub(crate) mod supervisor;
pub(crate) mod symbolizer;
