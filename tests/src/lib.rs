//! The end-to-end driver's toolkit: run a fixture suite the way cargo and cargo-nextest run it,
//! and read what it printed into plain data to assert on.
//!
//! The fixture suites are this package's bin targets (`fixtures/*.rs`); the tests that run them
//! are in `tests/e2e/`.

mod fifo;
mod processes;
mod report;
mod run;

pub use fifo::Fifo;
pub use processes::{assert_process_ends, processes_that_outlive_the_run, Survivor, TempDir};
pub use report::{strip_ansi, Failure, Output, Report, Summary};
pub use run::{Harness, Run, Running};

/// A [`Harness`] for the fixture bin target `$name`, built by cargo before the integration tests.
#[macro_export]
macro_rules! fixture {
    ($name:literal) => {
        $crate::Harness::new(env!(concat!("CARGO_BIN_EXE_", $name)))
    };
}
