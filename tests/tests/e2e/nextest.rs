//! cargo-nextest as the engine at scale, over the unit-fixture library (tests/unit-fixture):
//! shards that together run every test exactly once, an archive run on another checkout, and
//! failures said as nextest says a libtest test's. Skipped, and said so, where cargo-nextest is
//! not on PATH.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use isolated_test_e2e::{cargo, strip_ansi, TempDir};

const PACKAGE: &str = "isolated-test-unit-fixture";

/// Every test in the unit fixture, as nextest names them.
const ALL: [&str; 11] = [
    "parse::tests::a_private_function_is_tested_directly",
    "parse::tests::a_static_starts_fresh",
    "parse::tests::a_static_starts_fresh_in_every_test",
    "parse::tests::an_abort_takes_only_its_own_child",
    "parse::tests::an_exit_takes_only_its_own_child",
    "parse::tests::garbage_does_not_parse",
    "parse::tests::pairs_parse",
    "parse::tests::panics_unless_asked_not_to",
    "parse::tests::poisons_the_environment",
    "parse::tests::segfaults_when_asked",
    "parse::tests::the_environment_is_unpoisoned",
];

fn nextest_is_installed() -> bool {
    let found = cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        eprintln!("skipped: cargo-nextest is not on PATH (install it to run this test)");
    }
    found
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn target_dir() -> PathBuf {
    crate::unit_fixture_target_dir()
}

/// Runs `cargo nextest ARGS`; returns the names of the tests that passed, and fails on any other
/// outcome.
fn nextest(args: &[&str], cwd: &Path) -> Vec<String> {
    let output = cargo()
        .arg("nextest")
        .args(args)
        .args(["--color", "never", "--no-fail-fast"])
        .current_dir(cwd)
        .output()
        .expect("cargo nextest runs");
    let text = strip_ansi(&String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "cargo nextest {args:?} failed\n{text}"
    );
    // `        PASS [   0.004s] isolated-test-unit-fixture parse::tests::pairs_parse`
    text.lines()
        .filter(|line| line.trim_start().starts_with("PASS ["))
        .filter_map(|line| line.split_whitespace().last())
        .map(str::to_owned)
        .collect()
}

fn run_args<'a>(partition: &'a str, target: &'a str) -> Vec<&'a str> {
    vec![
        "run",
        "--package",
        PACKAGE,
        "--lib",
        "--target-dir",
        target,
        "--partition",
        partition,
    ]
}

#[test]
fn shards_together_run_every_test_exactly_once() {
    if !nextest_is_installed() {
        return;
    }
    let target = target_dir();
    let target = target.to_str().unwrap();
    for kind in ["count", "hash"] {
        let mut seen = Vec::new();
        for shard in 1..=3 {
            let partition = format!("{kind}:{shard}/3");
            seen.extend(nextest(&run_args(&partition, target), &workspace()));
        }
        let unique: BTreeSet<&str> = seen.iter().map(String::as_str).collect();
        assert_eq!(
            seen.len(),
            ALL.len(),
            "{kind}: some test ran twice or not at all: {seen:?}"
        );
        assert_eq!(unique, ALL.into_iter().collect(), "{kind}");
    }
}

#[test]
#[ignore = "slow: builds a crate of its own; CI runs it (`-- --include-ignored`)"]
fn an_archive_runs_on_another_checkout() {
    if !nextest_is_installed() {
        return;
    }
    let dir = TempDir::new("nextest-archive");
    let archive = dir.path().join("suite.tar.zst");
    let target = target_dir();
    let status = cargo()
        .args(["nextest", "archive", "--package", PACKAGE, "--lib"])
        .arg("--target-dir")
        .arg(&target)
        .arg("--archive-file")
        .arg(&archive)
        .current_dir(workspace())
        .status()
        .expect("cargo nextest archive runs");
    assert!(status.success(), "cargo nextest archive failed");

    // Another checkout: the package's sources somewhere else, and no build there.
    let checkout = dir.path().join("checkout");
    let package = checkout.join("tests/unit-fixture");
    std::fs::create_dir_all(package.join("src")).unwrap();
    for file in ["Cargo.toml", "src/lib.rs"] {
        std::fs::copy(
            workspace().join("tests/unit-fixture").join(file),
            package.join(file),
        )
        .unwrap();
    }
    // nextest wants the workspace's manifest there too.
    std::fs::copy(workspace().join("Cargo.toml"), checkout.join("Cargo.toml")).unwrap();
    let ran = nextest(
        &[
            "run",
            "--archive-file",
            archive.to_str().unwrap(),
            "--workspace-remap",
            checkout.to_str().unwrap(),
        ],
        dir.path(),
    );
    let ran: BTreeSet<&str> = ran.iter().map(String::as_str).collect();
    assert_eq!(ran, ALL.into_iter().collect());
}

/// nextest reads a test's death from its process, and a failure's message from libtest's lines:
/// a test that segfaults is nextest's `SIGSEGV` (the harness of a run of one test dies as its
/// test died), and one that should have panicked but returned has libtest's note as its JUnit
/// message.
#[test]
fn failures_are_said_as_for_libtests_tests() {
    if !nextest_is_installed() {
        return;
    }
    let dir = TempDir::new("nextest-failures");
    let config = dir.path().join("nextest.toml");
    let store = dir.path().join("store");
    std::fs::write(
        &config,
        format!(
            "[store]\ndir = {store:?}\n\n[profile.ci]\nfail-fast = false\n\n[profile.ci.junit]\npath = \"junit.xml\"\n"
        ),
    )
    .unwrap();
    let output = cargo()
        .args([
            "nextest",
            "run",
            "--package",
            PACKAGE,
            "--lib",
            "--target-dir",
        ])
        .arg(target_dir())
        .arg("--config-file")
        .arg(&config)
        .args(["--profile", "ci", "--color", "never"])
        .args(["-E", "test(/when_asked|unless_asked/)"])
        .env("UNIT_FIXTURE_FAIL", "1")
        .current_dir(workspace())
        .output()
        .expect("cargo nextest runs");
    let text = strip_ansi(&String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(100), "{text}");
    let statuses: BTreeSet<(&str, &str)> = text
        .lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with("SIGSEGV [") || line.starts_with("FAIL ["))
        .filter_map(|line| {
            Some((
                line.split_whitespace().next()?,
                line.split_whitespace().last()?,
            ))
        })
        .collect();
    assert_eq!(
        statuses,
        BTreeSet::from([
            ("FAIL", "parse::tests::panics_unless_asked_not_to"),
            ("SIGSEGV", "parse::tests::segfaults_when_asked"),
        ]),
        "{text}"
    );
    let should_panic_at = crate::location_of(
        include_str!("../../unit-fixture/src/lib.rs"),
        "tests/unit-fixture/src/lib.rs",
        "panics_unless_asked_not_to()",
    );
    let junit = std::fs::read_to_string(store.join("ci/junit.xml")).expect("nextest's JUnit");
    let junit = roxmltree::Document::parse(&junit).unwrap();
    let messages: BTreeSet<(&str, &str)> = junit
        .descendants()
        .filter(|node| node.has_tag_name("failure"))
        .map(|failure| {
            let case = failure.parent().unwrap().attribute("name").unwrap();
            (case, failure.attribute("message").unwrap_or(""))
        })
        .collect();
    assert_eq!(
        messages,
        BTreeSet::from([
            (
                "parse::tests::panics_unless_asked_not_to",
                &*format!("note: test did not panic as expected at {should_panic_at}"),
            ),
            (
                "parse::tests::segfaults_when_asked",
                "process aborted with signal 11 (SIGSEGV)"
            ),
        ])
    );
}
