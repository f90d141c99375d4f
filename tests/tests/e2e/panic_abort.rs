//! `#[should_panic]` in a binary built with `panic = "abort"` (fixtures/panic_abort.rs): the panic
//! hook reports the panic before the abort, so the verdict is the same as with unwinding.

use std::path::PathBuf;

use isolated_test_e2e::{build_fixture_apart, Harness};

const SOURCE: &str = include_str!("../../fixtures/panic_abort.rs");
const FILE: &str = "tests/fixtures/panic_abort.rs";

/// Builds the fixture with `panic = "abort"`, apart from the normal build.
fn build_with_panic_abort() -> PathBuf {
    let target_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("panic-abort");
    build_fixture_apart("panic_abort", &target_dir, |cargo| {
        cargo.args(["--config", "profile.dev.panic=\"abort\""]);
    });
    target_dir.join("debug").join("panic_abort")
}

#[test]
#[ignore = "slow: builds the suite with panic = abort; CI runs it (`-- --include-ignored`)"]
fn should_panic_works_when_panics_abort() {
    let run = Harness::new(build_with_panic_abort()).run();
    run.assert_ok("is_built_with_panic_abort");
    run.assert_ok("panics_as_it_should");
    let bang = crate::location_of(SOURCE, FILE, "panic!(\"bang\")");
    run.assert_failed(
        "panics_with_the_wrong_message",
        &format!(
            "panicked at {bang}: bang, but should have panicked with a message containing \"boom\""
        ),
    );
    let oops = crate::location_of(SOURCE, FILE, "panic!(\"oops\")");
    run.assert_failed("panics_unexpectedly", &format!("panicked at {oops}: oops"));
    run.assert_exit_code(101);
}
