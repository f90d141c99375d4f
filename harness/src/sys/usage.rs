//! What this process used: the bytes its C allocator holds, and the page faults and context
//! switches of its threads but the caller. Read in the test's child around the test, where
//! nothing may allocate: `mallinfo2` raw (nix has no wrapper), `getrusage` through nix.

/// The bytes the C library's allocator holds in use, small chunks and mapped ones, where it
/// says (glibc's `mallinfo2`); chunk headers and chunks parked in a thread's cache count as used.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn malloc_in_use() -> Option<u64> {
    // SAFETY: `mallinfo2` only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    Some((info.uordblks + info.hblkhd) as u64)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn malloc_in_use() -> Option<u64> {
    None
}

/// What every thread of this process but the caller used so far: page faults and context
/// switches, which any thread that runs has (a new thread faults its fresh stack in). Two
/// `getrusage` calls and no `/proc`, whose first use in a freshly forked process costs tens of
/// µs. Allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OthersUsage {
    faults: i64,
    voluntary_switches: i64,
    involuntary_switches: i64,
}

impl OthersUsage {
    /// Now; `None` where the platform cannot say.
    pub(crate) fn now() -> Option<Self> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use nix::sys::resource::{getrusage, UsageWho};
            // `getrusage` fails only for a `who` it does not know, which these are not.
            let usage = |who| getrusage(who).ok().map(|usage| *usage.as_ref());
            // The caller's own first: what it does between the two calls only adds to `SELF`.
            let own = usage(UsageWho::RUSAGE_THREAD)?;
            let all = usage(UsageWho::RUSAGE_SELF)?;
            #[allow(clippy::unnecessary_cast)] // `c_long` is not i64 everywhere
            Some(Self {
                faults: (all.ru_minflt + all.ru_majflt - own.ru_minflt - own.ru_majflt) as i64,
                voluntary_switches: (all.ru_nvcsw - own.ru_nvcsw) as i64,
                involuntary_switches: (all.ru_nivcsw - own.ru_nivcsw) as i64,
            })
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        None
    }

    /// Whether a thread other than the caller ran since `earlier`. A parked thread's going to
    /// sleep, which may come after `earlier`, is one voluntary switch and no more.
    pub(crate) fn ran_since(&self, earlier: &Self) -> bool {
        self.faults != earlier.faults
            || self.involuntary_switches != earlier.involuntary_switches
            || self.voluntary_switches - earlier.voluntary_switches > 1
    }
}
