//! End-to-end tests of isolated-test: each runs one of this package's fixture suites
//! (`tests/fixtures/*.rs`, built as bin targets) the way cargo or cargo-nextest runs a suite, and
//! asserts on its exit code and on what it printed, parsed.
//!
//! Every fixture test's expected verdict and reason line is stated next to the assertion that
//! checks it, in the module named after its fixture.

mod backends;
mod cli;
mod colour;
mod coverage;
mod death;
mod docs;
mod ecosystem;
mod hostile;
mod inside;
mod interrupts;
mod isolate;
mod leaks;
mod left_behind;
mod libtest;
mod lifetimes;
mod load;
mod memory;
mod nextest;
mod outcomes;
mod output;
mod panic_abort;
mod parallel;
mod reachability;
mod retries;
mod setups;
mod status;
mod timeouts;

/// A test target of this package built under libtest's harness or with `cfg(test)`, in a target
/// directory of its own.
fn test_target(name: &str) -> std::path::PathBuf {
    let target_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("libtest-harness");
    isolated_test_e2e::build_test_target(name, &target_dir)
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
