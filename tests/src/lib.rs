//! The end-to-end driver's toolkit: run a fixture suite the way cargo and cargo-nextest run it,
//! and read what it printed into plain data to assert on.
//!
//! The fixture suites are this package's bin targets (`fixtures/*.rs`); the tests that run them
//! are in `tests/e2e/`.
//!
//! Every suite runs under the harness's default backend (a fork per test), or under the one
//! named by [`E2E_BACKEND`] on the driver: `ISOLATED_TEST_E2E_BACKEND=exec cargo test -p
//! isolated-test-e2e` runs the whole suite with each test's child executed afresh
//! (`ISOLATED_TEST_BACKEND=exec`), and CI runs it both ways. [`Harness`] and [`cargo`] pass it on;
//! a suite started with a plain `Command` takes it from [`with_backend_under_test`]. A test that
//! names a backend keeps it; one about what only a fork gives (a `setup` run once in a zygote,
//! `isolate()`) pins it with [`Harness::fork_only`] and says why.

// FIFOs, process groups, pidfds and /proc are Unix's: the tests that need them are Unix-only.
#[cfg(unix)]
mod fifo;
#[cfg(unix)]
mod processes;
mod report;
mod run;
mod self_check;
mod temp_dir;
#[cfg(target_os = "linux")]
mod terminal;

#[cfg(unix)]
pub use fifo::Fifo;
#[cfg(unix)]
pub use processes::{
    assert_process_ends, processes_in_group, processes_that_outlive_the_run, Survivor,
};
pub use report::{strip_ansi, Failure, Output, Report, Summary};
pub use run::{backend_under_test, with_backend_under_test, Harness, Run, E2E_BACKEND};
#[cfg(unix)]
pub use run::{pidfd_open, Running};
pub use self_check::assert_self_check_balances;
pub use temp_dir::TempDir;
#[cfg(target_os = "linux")]
pub use terminal::Terminal;

/// This process's `RLIMIT_NOFILE`: what the poisoned-state fixture lowers and the driver expects
/// the next test to see unchanged.
#[cfg(unix)]
pub fn rlimit_nofile() -> libc::rlimit {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a live, initialised `rlimit` for `getrlimit` to write into.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(read, 0);
    limit
}

/// `leaked N bytes in M allocations ...`: the reason line of a leak at the default limit of 0.
pub fn leaked(bytes: u64, blocks: u64) -> String {
    let allocations = if blocks == 1 {
        "allocation"
    } else {
        "allocations"
    };
    format!(
        "leaked {bytes} bytes in {blocks} {allocations} (limit: 0 bytes); allow it with #[isolated_test(leak_limit = {bytes})] or #[isolated_test(allow_leaks)]"
    )
}

/// What a timed-out test's reason says was killed with it: its process group on Unix, its job
/// (the test and every process it started) on Windows.
pub const KILLED_AT_TIMEOUT: &str = if cfg!(windows) {
    "it and every process it started were killed"
} else {
    "its process group was killed"
};

/// `timed out after AFTER; ...`: the reason line of a test killed at its timeout.
pub fn timed_out(after: &str) -> String {
    format!("timed out after {after}; {KILLED_AT_TIMEOUT}")
}

/// The cargo that runs these tests (`$CARGO`), else `cargo` from PATH, with the backend under
/// test ([`E2E_BACKEND`]) for the suites it runs.
pub fn cargo() -> std::process::Command {
    let mut command =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    with_backend_under_test(&mut command);
    command
}

/// Builds fixture bin `bin` of this package into `target_dir`, a target directory of its own:
/// the outer `cargo test` holds the normal one, and a build with other flags must not disturb
/// it. `configure` adds the build's own arguments and environment.
pub fn build_fixture_apart(
    bin: &str,
    target_dir: &std::path::Path,
    configure: impl FnOnce(&mut std::process::Command),
) {
    let mut command = cargo();
    command
        .args([
            "build",
            "--quiet",
            "--package",
            "isolated-test-e2e",
            "--bin",
            bin,
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    configure(&mut command);
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "building the fixture {bin} failed");
}

/// Builds test target `target` of workspace package `package` (`test = false`: `cargo test` leaves
/// it alone) in `target_dir`, a target directory of its own (the outer `cargo test` holds the
/// normal one), and returns its executable; or returns the one named by
/// `ISOLATED_TEST_E2E_BUILT_<target>`, built beforehand where this driver cannot start cargo
/// (under Wine: tests/windows/run).
pub fn build_test_target(
    package: &str,
    target: &str,
    target_dir: &std::path::Path,
) -> std::path::PathBuf {
    if let Some(built) = std::env::var_os(format!("ISOLATED_TEST_E2E_BUILT_{target}")) {
        return built.into();
    }
    let output = cargo()
        .args([
            "test",
            "--package",
            package,
            "--test",
            target,
            "--no-run",
            "--message-format=json",
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["target"]["name"] == target)
        .find_map(|message| message["executable"].as_str().map(std::path::PathBuf::from))
        .unwrap_or_else(|| panic!("cargo names {target}'s executable"))
}

/// A [`Harness`] for the fixture bin target `$name`, built by cargo before the integration tests.
#[macro_export]
macro_rules! fixture {
    ($name:literal) => {
        $crate::Harness::new(env!(concat!("CARGO_BIN_EXE_", $name)))
    };
}

/// A fixture suite whose every item is about what only Unix has (fork, signals, descriptors,
/// process groups): on Unix the items as written; elsewhere a `main` that says so and exits 2,
/// so that the bin target builds everywhere and no test is claimed to pass. The tests that run
/// it are Unix-only too.
#[macro_export]
macro_rules! unix_only_suite {
    ($($item:item)*) => {
        $(
            #[cfg(unix)]
            $item
        )*

        #[cfg(not(unix))]
        fn main() {
            eprintln!(
                "{}: this suite is about what only Unix has; it runs nothing here",
                env!("CARGO_BIN_NAME")
            );
            std::process::exit(2);
        }
    };
}
