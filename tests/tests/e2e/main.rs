//! End-to-end tests of isolated-test: each runs one of this package's fixture suites
//! (`tests/fixtures/*.rs`, built as bin targets) the way cargo or cargo-nextest runs a suite, and
//! asserts on its exit code and on what it printed, parsed.
//!
//! Every fixture test's expected verdict and reason line is stated next to the assertion that
//! checks it, in the module named after its fixture.

// Unix-only: compares the fork backend with the exec one; Windows has the exec backend only.
#[cfg(unix)]
mod backends;
mod cli;
mod colour;
// Unix-only: builds with cargo from inside the test, which the Windows driver (under Wine) cannot
// start.
#[cfg(unix)]
mod coverage;
mod death;
mod docs;
// Unix-only: builds and adopts crates with cargo from inside the test, which the Windows driver
// (under Wine) cannot start.
#[cfg(unix)]
mod ecosystem;
// Unix-only: attacks on a Unix harness: signals, descriptors, rlimits, process groups.
#[cfg(unix)]
mod hostile;
mod inside;
// Unix-only: signals sent to the harness, and the process groups they reach.
#[cfg(unix)]
mod interrupts;
// Unix-only: `isolate()` and death by signal need fork.
#[cfg(unix)]
mod isolate;
mod leaks;
// Unix-only: the harness counts the descriptors a test leaves open there only.
#[cfg(unix)]
mod left_behind;
mod libtest;
// Unix-only: grandchildren found by process group and waited for by pidfd.
#[cfg(unix)]
mod lifetimes;
// Unix-only: ten thousand children re-executed (the exec backend, Windows's only) take minutes,
// more under Wine.
#[cfg(unix)]
mod load;
mod memory;
// Unix-only: runs cargo-nextest from inside the test, which the Windows driver (under Wine) cannot
// start.
#[cfg(unix)]
mod nextest;
mod outcomes;
mod output;
// Unix-only: builds with cargo from inside the test, which the Windows driver (under Wine) cannot
// start.
#[cfg(unix)]
mod panic_abort;
mod parallel;
// Unix-only: the scan for where a leaked block is still reachable from reads a Unix process.
#[cfg(unix)]
mod reachability;
mod retries;
// Unix-only: a setup run once in a zygote the tests are forked from.
#[cfg(unix)]
mod setups;
mod status;
mod timeouts;

/// A test target of this package built with `cfg(test)`, in a target directory of its own.
/// Unix-only: its one user, `ecosystem`, is.
#[cfg(unix)]
fn test_target(name: &str) -> std::path::PathBuf {
    let target_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("libtest-harness");
    isolated_test_e2e::build_test_target("isolated-test-e2e", name, &target_dir)
}

/// The target directory in which tests build package `isolated-test-unit-fixture` with cargo
/// (or cargo-nextest), one for all of them: the outer `cargo test` holds the normal one, and a
/// directory each would build the harness once more each.
#[cfg(unix)]
fn unit_fixture_target_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("unit-fixture")
}

/// A twin suite under libtest's harness (package `isolated-test-libtest-twins`, which has no
/// dependency to build), in a target directory of its own.
fn libtest_twin(name: &str) -> std::path::PathBuf {
    let target_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("libtest-twins");
    isolated_test_e2e::build_test_target("isolated-test-libtest-twins", name, &target_dir)
}

/// `FILE:LINE:COLUMN` of the one place `needle` occurs in `source`, as a panic location reads.
/// Finding it by text keeps the expectations right when a fixture is edited.
#[track_caller]
fn location_of(source: &str, file: &str, needle: &str) -> String {
    let found: Vec<String> = source
        .lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let column = line.find(needle)?;
            Some(format!("{file}:{}:{}", index + 1, column + 1))
        })
        .collect();
    match &found[..] {
        [location] => location.clone(),
        _ => panic!("{needle:?} occurs {} times in {file}", found.len()),
    }
}
