//! A test harness that runs every test in its own child process: a fork on Unix, the test binary
//! started again on Windows.
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
//! `harness = false` hands the target to isolated-test instead of libtest, so a plain `#[test]`
//! function in such a target does not run: make it an `#[isolated_test]` (`#[test]` below the
//! attribute is a compile error; above it, rustc drops the function outside libtest). A target
//! that forgot `harness = false` fails under libtest with one test,
//! `isolated_tests_need_harness_false`: `add harness = false to the [[test]] target NAME`.
//!
//! `cargo test` runs each test in a forked child and prints libtest's lines
//! (`test adds ... ok`), with a reason line, a `memory:` line and the captured output under every
//! failure. libtest's command line works as libtest's does: filters, `--exact`, `--skip`,
//! `--ignored`, `--include-ignored`, `--list`, `--test-threads`, `--nocapture`, `--show-output`,
//! `--color`, `-q`, `--logfile`, and behind `-Z unstable-options` (`RUSTC_BOOTSTRAP=1` on a
//! stable toolchain) `--format json|junit`, `--report-time`, `--ensure-time`, `--shuffle`,
//! `--shuffle-seed`, `--exclude-should-panic`, `--fail-fast`, with libtest's output byte for
//! byte, and a refused flag in libtest's words with its exit code. cargo-nextest
//! runs them too (see
//! [Running at scale](#running-at-scale-with-cargo-nextest)). On a terminal, a live status line
//! below libtest's lines shows the tests done, the failures so far and the tests running.
//!
//! An `async fn` test runs to completion in its child, on a current-thread tokio runtime (the
//! `tokio` feature) or on the runtime `runtime = path::to::block_on` names:
//!
//! ```ignore
//! #[isolated_test]
//! async fn fetches_the_answer() {
//!     assert_eq!(fetch_answer().await, 42);
//! }
//! ```
//!
//! # Unit tests next to the code
//!
//! A library's unit tests, in its private modules, can be `#[isolated_test]`s too: set
//! `harness = false` on the library's target, add `isolated-test` as a dev-dependency, and end
//! `lib.rs` with `#[cfg(test)] isolated_test::main!();`. The library's plain `#[test]` functions
//! then no longer run: make them `#[isolated_test]`s.
//!
//! ```toml
//! # Cargo.toml
//! [lib]
//! harness = false
//!
//! [dev-dependencies]
//! isolated-test = "0.1"
//! ```
//!
//! ```no_run
//! // src/lib.rs
//! mod parse {
//!     fn number(text: &str) -> Option<i32> {
//!         text.trim().parse().ok()
//!     }
//!
//!     #[cfg(test)]
//!     mod tests {
//!         use isolated_test::isolated_test;
//!
//!         use super::*;
//!
//!         #[isolated_test]
//!         fn a_private_function_is_tested_directly() {
//!             assert_eq!(number(" 7 "), Some(7));
//!         }
//!     }
//! }
//!
//! #[cfg(test)]
//! isolated_test::main!();
//! ```
//!
//! `cargo test` runs them as `parse::tests::a_private_function_is_tested_directly`. The
//! repository's `tests/unit-fixture` is a working example.
//!
//! # Leaks: lost or still reachable
//!
//! A test whose heap grew past its `leak_limit` runs once more, tracking its allocations, and the
//! blocks it left are told apart as LeakSanitizer tells them: a conservative scan from the
//! statics, thread-local storage, live threads' stacks and the heap from before the body. Only
//! blocks that nothing reaches any more (**lost**) count; memory a static, a thread-local or a
//! live thread still reaches passes, and shows in the memory line as `still reachable`.
//!
//! ```no_run
//! use isolated_test::isolated_test;
//! use std::sync::OnceLock;
//!
//! static NAMES: OnceLock<Vec<String>> = OnceLock::new();
//!
//! #[isolated_test]
//! fn still_reachable_passes() {
//!     NAMES.get_or_init(|| vec!["ada".to_owned()]);
//! }
//!
//! // Fails: "leaked 200 bytes in 1 allocation (limit: 0 bytes); ...", then where it was allocated.
//! #[isolated_test]
//! fn lost_fails() {
//!     std::mem::forget(vec![0u8; 200]);
//! }
//!
//! // Fails for the 24 bytes of `Vec` and 3 of `String` the static keeps: all growth counts.
//! #[isolated_test(strict_leaks)]
//! fn strict_counts_everything() {
//!     NAMES.get_or_init(|| vec!["ada".to_owned()]);
//! }
//!
//! isolated_test::main!();
//! ```
//!
//! # Death tests and memory limits
//!
//! A death test passes only if its child ends the way it names: killed by a signal, or exiting
//! with a status before the body finishes. `stderr` also checks what it printed first. A memory
//! limit fails the allocation that would take the test's live heap over it, and the test with it.
//!
//! ```no_run
//! use isolated_test::isolated_test;
//!
//! #[isolated_test(signal = "SIGABRT", stderr = "invariant broken")]
//! fn aborts_on_a_broken_invariant() {
//!     eprintln!("invariant broken: 3 items in an empty list");
//!     std::process::abort();
//! }
//!
//! #[isolated_test(exit_code = 2)]
//! fn exits_with_status_2() {
//!     std::process::exit(2);
//! }
//!
//! // Fails: "exceeded its memory limit of 16 MiB (allocating 33554432 bytes with 0 B live)".
//! #[isolated_test(memory_limit = "16MiB")]
//! fn loads_the_whole_file() {
//!     let contents = vec![0u8; 32 << 20];
//!     std::hint::black_box(contents);
//! }
//!
//! isolated_test::main!();
//! ```
//!
//! A death test that ends another way fails with, for example, `should have been killed by signal
//! 6 (SIGABRT), but it returned normally`.
//!
//! # Attribute arguments
//!
//! | argument | meaning |
//! |---|---|
//! | `timeout = "2s"` | kill the test's process group after this long ([humantime] syntax); default `ISOLATED_TEST_TIMEOUT` |
//! | `leak_limit = 4096` | bytes of lost heap allowed; default `ISOLATED_TEST_LEAK_LIMIT` |
//! | `allow_leaks` | report leaks (heap and descriptors) after the summary, never fail for them |
//! | `strict_leaks` | all heap growth counts against `leak_limit`, still reachable or not, and threads still running fail the test; default `ISOLATED_TEST_STRICT_LEAKS` |
//! | `memory_limit = "64MiB"` | fail the allocation that would take the test's live heap over this, and the test with it; also caps the child's address space (`RLIMIT_AS`); default `ISOLATED_TEST_MEMORY_LIMIT` |
//! | `max_peak = "8MiB"` | fail a test whose heap peaked more than this above where it began, even if it freed it all |
//! | `signal = "SIGSEGV"` | a death test: pass only if the child is killed by this signal (`"SEGV"` or `11` work too) |
//! | `exit_code = 3` | pass only if the child exits with exactly this status before the body finishes |
//! | `stderr = "regex"` | with `signal`, `exit_code` or `#[should_panic]`: the captured stderr must also match ([regex-lite] syntax: the regex crate's, with ASCII-only classes and no `\p{..}`; anywhere unless anchored) |
//! | `retries = 2` | run a failing test again in a fresh child, up to this many times; default `ISOLATED_TEST_RETRIES` |
//! | `serial = "database"` | no two tests of the group run at the same time, in any of the run's children (under cargo-nextest, which runs each test in a process of its own, use its test groups) |
//! | `runtime = path::to::block_on` | for an `async fn` test: the function that runs its future to completion, instead of the `tokio` feature's current-thread runtime |
//! | `setup = warm_up` | run `fn warm_up()` once per run, and fork this test from the process it ran in; also `main!(setup = warm_up)` for every test |
//!
//! Sizes are bytes or take a unit (`KiB`, `MiB`, `GiB` in 1024s; `KB`, `MB`, `GB` in 1000s).
//! Contradictions are compile errors: `signal` with `exit_code`, either with `#[should_panic]`,
//! `leak_limit` with `allow_leaks`, leak settings or `max_peak` on a test that must die, and
//! `stderr` without `signal`, `exit_code` or `#[should_panic]`.
//!
//! `#[should_panic]`, `#[should_panic(expected = "..")]` and `#[ignore]`/`#[ignore = ".."]` work as
//! with `#[test]`, written before or after `#[isolated_test]`. `#[should_panic]` works in a binary
//! built with `panic = "abort"` too.
//!
//! # Environment
//!
//! | environment variable | default | meaning |
//! |---|---|---|
//! | `ISOLATED_TEST_TIMEOUT` | none | each test's timeout ([humantime] syntax); `0`: none. As under libtest, no test is timed out unless this, `main!` or its attribute sets one |
//! | `ISOLATED_TEST_LEAK_LIMIT` | `0` | bytes of lost heap a test may leave behind |
//! | `ISOLATED_TEST_STRICT_LEAKS` | `0` | `1`: all heap growth counts as a leak, still reachable or not |
//! | `ISOLATED_TEST_MEMORY_LIMIT` | none | each test's memory limit, like `64MiB`; `0`: none |
//! | `ISOLATED_TEST_RETRIES` | `0` | how many times a failing test is run again |
//! | `ISOLATED_TEST_SLOW_AFTER` | `60s` | print libtest's `test NAME has been running for over 60 seconds` on stderr after this long, with where the test is; `0`: never |
//! | `ISOLATED_TEST_SETUP_TIMEOUT` | `120s` | how long a `setup` may run before the tests that need it fail; `0`: no limit |
//! | `ISOLATED_TEST_LEAK_SITES` | `1` | `0`: the run that tells lost from still reachable records no call stacks (faster, names no sites) |
//! | `ISOLATED_TEST_REPORT` | off | `memory`: after the run, list each passing test's memory line, and where its still reachable growth came from |
//! | `ISOLATED_TEST_JUNIT` | off | a path: write a JUnit XML report of the run there; `%p` in it becomes the process id |
//! | `ISOLATED_TEST_SELF_CHECK` | off | `1`: at the end, check and print that the harness holds the descriptors it started with and no child |
//! | `ISOLATED_TEST_BACKEND` | `fork` (Windows: `exec`) | how each test's child is started: `fork` (a fork of the harness, or of a zygote that ran the test's `setup` once) or `exec` (the test binary executed again for the one test, as cargo-nextest starts it; a `setup` then runs in each child); Windows has no fork, so `exec` is its only one |
//! | `RUST_TEST_THREADS` | all cores | like `--test-threads` |
//! | `NO_COLOR`, `CLICOLOR_FORCE` | | colour under `--color auto` (otherwise on where stdout is a terminal and output is captured, as in libtest) |
//! | `TERM` | | libtest's words are coloured with its terminfo entry's `setaf` and `sgr0` (found as libtest finds it: `TERMINFO`, `TERMINFO_DIRS`, `~/.terminfo`, the system's folders), byte for byte as libtest writes them, and not at all where `TERM` is unset or names a terminal the database lacks (as in libtest, whatever `--color` says); `dumb`: no colour, and no live status line |
//! | `TEST_TOTAL_SHARDS`, `TEST_SHARD_INDEX` | | Bazel's sharding: run shard `INDEX` of `TOTAL`, every `TOTAL`th selected test |
//! | `TEST_SHARD_STATUS_FILE` | | with sharding: touched, to say the suite shards |
//! | `XML_OUTPUT_FILE` | | Bazel's: where the JUnit report goes, unless `ISOLATED_TEST_JUNIT` says |
//! | `TEST_TMPDIR` | | Bazel's: the tests' `TMPDIR` |
//! | `RUST_TEST_NOCAPTURE` | | not `0`: like `--nocapture` |
//! | `RUST_TEST_SHUFFLE`, `RUST_TEST_SHUFFLE_SEED` | | with `-Z unstable-options`: like `--shuffle`, `--shuffle-seed` |
//! | `RUST_TEST_TIME_UNIT`, `RUST_TEST_TIME_INTEGRATION` | `50,100`, `500,1000` | `WARN_MS,CRITICAL_MS` for `--report-time` and `--ensure-time` (a target whose root is in `src/` has unit tests, in `tests/` integration tests) |
//!
//! A test's own attribute wins over the environment.
//!
//! # Running at scale with cargo-nextest
//!
//! cargo-nextest lists a suite with `--list --format terse` and runs each test as
//! `BIN --exact NAME --nocapture`; the test still runs in its own forked child under the harness,
//! so leak verdicts, timeouts and death tests keep working. Its partitions split a run across CI
//! machines, each test run exactly once, and its archives build once and run on every runner:
//!
//! ```sh
//! cargo nextest run --partition count:1/3   # count:2/3, count:3/3 (or hash:1/3 ...) elsewhere
//! cargo nextest archive --workspace --archive-file tests.tar.zst
//! cargo nextest run --archive-file tests.tar.zst --workspace-remap . --partition count:1/3
//! ```
//!
//! The user guide (docs/guide.md, "Running at scale with cargo-nextest") has a GitHub Actions
//! workflow: a build job that archives, and a matrix of shards.
//! For a JUnit report per shard, use nextest's (`[profile.ci.junit]` in `.config/nextest.toml`).
//! `ISOLATED_TEST_JUNIT` writes one report per run of a test binary, and nextest starts the binary
//! once per test: under nextest put `%p` in its path (`target/junit-%p.xml`), which becomes each
//! process's id.
//!
//! # Editors
//!
//! rust-analyzer shows its "Run Test | Debug" lens over every `#[isolated_test]` (when
//! rust-analyzer expands the macro, the function carries the test attribute the lens looks for).
//! The lens, like RustRover's "Run test"
//! (`cargo test --package P --test T -- NAME --exact --show-output`), runs exactly that test.
//! `--list` prints what libtest prints, byte for byte, down to the `N tests, 0 benchmarks` footer,
//! so test explorers find the tests.
//!
//! # Coverage
//!
//! Code that runs only in the children is counted: with `cargo llvm-cov`, `cargo llvm-cov
//! nextest`, or `RUSTFLAGS="-C instrument-coverage"` and an `LLVM_PROFILE_FILE` containing `%p`,
//! every child writes its own `.profraw`. The harness finds the profiler runtime at run time and
//! calls it before a child's `_exit` (which skips the runtime's exit hook).
//!
//! ```sh
//! cargo llvm-cov --workspace
//! RUSTFLAGS="-C instrument-coverage" LLVM_PROFILE_FILE="$PWD/target/profraw/%p-%m.profraw" cargo test
//! ```
//!
//! # Optimising the harness
//!
//! The harness's own code runs for every test, in the parent and in the test's child. Building it
//! optimised while your tests stay in debug made the trivial benchmark suite about 15% faster:
//!
//! ```toml
//! # your workspace's Cargo.toml (what `cargo isolated-test adopt` writes)
//! [profile.dev.package.isolated-test]
//! opt-level = 3
//! # Without these two, the optimised build takes about 60% longer.
//! debug = false
//! codegen-units = 16
//! ```
//!
//! [humantime]: https://docs.rs/humantime/latest/humantime/fn.parse_duration.html
//! [regex-lite]: https://docs.rs/regex-lite/latest/regex_lite/#syntax

#![deny(missing_docs)]

// The data flows one way: registry -> plan -> parent (spawn) -> child -> wire -> parent
// (supervisor) -> outcome -> verdict -> report, with the runner driving it test by test.
// `child` runs after the fork and never imports `parent`; `child::no_alloc` never allocates.
mod child;
mod cli;
mod config;
mod env;
mod isolate;
mod outcome;
mod panic_backtrace;
mod parent;
mod plan;
#[cfg(test)]
mod platform;
mod registry;
mod report;
mod runner;
mod size;
mod stack;
mod symbols;
mod sys;
mod verdict;
mod wire;

pub use child::no_alloc::counting::CountingAllocator;
pub use isolate::{assert_exits_with, assert_killed_by, assert_panics, isolate, Died, Isolate};
/// Marks a function as a test that runs in its own child process. See the [crate] docs for every
/// argument.
///
/// ```no_run
/// use isolated_test::isolated_test;
///
/// #[isolated_test(timeout = "2s", memory_limit = "64MiB")]
/// fn parses_a_large_file() {
///     let numbers: Vec<u64> = (0..1_000).collect();
///     assert_eq!(numbers.len(), 1_000);
/// }
///
/// #[isolated_test(signal = "SIGABRT")]
/// fn aborting_is_the_point() {
///     std::process::abort();
/// }
///
/// isolated_test::main!();
/// ```
pub use isolated_test_macros::isolated_test;

/// [`#[isolated_test]`](isolated_test) under the name rstest looks for: rstest gives each of its
/// cases the test attribute whose path ends in `test`, so that every case is an isolated test.
///
/// ```ignore
/// use rstest::rstest;
///
/// #[rstest]
/// #[case(1, 2)]
/// #[case(2, 4)]
/// #[isolated_test::test]
/// fn doubles(#[case] input: u32, #[case] expected: u32) {
///     assert_eq!(input * 2, expected);
/// }
///
/// isolated_test::main!();
/// ```
pub use isolated_test_macros::isolated_test as test;

/// Installs the counting global allocator and writes the test target's `main`.
///
/// End every test file that uses `#[isolated_test]` (with `harness = false`) with:
///
/// ```no_run
/// isolated_test::main!();
/// ```
///
/// Its arguments set the suite's defaults, so that a suite needs neither an attribute on every
/// test nor a variable in every CI job: `timeout`, `leak_limit`, `memory_limit`, `retries` and
/// `strict_leaks`, written as on [`#[isolated_test]`](isolated_test). A test's own attribute wins
/// over them, and an environment variable (`ISOLATED_TEST_TIMEOUT` and the others) over both.
///
/// ```no_run
/// isolated_test::main!(timeout = "10s", leak_limit = 1024, retries = 1);
/// ```
///
/// To wrap another global allocator, name it: a unit struct that implements
/// [`GlobalAlloc`](std::alloc::GlobalAlloc), such as `std::alloc::System`,
///
/// ```no_run
/// isolated_test::main!(allocator = std::alloc::System);
/// ```
///
/// or a reference to the static a suite's own `#[global_allocator]` was: drop that attribute
/// (there can be one global allocator only) and name the static. The static, its type and
/// whatever statistics it keeps stay as they were; every allocation is counted, then handed to it.
///
/// ```no_run
/// use std::alloc::{GlobalAlloc, Layout, System};
/// use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
///
/// /// Counts the allocations it hands to `System`, for the suite's own tests to read.
/// struct Stats {
///     allocations: AtomicUsize,
/// }
///
/// unsafe impl GlobalAlloc for Stats {
///     unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
///         self.allocations.fetch_add(1, Relaxed);
///         unsafe { System.alloc(layout) }
///     }
///     unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
///         unsafe { System.dealloc(ptr, layout) }
///     }
/// }
///
/// // Was `#[global_allocator] static GLOBAL: Stats = ...;`
/// static GLOBAL: Stats = Stats { allocations: AtomicUsize::new(0) };
///
/// #[isolated_test::isolated_test]
/// fn allocates_once() {
///     let before = GLOBAL.allocations.load(Relaxed);
///     let boxed = Box::new(7);
///     assert_eq!(GLOBAL.allocations.load(Relaxed), before + 1);
///     drop(boxed);
/// }
///
/// isolated_test::main!(allocator = &GLOBAL);
/// ```
pub use isolated_test_macros::main;

/// Not public API: what `#[isolated_test]` and `main!` expand to.
#[doc(hidden)]
pub mod __private {
    pub use crate::child::no_alloc::counting_system::CountingSystem;
    pub use crate::child::no_alloc::forward::Forward;
    pub use crate::registry::{
        ExpectedEnd, Ignore, LeakPolicy, Setup, ShouldPanic, Source, SuiteDefaults, TestCase,
        TestReturn,
    };
    pub use crate::runner::{block_on, harness_missing, run_main, run_ready};
    pub use core::time::Duration;
    pub use inventory;
    pub use libc;
}
