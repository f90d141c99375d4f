//! What children are forked from, made before the registry is built (a zygote forked later
//! would copy it): the harness's state every child shares, with what std allocates lazily kept
//! already allocated (so that it is not counted as any test's leak), and, for a large suite, the
//! base zygote that forks every test without a setup of its own.

use std::io;
use std::time::Duration;

use super::zygote::Zygotes;
use super::ForkContext;
use crate::registry;

/// What the run asks of the fork backend.
pub(crate) struct ForkPlan {
    /// Stdout and stderr captured (not `--nocapture`).
    pub(crate) capture: bool,
    /// One test is run (`--exact NAME`, as cargo-nextest runs each).
    pub(crate) one_test: bool,
    /// `--list`: nothing runs.
    pub(crate) list: bool,
    /// `--test-threads`.
    pub(crate) jobs: usize,
    /// `ISOLATED_TEST_SETUP_TIMEOUT`.
    pub(crate) setup_timeout: Option<Duration>,
    /// Tests are forked (not `ISOLATED_TEST_BACKEND=exec`).
    pub(crate) forks: bool,
}

/// A suite this large forks its tests from a zygote made before the registry is built: the
/// harness's memory grows with the suite (its registry, plan and bookkeeping: 76 MB for 100,000
/// tests), and a fork costs about 40 µs per MB the forking process touched. At one test thread,
/// already 1,000 trivial tests run 10% faster so (10,000: 19%); for a handful of tests, starting
/// the zygote costs more than it saves.
const BASE_ZYGOTE_FROM: usize = 100;

/// With tests in parallel, the processors are busy anyway, and asking the zygote for spares costs
/// CPU time of its own: through the zygote, 1,000 trivial tests ran 3% slower at j2 (15% more
/// CPU time), 10,000 ran 18% faster, as the harness's own memory grows with the suite.
const BASE_ZYGOTE_FROM_IN_PARALLEL: usize = 5_000;

/// A suite this large keeps its registry in a few MB of data the loader relocated (about 280
/// bytes a test), which every fork copies an entry per 4 KiB of; moved to huge pages, 100,000
/// tests' 28 MB cost a fork 14 entries. Smaller suites skip reading `/proc/self/smaps`. Each
/// zygote moves its own copy (a suite this large forks every test from one), while the harness
/// builds its registry: the harness's start no longer pays for the 28 MB.
const RELOCATED_DATA_FROM: usize = 10_000;
const RELOCATED_DATA_AT_LEAST: usize = 2 << 20;

/// What children are forked from: see the module.
pub(crate) fn prepare(plan: &ForkPlan) -> io::Result<(ForkContext, Zygotes)> {
    crate::child::install_panic_hook();
    // The children's addresses are the symboliser's where they are forked; elsewhere than on
    // Linux, the header std writes is not checked against ours; without `symbols`, nothing
    // could name the frames.
    if plan.capture
        && plan.forks
        && cfg!(all(
            feature = "symbols",
            any(target_os = "linux", target_os = "android")
        ))
    {
        crate::panic_backtrace::turn_on();
    }
    crate::child::install_stuck_handler();
    crate::child::install_stop_handler();
    crate::child::warm_up_in_the_harness();
    let _ = io::Write::flush(&mut io::stdout().lock());
    let _ = io::Write::flush(&mut io::stderr().lock());
    // Its 8 KiB buffer is allocated on first use and kept.
    drop(io::stdin().lock());
    // Every fork copies the page tables of the parent's heap: give back what setup freed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns free heap memory to the kernel.
    unsafe {
        libc::malloc_trim(0)
    };
    let context = ForkContext {
        capture: plan.capture,
        counting: crate::child::counting_is_installed(),
        dev_null: std::fs::File::open("/dev/null")?.into(),
        task_dir: std::fs::File::open("/proc/self/task").ok().map(Into::into),
        parent: nix::unistd::getpid(),
    };
    let from = match plan.jobs {
        1 => BASE_ZYGOTE_FROM,
        _ => BASE_ZYGOTE_FROM_IN_PARALLEL,
    };
    let registered = registry::registered_count();
    let rehome = !plan.list && !plan.one_test && registered >= RELOCATED_DATA_FROM;
    let mut zygotes = Zygotes::new(
        plan.setup_timeout,
        plan.jobs,
        rehome.then_some(RELOCATED_DATA_AT_LEAST),
    );
    if plan.forks && !plan.list && !plan.one_test && registered >= from {
        zygotes.start_base(&context);
    }
    Ok((context, zygotes))
}
