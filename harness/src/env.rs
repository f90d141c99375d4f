//! The one place the harness reads its environment. Every variable it reads is named in one of
//! the lists below (a debug build asserts it): the configuration ones are documented, row for
//! row, in the crate docs' and the reference's (docs/reference.md) environment tables (an end-to-end test checks).
//! Modules take the environment as an [`Env`], a function, so that their tests supply their own.

/// The environment, read through a function so tests can supply their own.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The variables that configure a run.
pub(crate) const CONFIGURATION: &[&str] = &[
    "ISOLATED_TEST_TIMEOUT",
    "ISOLATED_TEST_LEAK_LIMIT",
    "ISOLATED_TEST_STRICT_LEAKS",
    "ISOLATED_TEST_MEMORY_LIMIT",
    "ISOLATED_TEST_RETRIES",
    "ISOLATED_TEST_SLOW_AFTER",
    "ISOLATED_TEST_SETUP_TIMEOUT",
    "ISOLATED_TEST_LEAK_SITES",
    "ISOLATED_TEST_REPORT",
    "ISOLATED_TEST_JUNIT",
    "ISOLATED_TEST_SELF_CHECK",
    "ISOLATED_TEST_BACKEND",
    "RUST_TEST_THREADS",
    "RUST_TEST_NOCAPTURE",
    "RUST_TEST_SHUFFLE",
    "RUST_TEST_SHUFFLE_SEED",
    "RUST_TEST_TIME_UNIT",
    "RUST_TEST_TIME_INTEGRATION",
    "NO_COLOR",
    "CLICOLOR_FORCE",
    "TERM",
    "TEST_TOTAL_SHARDS",
    "TEST_SHARD_INDEX",
    "TEST_SHARD_STATUS_FILE",
    "XML_OUTPUT_FILE",
    "TEST_TMPDIR",
];

/// Where libtest's terminfo lookup finds `$TERM`'s entry, read as libtest reads them.
pub(crate) const TERMINFO: &[&str] = &["TERMINFO", "TERMINFO_DIRS", "HOME", "MSYSCON"];

/// Read as libtest reads it: set, it lets `-Z unstable-options` through on a stable toolchain.
pub(crate) const TOOLCHAIN: &[&str] = &["RUSTC_BOOTSTRAP"];

/// Read in a child of an instrumented binary: where the coverage runtime writes its profile.
pub(crate) const COVERAGE: &[&str] = &["LLVM_PROFILE_FILE"];

/// Read by a re-executed child alone: which test it runs, and how (the harness sets it).
pub(crate) const CHILD_ORDER: &[&str] = &["ISOLATED_TEST_CHILD_ORDER"];

/// This process's environment, for the variables named above.
pub(crate) fn of_this_process(name: &str) -> Option<String> {
    debug_assert!(
        [CONFIGURATION, TERMINFO, TOOLCHAIN, COVERAGE, CHILD_ORDER]
            .iter()
            .any(|names| names.contains(&name)),
        "the harness reads {name}, which env.rs does not name"
    );
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}
