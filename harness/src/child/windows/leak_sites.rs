//! The tracked run's findings on Windows: the blocks the body left are recorded, but no scan
//! tells the lost from the still reachable (it needs every other thread stopped and their stacks
//! read, which the Unix scan does with signals). Every block then counts as reachable and the
//! scan as not run, so a leak is a note there, never a failure
//! ([`Note::LeakNotTold`](crate::verdict::Note)).

use super::no_alloc::table;
use super::resources::DescriptorSet;
use crate::outcome::{RecordedSite, TrackedLeaks};

/// Nothing to take before the body: no scan will run.
pub(crate) struct BeforeBody;

pub(crate) fn before_body(_descriptors: bool, _stack_floor: usize) -> BeforeBody {
    BeforeBody
}

/// The recorded blocks, none told lost: see the module.
pub(crate) fn tracked_leaks(
    _before: &BeforeBody,
    _stack_floor: usize,
    _reachable_sites: bool,
    _left_open: Option<DescriptorSet>,
) -> TrackedLeaks<RecordedSite> {
    if table::ranges().is_none() {
        return TrackedLeaks::default();
    }
    let (_recorded, unrecorded) = table::counts();
    TrackedLeaks {
        unrecorded,
        unscanned: true,
        ..TrackedLeaks::default()
    }
}
