//! End to end: the built binary on copies of the crates under tests/fixtures/, each compared
//! whole against its expected/ tree (files/: the files that change; other files must not) and
//! the exact lines printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_cargo-isolated-test");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Every file under `dir` by relative path, less `expected/` and what a build leaves.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            if ["expected", "target", "Cargo.lock"].contains(&rel.as_str()) {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A copy of fixture `name` (without its expected/) in a fresh temporary directory.
fn copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in tree(&fixture(name)) {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, text).unwrap();
    }
    dir
}

/// (exit code, stdout, stderr) of the binary run in `dir`.
fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    outcome(Command::new(BIN).args(args).current_dir(dir))
}

/// (exit code, stdout, stderr) of `command`, run to its end.
fn outcome(command: &mut Command) -> (i32, String, String) {
    let out = command.output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap(),
        text(out.stdout),
        text(out.stderr),
    )
}

/// This repository's harness/ directory, which adopt depends on by default (it is beside the
/// sources the tool was built from).
fn harness() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../harness")
        .canonicalize()
        .unwrap()
}

/// `harness()` relative to `dir`, as adopt writes it into `dir/Cargo.toml`.
fn harness_from(dir: &Path) -> String {
    let (to, from) = (harness(), dir.canonicalize().unwrap());
    let common = to
        .components()
        .zip(from.components())
        .take_while(|(a, b)| a == b)
        .count();
    let ups = vec![".."; from.components().count() - common];
    let down: Vec<String> = to
        .components()
        .skip(common)
        .map(|c| c.as_os_str().to_str().unwrap().to_string())
        .collect();
    [ups.join("/"), down.join("/")]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

/// An expected file's text, with `HARNESS` standing for [`harness_from`] the copy in `dir`.
fn expect(text: &str, dir: &Path) -> String {
    text.replace("\"HARNESS\"", &format!("{:?}", harness_from(dir)))
}

fn expected_stdout(name: &str, file: &str, dir: &Path) -> String {
    let text = std::fs::read_to_string(fixture(name).join("expected").join(file)).unwrap();
    expect(&text, dir)
}

/// The fixture's files with expected/files/ laid over them, for the copy in `dir`.
fn expected_tree(name: &str, dir: &Path) -> BTreeMap<String, String> {
    let mut want = tree(&fixture(name));
    want.extend(
        tree(&fixture(name).join("expected/files"))
            .into_iter()
            .map(|(rel, text)| (rel, expect(&text, dir))),
    );
    want
}

fn assert_tree(dir: &Path, want: &BTreeMap<String, String>) {
    let got = tree(dir);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (rel, text) in want {
        assert_eq!(&got[rel], text, "{rel} differs from what was expected");
    }
}

#[test]
fn adopt_moves_every_kind_of_test_and_a_second_run_changes_nothing() {
    let dir = copy("basic");
    let (code, out, err) = run(dir.path(), &["adopt", "--no-build"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, expected_stdout("basic", "adopt.stdout", dir.path()));
    assert_tree(dir.path(), &expected_tree("basic", dir.path()));

    let (code, out, _) = run(dir.path(), &["isolated-test", "adopt"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "left alone: src/lib.rs:3: doc tests of package `basic` stay with rustdoc\n\
         nothing to change (targets: 0 adopted, 4 already adopted, 0 left alone)\n"
    );
    assert_tree(dir.path(), &expected_tree("basic", dir.path()));
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let dir = copy("basic");
    let want = expected_stdout("basic", "dry-run.stdout", dir.path());
    assert!(want.contains("+#[cfg_attr(not(miri), isolated_test::isolated_test)]\n"));
    for args in [
        &["adopt", "--dry-run"][..],
        &["isolated-test", "adopt", "--dry-run"],
        &[],
        &["isolated-test"],
    ] {
        let (code, out, err) = run(dir.path(), args);
        assert_eq!((code, err.as_str()), (0, ""), "{args:?}");
        assert_eq!(out, want, "{args:?}");
        assert_tree(dir.path(), &tree(&fixture("basic")));
    }
}

#[test]
fn what_cannot_move_safely_is_left_alone_and_named() {
    let dir = copy("left-alone");
    let (code, out, _) = run(dir.path(), &["adopt", "--no-build"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "left alone: tests/async_io.rs:1: test target `async_io` has #[tokio::test], another crate's test attribute isolated-test does not take over\n\
         left alone: tests/async_io.rs:5: test target `async_io` has #[serial], another crate's test attribute isolated-test does not take over\n\
         left alone: tests/benches.rs:7: test target `benches` has #[bench] (benchmarks stay with libtest)\n\
         left alone: tests/cfg_gated.rs:2: test target `cfg_gated` is cut out whole by #![cfg(feature=\"extra\")], and package `left-alone` has no feature `extra`: its tests never build\n\
         left alone: tests/custom.rs:1: test target `custom` has its own fn main (a custom harness)\n\
         left alone: tests/heap.rs:5: test target `heap` has a test named main (#[test] fn main), which under harness = false would clash with the fn main that isolated_test::main! writes; rename the test to adopt it\n\
         adopted: test target `plain`: [[test]] entry with harness = false, 1 #[test] rewritten, entry macro added\n\
         adopted: package `left-alone`: dev-dependency isolated-test\n\
         adopted: Cargo.toml: [profile.dev.package.isolated-test] opt-level = 3, debug = false, codegen-units = 16 (the harness and its counting allocator optimised, quick to build, the tests still in debug)\n\
         wrote Cargo.toml\n\
         wrote tests/plain.rs\n\
         not built (--no-build): nothing proved that no test is lost; `cargo isolated-test check` builds them\n\
         2 files changed (targets: 1 adopted, 0 already adopted, 5 left alone)\n"
    );
    assert_tree(dir.path(), &expected_tree("left-alone", dir.path()));
}

#[test]
fn a_virtual_root_adopts_every_member_and_p_picks_some() {
    let dir = copy("virtual");
    let (code, out, _) = run(dir.path(), &["adopt", "--no-build", "-p", "a"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "adopted: test target `t`: [[test]] entry with harness = false, 1 #[test] rewritten, entry macro added\n\
         adopted: package `a`: dev-dependency isolated-test\n\
         adopted: Cargo.toml: [profile.dev.package.isolated-test] opt-level = 3, debug = false, codegen-units = 16 (the harness and its counting allocator optimised, quick to build, the tests still in debug)\n\
         wrote a/Cargo.toml\n\
         wrote Cargo.toml\n\
         wrote a/tests/t.rs\n\
         not built (--no-build): nothing proved that no test is lost; `cargo isolated-test check` builds them\n\
         3 files changed (targets: 1 adopted, 0 already adopted, 0 left alone)\n"
    );
    let (code, out, _) = run(dir.path(), &["adopt", "--no-build"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "adopted: test target `t` of package `b`: [[test]] entry with harness = false, 1 #[test] rewritten, entry macro added\n\
         adopted: package `b`: dev-dependency isolated-test\n\
         wrote b/Cargo.toml\n\
         wrote b/tests/t.rs\n\
         not built (--no-build): nothing proved that no test is lost; `cargo isolated-test check` builds them\n\
         2 files changed (targets: 1 adopted, 1 already adopted, 0 left alone)\n"
    );
    let adopted = "#[isolated_test::isolated_test]\nfn works() {}\n\nisolated_test::main!();\n";
    let manifest = |name: &str| {
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
             [[test]]\nname = \"t\"\npath = \"tests/t.rs\"\nharness = false\n\n\
             [dev-dependencies]\nisolated-test = {{ path = {:?} }}\n",
            harness_from(&dir.path().join(name))
        )
    };
    let mut want = tree(&fixture("virtual"));
    // The profile goes in the root's manifest, the only one whose profiles cargo reads.
    let root = want["Cargo.toml"].clone();
    want.insert(
        "Cargo.toml".into(),
        format!(
            "{root}\n# The test harness and its counting allocator optimised, quick to build, the \
             tests still in\n# debug (isolated-test's user guide, \"Optimising the harness\").\n\
             [profile.dev.package.isolated-test]\nopt-level = 3\ndebug = false\ncodegen-units = 16\n"
        ),
    );
    for m in ["a", "b"] {
        want.insert(format!("{m}/tests/t.rs"), adopted.into());
        want.insert(format!("{m}/Cargo.toml"), manifest(m));
    }
    assert_tree(dir.path(), &want);
    let (code, out, _) = run(&dir.path().join("b"), &["check", "--no-build"]);
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            "ok: 2 targets checked in 1 package, 1 using isolated-test, no test lost\n"
        )
    );
}

#[test]
fn check_names_every_lost_test() {
    let dir = copy("broken");
    let (code, out, err) = run(dir.path(), &["check"]);
    // Sources that lose tests on their face are not built.
    assert_eq!((code, err.as_str()), (1, ""));
    assert_eq!(
        out,
        "tests/mixed.rs:5: plain #[test] in test target `mixed` (harness = false) never runs: make it #[isolated_test]\n\
         tests/mixed.rs:8: plain #[test] in test target `mixed` (harness = false) never runs: make it #[isolated_test]\n\
         tests/no_harness.rs:3: test target `no_harness` uses isolated-test but Cargo.toml does not give it harness = false\n\
         tests/no_main.rs:2: test target `no_main` registers #[isolated_test] tests but has no isolated_test::main!(), so none runs\n"
    );
    assert_tree(dir.path(), &tree(&fixture("broken")));
}

#[test]
fn check_passes_an_adopted_crate() {
    let dir = copy("basic");
    assert_eq!(
        run(dir.path(), &["check"]).1,
        "ok: 4 targets checked in 1 package, 0 using isolated-test, no test lost\n"
    );
    assert_eq!(run(dir.path(), &["adopt", "--no-build"]).0, 0);
    let (code, out, _) = run(
        dir.path(),
        &["isolated-test", "check", "--no-build", "-p", "basic"],
    );
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "ok: 4 targets checked in 1 package, 4 using isolated-test, no test lost\n"
    );
}

#[test]
fn errors_are_one_line_and_exit_2() {
    let dir = copy("basic");
    let cases: [(&[&str], String); 3] = [
        (
            &["check", "-p", "nope"],
            "error: package `nope` is not a member of this workspace\n".into(),
        ),
        (
            &["adopt", "--bogus"],
            "error: unexpected argument '--bogus' found\n".into(),
        ),
        (
            &["check", "--manifest-path", "missing/Cargo.toml"],
            "error: manifest path `missing/Cargo.toml` does not exist\n".into(),
        ),
    ];
    for (args, want) in cases {
        let (code, out, err) = run(dir.path(), args);
        assert_eq!((code, out.as_str(), err), (2, "", want), "{args:?}");
    }
    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = run(empty.path(), &["adopt"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        format!(
            "error: could not find Cargo.toml in {} or any parent directory\n",
            empty.path().display()
        )
    );
}

/// `cargo test ARGS` on a copy of fixture `name` adopted with `--path` to this repository's
/// harness: its stdout, after asserting it passed.
fn adopt_and_test(name: &str, args: &[&str]) -> String {
    let dir = copy(name);
    let harness = harness();
    let adopt = ["adopt", "--no-build", "--path", harness.to_str().unwrap()];
    assert_eq!(run(dir.path(), &adopt).0, 0);
    // The workspace's lock file pins the harness's dependencies: no resolution, no surprise.
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    std::fs::copy(lock, dir.path().join("Cargo.lock")).unwrap();
    let out = Command::new(env!("CARGO"))
        .args(["test", "--quiet"])
        .args(args)
        .current_dir(dir.path())
        .env("CARGO_TARGET_DIR", shared_target())
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "cargo test failed:\n{stdout}\n{stderr}"
    );
    stdout
}

fn assert_lines(stdout: &str, lines: &[&str]) {
    for line in lines {
        assert!(
            stdout.lines().any(|l| l == *line),
            "no `{line}` in:\n{stdout}"
        );
    }
}

/// The point of it all: an adopted crate builds and its tests pass under isolated-test.
#[test]
#[ignore = "slow: builds a crate of its own; CI runs it (`-- --include-ignored`)"]
fn an_adopted_crate_passes_its_tests_under_isolated_test() {
    let stdout = adopt_and_test("basic", &[]);
    // The lib's unit tests, the macro_rules! and cfg_attr ones, a module's, the ignored one:
    // every test libtest ran now runs under isolated-test, by name.
    assert_lines(
        &stdout,
        &[
            "test inner::doubles ... ok",
            "test inner::doubles_zero ... ok",
            "test tests::adds ... ok",
            "test tests::overflows - should panic ... ok",
            "test small ... ok",
            "test negative ... ok",
            "test note_is_kept ... ok",
            "test helper::helper_module_test ... ok",
            "test in_a_directory ... ok",
            "test explicit_runs ... ok",
            "test explicit_ignored ... ignored, slow",
        ],
    );
}

#[test]
#[ignore = "slow: builds a crate of its own; CI runs it (`-- --include-ignored`)"]
fn a_2015_edition_crate_gets_its_extern_crates_and_keeps_its_discovered_tests() {
    let dir = copy("edition2015");
    let (code, out, err) = run(dir.path(), &["adopt", "--no-build"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        expected_stdout("edition2015", "adopt.stdout", dir.path())
    );
    assert_tree(dir.path(), &expected_tree("edition2015", dir.path()));
    let (code, out, _) = run(dir.path(), &["adopt"]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "left alone: tests/unix_only.rs:3: test target `unix_only` is cut out whole by #![cfg(unix)], which asks for more than features (under harness = false it would have no main when the cfg is off, and cargo's required-features stands only for features)\n\
         nothing to change (targets: 0 adopted, 3 already adopted, 1 left alone)\n"
    );
    assert_tree(dir.path(), &expected_tree("edition2015", dir.path()));
    assert_eq!(
        run(dir.path(), &["check", "--no-build"]).1,
        "ok: 4 targets checked in 1 package, 3 using isolated-test, no test lost\n"
    );
    // It builds: `isolated_test::...` resolves in modules, the expansions' `::core` and
    // `::isolated_test` at the root (under the lib's cfg_attr(not(test), no_std) too);
    // tests/gated.rs runs with its feature, and tests/unix_only.rs, left alone, is still found
    // beside the new [[test]] entries.
    let stdout = adopt_and_test("edition2015", &["--features", "gated"]);
    assert_lines(
        &stdout,
        &[
            "test inner::halves ... ok",
            "test tests::doubles ... ok",
            "test tests::overflows - should panic ... ok",
            "test nested::from_a_module ... ok",
            "test doubles_from_outside ... ok",
            "test only_with_the_feature ... ok",
        ],
    );
    // unix_only.rs's one test ran under libtest, which `cargo test --quiet` makes terse.
    assert!(
        stdout.contains("running 1 test\n.\n"),
        "tests/unix_only.rs did not run:\n{stdout}"
    );
}

mod builds;

use builds::shared_target;
