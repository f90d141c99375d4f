//! What Unix code names with nix's types, for Windows: a process's id, and the few signals the
//! run's types speak of (a Windows harness is never interrupted by one).

/// A process's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Pid(i32);

impl Pid {
    pub(crate) fn from_raw(pid: i32) -> Self {
        Self(pid)
    }

    pub(crate) fn as_raw(self) -> i32 {
        self.0
    }
}

/// A signal, by C's numbers (which Windows' C runtime shares).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
// Named as nix names them on Unix; the interruptions are never made on Windows (see
// `parent::signals` there), but the run's types speak of them.
#[allow(clippy::upper_case_acronyms, dead_code)]
pub(crate) enum Signal {
    SIGINT = 2,
    SIGABRT = 22,
    SIGTERM = 15,
}

impl Signal {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Signal::SIGINT => "SIGINT",
            Signal::SIGABRT => "SIGABRT",
            Signal::SIGTERM => "SIGTERM",
        }
    }
}
