//! A small library whose unit tests live in private modules as `#[isolated_test]`s: the setup
//! the README's "Unit tests next to the code" describes, run by `cargo test --workspace` and by
//! cargo-nextest in tests/tests/e2e/nextest.rs.

/// Parses `"a,b"` into two numbers.
pub fn pair(text: &str) -> Option<(i32, i32)> {
    parse::pair(text)
}

mod parse {
    /// Private: only the unit tests below reach it directly.
    pub(crate) fn pair(text: &str) -> Option<(i32, i32)> {
        let (left, right) = text.split_once(',')?;
        Some((number(left)?, number(right)?))
    }

    fn number(text: &str) -> Option<i32> {
        text.trim().parse().ok()
    }

    #[cfg(test)]
    mod tests {
        use std::sync::atomic::{AtomicBool, Ordering};

        use isolated_test::isolated_test;

        use super::*;

        #[isolated_test]
        fn a_private_function_is_tested_directly() {
            assert_eq!(number(" 7 "), Some(7));
        }

        #[isolated_test]
        fn pairs_parse() {
            assert_eq!(pair("1, 2"), Some((1, 2)));
        }

        #[isolated_test]
        fn garbage_does_not_parse() {
            assert_eq!(pair("one, two"), None);
        }

        #[isolated_test(signal = "SIGABRT")]
        fn an_abort_takes_only_its_own_child() {
            std::process::abort();
        }

        #[isolated_test(exit_code = 4)]
        fn an_exit_takes_only_its_own_child() {
            std::process::exit(4);
        }

        static TOUCHED: AtomicBool = AtomicBool::new(false);

        #[isolated_test]
        fn a_static_starts_fresh() {
            assert!(!TOUCHED.swap(true, Ordering::Relaxed));
        }

        #[isolated_test]
        fn a_static_starts_fresh_in_every_test() {
            assert!(!TOUCHED.swap(true, Ordering::Relaxed));
        }

        #[isolated_test]
        fn poisons_the_environment() {
            std::env::set_var("UNIT_FIXTURE_POISON", "1");
        }

        #[isolated_test]
        fn the_environment_is_unpoisoned() {
            assert!(std::env::var_os("UNIT_FIXTURE_POISON").is_none());
        }

        /// With `UNIT_FIXTURE_FAIL` set, the two tests below fail as tests/tests/e2e/nextest.rs
        /// wants them to, for cargo-nextest to say how.
        fn asked_to_fail() -> bool {
            std::env::var_os("UNIT_FIXTURE_FAIL").is_some()
        }

        #[isolated_test]
        fn segfaults_when_asked() {
            if asked_to_fail() {
                // SAFETY: none: the crash is the point.
                unsafe { std::ptr::null_mut::<u8>().write_volatile(1) };
            }
        }

        #[isolated_test]
        #[should_panic]
        fn panics_unless_asked_not_to() {
            if !asked_to_fail() {
                panic!("as it should");
            }
        }
    }
}

#[cfg(test)]
isolated_test::main!();
