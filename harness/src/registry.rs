//! What `#[isolated_test]` registers: one [`TestCase`] per test function, collected by `inventory`.

use std::fmt::Debug;
use std::time::Duration;

/// One registered test, written by the `#[isolated_test]` attribute. Plain `'static` data so the
/// macro can build it in a `const` context.
#[derive(Debug)]
pub struct TestCase {
    /// `module_path!()` where the test was written; its first segment is the crate's name.
    pub module_path: &'static str,
    /// The function's name.
    pub name: &'static str,
    /// Where the function's name stands: `file!()`, and the line and column of the name.
    pub source: Source,
    /// Runs the test body and turns its return value into a result.
    pub body: fn() -> Result<(), String>,
    /// `#[ignore]`, with the reason given by `#[ignore = "..."]`.
    pub ignore: Ignore,
    /// `#[should_panic]`.
    pub should_panic: ShouldPanic,
    /// `timeout = "..."`: overrides the run's default.
    pub timeout: Option<Duration>,
    /// `leak_limit = N` or `allow_leaks`.
    pub leaks: LeakPolicy,
    /// `signal = "..."` or `exit_code = N`: how the child must end instead of finishing.
    pub end: ExpectedEnd,
    /// `stderr = "regex"`: what the captured stderr of a test that dies or panics must match.
    pub stderr: Option<&'static str>,
    /// `retries = N`: overrides the run's default.
    pub retries: Option<u32>,
    /// `memory_limit = "64MiB"`, in bytes: overrides the run's default.
    pub memory_limit: Option<u64>,
    /// `max_peak = "8MiB"`, in bytes: the most the test's live heap may grow.
    pub max_peak: Option<u64>,
    /// `strict_leaks`: all heap growth counts as a leak, still reachable or not.
    pub strict_leaks: bool,
    /// `serial = "group"`: no two tests of the group run at the same time.
    pub serial: Option<&'static str>,
    /// `setup = warm_up`: overrides the suite's setup.
    pub setup: Option<Setup>,
}

/// A function run once per run, in a process the tests that need it are forked from: it fills
/// statics (forces `LazyLock`s) that every such test then finds ready. `setup = warm_up`.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// The path as written: `warm_up`.
    pub name: &'static str,
    /// The path where it was written, `suite::tests::warm_up`: one zygote per distinct key.
    pub key: &'static str,
    /// The function.
    pub run: fn(),
}

impl PartialEq for Setup {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Setup {}

/// Where a test function's name stands in its source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Source {
    /// `file!()`: the path rustc was given.
    pub file: &'static str,
    /// `line!()` at the name.
    pub line: u32,
    /// `column!()` at the name (1-based).
    pub column: u32,
}

/// The suite's defaults, as `main!(...)` sets them: an environment variable wins over each, a
/// test's own attribute over both. `None` leaves the harness's own default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SuiteDefaults {
    /// `timeout = "..."`.
    pub timeout: Option<Duration>,
    /// `leak_limit = N`, in bytes.
    pub leak_limit: Option<u64>,
    /// `memory_limit = "64MiB"`, in bytes.
    pub memory_limit: Option<u64>,
    /// `retries = N`.
    pub retries: Option<u32>,
    /// `strict_leaks`.
    pub strict_leaks: bool,
    /// `setup = warm_up`: every test's setup, unless its own attribute names another.
    pub setup: Option<Setup>,
    /// `file!()` where `main!` stands: the target's root, whose folder says whether libtest would
    /// call its tests unit or integration tests (`tests/`).
    pub root_file: &'static str,
}

/// How a test's child must end for the test to pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedEnd {
    /// The body finishes (returns, or panics as `#[should_panic]` asks).
    Finish,
    /// Killed by this signal (`signal = "SIGSEGV"`).
    Signal(i32),
    /// Exits with this status before the body finishes (`exit_code = 3`).
    ExitCode(i32),
}

/// Whether a test is `#[ignore]`d.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ignore {
    /// Runs by default.
    No,
    /// Runs only with `--ignored` or `--include-ignored`.
    Yes(Option<&'static str>),
}

/// What `#[should_panic]` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShouldPanic {
    /// The test must not panic.
    No,
    /// The test must panic, with any message.
    Yes,
    /// The test must panic with a message containing this text.
    WithMessage(&'static str),
}

/// How much heap growth a test may leave behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeakPolicy {
    /// The run's default (`ISOLATED_TEST_LEAK_LIMIT`, 0 unless set).
    RunDefault,
    /// At most this many bytes.
    Limit(u64),
    /// Leaks are reported, never fail.
    Allow,
}

inventory::collect!(TestCase);

impl TestCase {
    /// The test's name as libtest gives it: the module path inside the test target, without the
    /// crate's name (`adds`, `inner::deep`).
    pub(crate) fn full_name(&self) -> String {
        let mut name = String::new();
        self.write_full_name(&mut name);
        name
    }

    /// [`full_name`](Self::full_name) into `name`, which is cleared first: a run reads every
    /// test's name once (100,000 of them, at opt-level 0) and keeps only those it selects.
    pub(crate) fn write_full_name(&self, name: &mut String) {
        name.clear();
        match self.module_path.split_once(':') {
            Some((_crate, colon_inner)) => {
                name.push_str(&colon_inner[1..]);
                name.push_str("::");
                name.push_str(self.name);
            }
            None => name.push_str(self.name),
        }
    }
}

/// How many tests are registered, counted without building anything.
#[cfg(unix)]
pub(crate) fn registered_count() -> usize {
    inventory::iter::<TestCase>.into_iter().count()
}

/// Every registered test, in the registry's order: a test's place in it is the same in every
/// copy of this process (a zygote finds a test by it). Unsorted: a run names and sorts the tests
/// it selects, often a few of many.
pub(crate) fn in_order() -> Vec<&'static TestCase> {
    inventory::iter::<TestCase>.into_iter().collect()
}

/// The return types a test function may have: `()` or `Result<(), E>` with `E: Debug`, like
/// libtest's.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a test's return type",
    label = "an #[isolated_test] function returns `()` or `Result<(), E>` with `E: Debug`"
)]
pub trait TestReturn {
    /// `Err` carries what the failure report shows.
    fn into_test_result(self) -> Result<(), String>;
}

impl TestReturn for () {
    fn into_test_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: Debug> TestReturn for Result<(), E> {
    fn into_test_result(self) -> Result<(), String> {
        self.map_err(|error| format!("{error:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(module_path: &'static str, name: &'static str) -> TestCase {
        TestCase {
            module_path,
            name,
            source: Source::default(),
            body: || Ok(()),
            ignore: Ignore::No,
            should_panic: ShouldPanic::No,
            timeout: None,
            leaks: LeakPolicy::RunDefault,
            end: ExpectedEnd::Finish,
            stderr: None,
            retries: None,
            memory_limit: None,
            max_peak: None,
            strict_leaks: false,
            serial: None,
            setup: None,
        }
    }

    #[test]
    fn names_drop_the_crate() {
        assert_eq!(case("suite", "adds").full_name(), "adds");
        assert_eq!(case("suite::inner", "deep").full_name(), "inner::deep");
        assert_eq!(case("suite::a::b", "c").full_name(), "a::b::c");
    }

    #[test]
    fn results_become_debug_text() {
        assert_eq!(().into_test_result(), Ok(()));
        assert_eq!(Ok::<(), String>(()).into_test_result(), Ok(()));
        assert_eq!(
            Err::<(), _>("disk full".to_string()).into_test_result(),
            Err("\"disk full\"".to_string())
        );
    }
}
