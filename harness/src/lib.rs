//! A test harness that runs every test in its own forked child process.
//!
//! A test that segfaults, aborts, calls `exit`, hangs, leaks or poisons global state takes only
//! its own child down; the run goes on and says exactly why that test failed.
//!
//! ```toml
//! # Cargo.toml
//! [dev-dependencies]
//! isolated-test = "0.1"
//!
//! [[test]]
//! name = "my_suite"
//! harness = false
//! ```
//!
//! ```no_run
//! // tests/my_suite.rs
//! use isolated_test::isolated_test;
//!
//! #[isolated_test]
//! fn adds() {
//!     assert_eq!(1 + 1, 2);
//! }
//!
//! #[isolated_test(timeout = "2s", leak_limit = 4096)]
//! fn returns_result() -> Result<(), String> {
//!     Ok(())
//! }
//!
//! #[isolated_test]
//! #[should_panic(expected = "boom")]
//! fn explodes() {
//!     panic!("boom")
//! }
//!
//! isolated_test::main!();
//! ```
//!
//! `cargo test` then runs each test in a forked child and prints libtest's lines
//! (`test adds ... ok`), with a reason line and the captured output under every failure. All of
//! libtest's usual flags work: a filter, `--exact`, `--skip`, `--ignored`, `--include-ignored`,
//! `--list`, `--test-threads`, `--nocapture`, `--show-output`, `--color`, `-q`.
//!
//! # Attribute arguments
//!
//! | argument | meaning |
//! |---|---|
//! | `timeout = "2s"` | kill the test's process group after this long ([humantime] syntax); overrides `ISOLATED_TEST_TIMEOUT` |
//! | `leak_limit = 4096` | bytes of net heap growth allowed; overrides `ISOLATED_TEST_LEAK_LIMIT` |
//! | `allow_leaks` | report leaks, never fail for them |
//!
//! `#[should_panic]`, `#[should_panic(expected = "..")]` and `#[ignore]`/`#[ignore = ".."]` work as
//! with `#[test]`, written before or after `#[isolated_test]`.
//!
//! # Environment
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `ISOLATED_TEST_TIMEOUT` | `60s` | each test's timeout; `0` for none |
//! | `ISOLATED_TEST_LEAK_LIMIT` | `0` | bytes of net heap growth a test may leave behind |
//! | `ISOLATED_TEST_SELF_CHECK` | off | `1`: check the harness ends with the descriptors it started with and no child |
//!
//! [humantime]: https://docs.rs/humantime

#![deny(missing_docs)]

#[cfg(not(unix))]
compile_error!("isolated-test forks a child per test and supports Unix-like systems only");

mod alloc;
mod capture;
mod child;
mod config;
mod fork;
mod junit;
mod leak_sites;
mod orphans;
mod plan;
mod protocol;
mod registry;
mod report;
mod runner;
mod scheduler;
mod signals;
mod size;
mod supervisor;
mod symbols;
mod verdict;

pub use alloc::{CountingAllocator, HeapDelta};
/// Marks a function as a test that runs in its own child process. See the [crate] docs.
pub use isolated_test_macros::isolated_test;

/// Installs the counting global allocator and writes the test target's `main`.
///
/// End every test file that uses `#[isolated_test]` (with `harness = false`) with:
///
/// ```no_run
/// isolated_test::main!();
/// ```
///
/// To wrap another global allocator, name it: it must be a unit struct that implements
/// [`GlobalAlloc`](std::alloc::GlobalAlloc), such as `std::alloc::System`.
///
/// ```no_run
/// isolated_test::main!(allocator = std::alloc::System);
/// ```
#[macro_export]
macro_rules! main {
    () => {
        $crate::main!(allocator = ::std::alloc::System);
    };
    (allocator = $allocator:path $(,)?) => {
        #[global_allocator]
        static __ISOLATED_TEST_ALLOCATOR: $crate::CountingAllocator<$allocator> =
            $crate::CountingAllocator::new($allocator);

        fn main() {
            $crate::__private::run_main()
        }
    };
}

/// Not public API: what `#[isolated_test]` and `main!` expand to.
#[doc(hidden)]
pub mod __private {
    pub use crate::registry::{ExpectedEnd, Ignore, LeakPolicy, ShouldPanic, TestCase, TestReturn};
    pub use crate::runner::run_main;
    pub use core::time::Duration;
    pub use inventory;
    pub use libc;
}
