//! What `sys::reap` tells on Unix that shared code asks on Windows too.

use std::time::Duration;

/// How long a reap may take: the same bound as on Unix.
pub(crate) const REAP_LIMIT: Duration = Duration::from_secs(5);

/// Whether this process has children left: a test's processes are its job's business there, and
/// die with it.
pub(crate) fn has_children() -> bool {
    false
}
