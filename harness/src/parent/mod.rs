//! The harness process's side of a test: starting its child ([`launch`]), watching it, killing
//! and reaping it and whatever it left. Makes [`ChildOutcome`](crate::outcome::ChildOutcome)s;
//! prints nothing.

pub(crate) mod isolation;
pub(crate) mod launch;
pub(crate) mod leak_sites;
pub(crate) mod orphans;
mod running;
pub(crate) mod signals;
mod slow_notice;
mod streams;
pub(crate) mod supervisor;
pub(crate) mod symbolizer;
