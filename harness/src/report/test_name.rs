//! A test as libtest's console names it, the kind libtest gives it, and the time limits that
//! kind has under `--report-time`.

use std::path::Path;
use std::time::Duration;

use crate::env::Env;
use crate::registry::TestCase;

/// One test as the console names it.
#[derive(Clone, Copy)]
pub(crate) struct TestName<'a> {
    pub(crate) name: &'a str,
    pub(crate) case: &'static TestCase,
    /// What kind of test libtest would call it, by where its target's root is.
    pub(crate) kind: TestKind,
}

impl TestName<'_> {
    /// libtest's ` - should panic` after the name.
    pub(crate) fn mode(&self) -> &'static str {
        match self.case.should_panic {
            crate::registry::ShouldPanic::No => "",
            _ => " - should panic",
        }
    }

    /// `Some` for an ignored test, with its reason if it has one.
    pub(crate) fn ignore(&self) -> Option<Option<&'static str>> {
        match self.case.ignore {
            crate::registry::Ignore::Yes(message) => Some(message),
            crate::registry::Ignore::No => None,
        }
    }

    pub(crate) fn ignore_message(&self) -> Option<&'static str> {
        self.ignore().flatten()
    }
}

/// What kind of test rustc's libtest harness calls a test, by the folder of its target's root:
/// `src/` for unit tests, `tests/` for integration tests, anything else unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TestKind {
    Unit,
    Integration,
    Unknown,
}

impl TestKind {
    /// The kind of the tests of the target whose root file is `root_file` (`file!()` there).
    pub(crate) fn of_root(root_file: &str) -> Self {
        let folder = Path::new(root_file).parent().and_then(Path::file_name);
        match folder.and_then(|folder| folder.to_str()) {
            Some("src") => TestKind::Unit,
            Some("tests") => TestKind::Integration,
            _ => TestKind::Unknown,
        }
    }
}

/// The time limits of `--report-time` and `--ensure-time`: libtest's defaults, or
/// `RUST_TEST_TIME_UNIT` / `RUST_TEST_TIME_INTEGRATION` as `WARN_MS,CRITICAL_MS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimeLimits {
    pub(crate) warn: Duration,
    pub(crate) critical: Duration,
}

impl TimeLimits {
    /// For the target's kind of test; `Err` names a malformed variable.
    pub(crate) fn from_env(kind: TestKind, env: Env) -> Result<Self, String> {
        let (name, warn, critical) = match kind {
            TestKind::Unit => ("RUST_TEST_TIME_UNIT", 50, 100),
            TestKind::Integration => ("RUST_TEST_TIME_INTEGRATION", 500, 1000),
            // libtest assumes nothing of a test of no known kind: a minute, and two.
            TestKind::Unknown => {
                return Ok(Self {
                    warn: Duration::from_secs(60),
                    critical: Duration::from_secs(120),
                })
            }
        };
        let Some(value) = env(name) else {
            return Ok(Self {
                warn: Duration::from_millis(warn),
                critical: Duration::from_millis(critical),
            });
        };
        let parsed = value.split_once(',').and_then(|(warn, critical)| {
            Some((warn.trim().parse().ok()?, critical.trim().parse().ok()?))
        });
        match parsed {
            Some((warn, critical)) if warn <= critical => Ok(Self {
                warn: Duration::from_millis(warn),
                critical: Duration::from_millis(critical),
            }),
            _ => Err(format!(
                "{name}={value:?} is not WARN_MS,CRITICAL_MS with WARN_MS at most CRITICAL_MS (try \"50,100\")"
            )),
        }
    }
}
