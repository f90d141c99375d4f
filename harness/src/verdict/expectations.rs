//! What a test must do to pass.

use crate::registry::{ExpectedEnd, ShouldPanic};

/// What a test must do to pass, resolved from its attributes and the run's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Expectations {
    pub(crate) should_panic: ShouldPanic,
    /// Bytes of heap growth allowed; `None` for `allow_leaks`.
    pub(crate) leak_limit: Option<u64>,
    /// How the child must end: finish the body, or die by a signal or an exit.
    pub(crate) end: ExpectedEnd,
    /// A regex the captured stderr of a passing death test or `should_panic` test must match.
    pub(crate) stderr: Option<&'static str>,
    /// The binary was built with `panic = "abort"`: a panic on the test's thread is reported,
    /// then aborts the child.
    pub(crate) panic_aborts: bool,
    /// `max_peak`: the most bytes the live heap may grow above where the body began.
    pub(crate) max_peak: Option<u64>,
    /// `strict_leaks`: all heap growth counts against `leak_limit`, still reachable or not.
    pub(crate) strict_leaks: bool,
}
