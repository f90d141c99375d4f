//! The tests that build what they adopt: a scratch crate, adopted, then built and run by cargo
//! under libtest and under isolated-test, the verdicts compared.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{assert_lines, assert_tree, copy, fixture, outcome, run, tree, BIN};

/// One target directory for every crate these tests build: isolated-test and the crates.io
/// dependencies are compiled once (cargo's lock on it takes the tests in turn).
pub(super) fn shared_target() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("scratch")
}

/// A crate made of `files` in a fresh temporary directory, with this workspace's lock file, so
/// that isolated-test's dependencies resolve as they are pinned here.
fn scratch(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, text).unwrap();
    }
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    std::fs::copy(lock, dir.path().join("Cargo.lock")).unwrap();
    dir
}

/// (exit code, stdout, stderr) of the tool run in `dir`, building in [`shared_target`].
fn run_built(dir: &Path, args: &[&str]) -> (i32, String, String) {
    outcome(
        Command::new(BIN)
            .args(args)
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", shared_target())
            .env_remove("RUSTFLAGS"),
    )
}

/// `cargo test -q ARGS` in `dir`: (success, stdout).
fn cargo_test(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO"))
        .args(["test", "-q"])
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", shared_target())
        .env_remove("RUSTFLAGS")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.success(), format!("{stdout}\n{stderr}"))
}

const SCRATCH_MANIFEST: &str = r#"[package]
name = "scratch"
version = "0.1.0"
edition = "2021"
publish = false

[features]
std = []

[dev-dependencies]
quickcheck = { version = "1", default-features = false }
helper = { path = "helper" }

[workspace]
"#;

/// A crate whose tests libtest runs and the first adopt lost or could not take: tests
/// quickcheck!'s macro writes (in the lib and a test target), a macro of another crate that
/// writes `#[core::prelude::v1::test]` (no import reaches it), `#[test] fn main` in a module,
/// its own `#[global_allocator]` whose statistics a test reads, and roots cut out by
/// `#![cfg(...)]`.
fn issue_22_crate() -> tempfile::TempDir {
    scratch(&[
        ("Cargo.toml", SCRATCH_MANIFEST),
        (
            "helper/Cargo.toml",
            "[package]\nname = \"helper\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        ),
        (
            "helper/src/lib.rs",
            "#[macro_export]\nmacro_rules! unreachable_test {\n    ($name:ident) => {\n        #[::core::prelude::v1::test]\n        fn $name() {}\n    };\n}\n",
        ),
        (
            "src/lib.rs",
            "pub fn double(x: u32) -> u32 {\n    x.wrapping_mul(2)\n}\n\n#[cfg(test)]\nmod tests {\n    quickcheck::quickcheck! {\n        fn doubles_are_even(x: u32) -> bool { super::double(x) % 2 == 0 }\n    }\n\n    #[test]\n    fn two() {\n        assert_eq!(super::double(1), 2);\n    }\n}\n",
        ),
        (
            "tests/quick.rs",
            "use quickcheck::quickcheck;\n\nquickcheck! {\n    fn reverse_twice(xs: Vec<u8>) -> bool {\n        let mut ys = xs.clone();\n        ys.reverse();\n        ys.reverse();\n        xs == ys\n    }\n    fn double_is_even(x: u32) -> bool { scratch::double(x) % 2 == 0 }\n}\n\n#[test]\nfn plain() {}\n",
        ),
        (
            "tests/unreachable.rs",
            "helper::unreachable_test!(written_by_helper);\n\n#[test]\nfn kept() {}\n",
        ),
        (
            "tests/main_in_mod.rs",
            "mod entry {\n    #[test]\n    fn main() {}\n}\n\n#[test]\nfn other() {}\n",
        ),
        (
            "tests/alloc.rs",
            "use std::alloc::{GlobalAlloc, Layout, System};\nuse std::sync::atomic::{AtomicUsize, Ordering::Relaxed};\n\nstruct Stats(AtomicUsize);\n\nunsafe impl GlobalAlloc for Stats {\n    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {\n        self.0.fetch_add(1, Relaxed);\n        System.alloc(layout)\n    }\n    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {\n        System.dealloc(ptr, layout)\n    }\n}\n\n#[global_allocator]\nstatic GLOBAL: Stats = Stats(AtomicUsize::new(0));\n\n#[test]\nfn counts_its_allocations() {\n    let before = GLOBAL.0.load(Relaxed);\n    let b = std::hint::black_box(Box::new(1u64));\n    assert_eq!(GLOBAL.0.load(Relaxed), before + 1);\n    drop(b);\n}\n\n#[test]\nfn leaks() {\n    std::mem::forget(std::hint::black_box(vec![0u8; 300]));\n}\n",
        ),
        (
            "tests/std_only.rs",
            "#![cfg(feature = \"std\")]\n\n#[test]\nfn needs_std() {}\n",
        ),
        (
            "tests/unix_only.rs",
            "#![cfg(unix)]\n\n#[test]\nfn on_unix() {}\n",
        ),
    ])
}

/// Issue #22's rows, on one crate built once: every test libtest ran is listed under
/// isolated-test after adopt, or its target is put back and the test named (exit 1).
#[test]
#[ignore = "slow: builds a crate of its own; CI runs it (`-- --include-ignored`)"]
fn adopt_proves_by_building_that_no_test_is_lost() {
    let dir = issue_22_crate();
    let (code, out, err) = run_built(dir.path(), &["adopt"]);
    assert_eq!(
        out,
        "adopted: lib of package `scratch`: [lib] harness = false, 1 #[test] rewritten, `use isolated_test::test;` added to 1 module (for #[test]s another crate's macro writes), entry macro added\n\
         adopted: test target `alloc`: [[test]] entry with harness = false, 2 #[test] rewritten, entry macro added, counting through its #[global_allocator] static GLOBAL\n\
         adopted: test target `main_in_mod`: [[test]] entry with harness = false, 2 #[test] rewritten, entry macro added\n\
         adopted: test target `quick`: [[test]] entry with harness = false, 1 #[test] rewritten, `use isolated_test::test;` added to 1 module (for #[test]s another crate's macro writes), entry macro added\n\
         adopted: test target `std_only`: [[test]] entry with harness = false, required-features = [\"std\"], 1 #[test] rewritten, entry macro added\n\
         left alone: tests/unix_only.rs:1: test target `unix_only` is cut out whole by #![cfg(unix)], which asks for more than features (under harness = false it would have no main when the cfg is off, and cargo's required-features stands only for features)\n\
         left alone: tests/unreachable.rs:1: test target `unreachable` stays with libtest: 1 of its 2 tests would not run under isolated-test: written_by_helper\n\
         adopted: package `scratch`: dev-dependency isolated-test\n\
         adopted: Cargo.toml: [profile.dev.package.isolated-test] opt-level = 3, debug = false, codegen-units = 16 (the harness and its counting allocator optimised, quick to build, the tests still in debug)\n\
         wrote Cargo.toml\n\
         wrote src/lib.rs\n\
         wrote tests/alloc.rs\n\
         wrote tests/main_in_mod.rs\n\
         wrote tests/quick.rs\n\
         wrote tests/std_only.rs\n\
         built: all 10 tests libtest ran in the 5 targets adopted are listed under isolated-test\n\
         6 files changed (targets: 5 adopted, 0 already adopted, 2 left alone)\n",
        "stderr: {err}"
    );
    assert_eq!(code, 1, "a target it meant to adopt was put back");
    // Put back as it was, whole.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("tests/unreachable.rs")).unwrap(),
        "helper::unreachable_test!(written_by_helper);\n\n#[test]\nfn kept() {}\n"
    );
    let quick = std::fs::read_to_string(dir.path().join("tests/quick.rs")).unwrap();
    assert!(
        quick.starts_with(
            "#[allow(unused_imports)]\nuse isolated_test::test;\nuse quickcheck::quickcheck;\n"
        ),
        "{quick}"
    );
    let alloc = std::fs::read_to_string(dir.path().join("tests/alloc.rs")).unwrap();
    assert!(!alloc.contains("#[global_allocator]"), "{alloc}");
    assert!(
        alloc.ends_with("\nisolated_test::main!(allocator = &GLOBAL);\n"),
        "{alloc}"
    );
    let manifest = std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap();
    assert!(manifest.contains("[[test]]\nname = \"std_only\"\npath = \"tests/std_only.rs\"\nharness = false\nrequired-features = [\"std\"]\n"), "{manifest}");

    // Every test runs, the allocator's statistics move, and a leak is counted through it.
    let (ok, stdout) = cargo_test(dir.path(), &["--features", "std", "--no-fail-fast"]);
    assert!(!ok, "the leak should fail:\n{stdout}");
    assert_lines(
        &stdout,
        &[
            "test tests::doubles_are_even ... ok",
            "test tests::two ... ok",
            "test counts_its_allocations ... ok",
            "test leaks ... FAILED",
            "leaked 300 bytes in 1 allocation (limit: 0 bytes); allow it with #[isolated_test(leak_limit = 300)] or #[isolated_test(allow_leaks)]",
            "test entry::main ... ok",
            "test other ... ok",
            "test reverse_twice ... ok",
            "test double_is_even ... ok",
            "test plain ... ok",
            "test needs_std ... ok",
        ],
    );
    // The two left to libtest ran there (terse under -q): unix_only's one, unreachable's two.
    assert!(stdout.contains("running 1 test\n.\n"), "{stdout}");
    assert!(stdout.contains("running 2 tests\n..\n"), "{stdout}");

    let (code, out, _) = run_built(dir.path(), &["check"]);
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            "ok: 7 targets checked in 1 package, 5 using isolated-test, no test lost\n"
        )
    );
    // Without the import, quickcheck!'s tests are dropped: the build-based check names them,
    // where reading the sources alone sees nothing wrong.
    std::fs::write(
        dir.path().join("tests/quick.rs"),
        quick.replace("#[allow(unused_imports)]\nuse isolated_test::test;\n", ""),
    )
    .unwrap();
    let (code, out, _) = run_built(dir.path(), &["check", "--no-build"]);
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            "ok: 7 targets checked in 1 package, 5 using isolated-test, no test lost\n"
        )
    );
    let (code, out, _) = run_built(dir.path(), &["check"]);
    assert_eq!(
        (code, out.as_str()),
        (
            1,
            "tests/quick.rs: test `double_is_even` of test target `quick` never runs: rustc drops its #[test] under harness = false (another crate's macro wrote it? `use isolated_test::test;` in the module that calls the macro makes it an isolated test)\n\
             tests/quick.rs: test `reverse_twice` of test target `quick` never runs: rustc drops its #[test] under harness = false (another crate's macro wrote it? `use isolated_test::test;` in the module that calls the macro makes it an isolated test)\n"
        )
    );
}

/// A dependency that does not resolve stops adopt before anything is built or changed.
#[test]
#[ignore = "slow: builds a crate of its own; CI runs it (`-- --include-ignored`)"]
fn a_dependency_that_does_not_resolve_changes_nothing() {
    let dir = copy("virtual");
    let url = format!("file://{}/no-such-repository", dir.path().display());
    let (code, out, err) = run(dir.path(), &["adopt", "--git", &url, "--branch", "main"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with("error: the isolated-test dependency does not resolve (")
            && err.ends_with("); nothing was changed\n")
            && err.lines().count() == 1,
        "{err}"
    );
    assert_tree(dir.path(), &tree(&fixture("virtual")));
    let (code, out, _) = run(
        dir.path(),
        &[
            "adopt",
            "--no-build",
            "-p",
            "a",
            "--git",
            &url,
            "--rev",
            "abc123",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let manifest = std::fs::read_to_string(dir.path().join("a/Cargo.toml")).unwrap();
    assert!(
        manifest.ends_with(&format!(
            "[dev-dependencies]\nisolated-test = {{ git = \"{url}\", rev = \"abc123\" }}\n"
        )),
        "{manifest}"
    );
}

/// A suite that builds only with a feature on (`compile_error!` without it) is adopted and
/// checked with cargo's feature selection, which every build they make is given.
#[test]
#[ignore = "slow: builds a crate of its own; CI runs it (`-- --include-ignored`)"]
fn feature_selection_reaches_every_build() {
    let dir = scratch(&[
        (
            "Cargo.toml",
            "[package]\nname = \"featured\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[features]\nextra = []\n\n[workspace]\n",
        ),
        ("src/lib.rs", ""),
        (
            "tests/t.rs",
            "#[cfg(not(feature = \"extra\"))]\ncompile_error!(\"the suite needs `--features extra`\");\n\n#[test]\nfn with_extra() {}\n",
        ),
    ]);
    let untouched = tree(dir.path());
    let (code, out, err) = run_built(dir.path(), &["adopt"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            0,
            "left alone: tests/t.rs:1: test target `t`: does not build under libtest as it is: error: the suite needs `--features extra` (at tests/t.rs:2:1)\n\
             nothing to change (targets: 0 adopted, 0 already adopted, 1 left alone)\n",
            ""
        )
    );
    assert_tree(dir.path(), &untouched);
    let (code, out, err) = run_built(dir.path(), &["adopt", "--features", "extra"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            0,
            "adopted: test target `t`: [[test]] entry with harness = false, 1 #[test] rewritten, entry macro added\n\
             adopted: package `featured`: dev-dependency isolated-test\n\
             adopted: Cargo.toml: [profile.dev.package.isolated-test] opt-level = 3, debug = false, codegen-units = 16 (the harness and its counting allocator optimised, quick to build, the tests still in debug)\n\
             wrote Cargo.toml\n\
             wrote tests/t.rs\n\
             built: all 1 tests libtest ran in the 1 target adopted are listed under isolated-test\n\
             2 files changed (targets: 1 adopted, 0 already adopted, 0 left alone)\n",
            ""
        )
    );
    let (code, out, err) = run_built(dir.path(), &["check"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        "error: test target `t` does not build as a libtest binary, so its tests cannot be checked: error: the suite needs `--features extra` (at tests/t.rs:2:1)\n"
    );
    let ok = "ok: 2 targets checked in 1 package, 1 using isolated-test, no test lost\n";
    for args in [
        &["check", "-F", "extra"][..],
        &["check", "--all-features"],
        &["check", "--no-default-features", "--features", "extra"],
    ] {
        let (code, out, err) = run_built(dir.path(), args);
        assert_eq!((code, out.as_str(), err.as_str()), (0, ok, ""), "{args:?}");
    }
}
