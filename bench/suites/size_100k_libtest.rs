//! Benchmark suite: 100,000 trivial tests, `s00::t_0::t00` to `s99::t_9::t99`. The filter `s00::`
//! selects the same 1,000 tests that the 1,000-test suite holds (and `s0::` of the 10,000-test
//! one): a test should cost the same whatever else the binary registers. The full run also times
//! starting this binary (a filter that selects nothing) and `--list`, against libtest's.
//!
//! Runner: libtest in process (`#[test]`): the baseline for starting and listing.
//!
//! Built only by the full `cargo run --release -p isolated-test-bench` (see bench/src/main.rs and
//! bench/src/size.rs), in the debug test profile, as `cargo test` builds it: it takes minutes.

#[macro_use]
mod stamp;

/// The suite's tests, one function per name given.
macro_rules! make {
    ($($name:ident)*) => {
        $(
            #[test]
            fn $name() {}
        )*
    };
}

/// A hundred modules of a thousand tests each.
macro_rules! hundred_thousand {
    ($($group:ident)*) => {
        $(
            mod $group {
                stamp_a_thousand!(make);
            }
        )*
    };
}

hundred_thousand!(
    s00 s01 s02 s03 s04 s05 s06 s07 s08 s09 s10 s11 s12 s13 s14 s15 s16 s17 s18 s19
    s20 s21 s22 s23 s24 s25 s26 s27 s28 s29 s30 s31 s32 s33 s34 s35 s36 s37 s38 s39
    s40 s41 s42 s43 s44 s45 s46 s47 s48 s49 s50 s51 s52 s53 s54 s55 s56 s57 s58 s59
    s60 s61 s62 s63 s64 s65 s66 s67 s68 s69 s70 s71 s72 s73 s74 s75 s76 s77 s78 s79
    s80 s81 s82 s83 s84 s85 s86 s87 s88 s89 s90 s91 s92 s93 s94 s95 s96 s97 s98 s99
);
