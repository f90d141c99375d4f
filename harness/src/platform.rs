//! What this system gives the harness, row by row of the README's "Platforms" table: each row's
//! support here, as the code built for this target does it (the `cfg`s below are those of the
//! modules that switch each feature on or off). A unit test checks this target's column of that
//! table against them: on Linux in CI, and on Windows under Wine; the macOS and FreeBSD columns
//! are checked where the tests run there.

/// How far a feature is had here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Support {
    Yes,
    /// Given, by other means than the row's (what the table's cell says).
    AnotherWay,
    Partly,
    No,
}

use Support::{AnotherWay, No, Partly, Yes};

const LINUX: bool = cfg!(any(target_os = "linux", target_os = "android"));
const WINDOWS: bool = cfg!(windows);
const MACOS: bool = cfg!(target_vendor = "apple");
const FREEBSD: bool = cfg!(target_os = "freebsd");

/// `yes` on Linux, `other` elsewhere.
const fn linux_or(other: Support) -> Support {
    if LINUX {
        Yes
    } else {
        other
    }
}

/// `yes` on Unix, `other` on Windows.
const fn unix_or(other: Support) -> Support {
    if WINDOWS {
        other
    } else {
        Yes
    }
}

/// Each row of the table, by its first cell, with its support on this target.
pub(crate) const FEATURES: &[(&str, Support)] = &[
    (
        "A child per test, killed with everything it started at its timeout",
        Yes,
    ),
    (
        "The exec backend (`ISOLATED_TEST_BACKEND=exec`): the test binary executed again for each test",
        Yes,
    ),
    ("Crashes named", Yes),
    (
        "Close-on-exec pipes, descriptor copies, sockets",
        if MACOS || WINDOWS { AnotherWay } else { Yes },
    ),
    (
        "Output captured, `--nocapture`, exit codes, `should_panic`, retries, JSON, JUnit, `--exact NAME` (nextest)",
        Yes,
    ),
    (
        "Leak counting: heap growth over `leak_limit`; `memory_limit`, `max_peak`",
        Yes,
    ),
    ("Descriptors left open counted", unix_or(No)),
    (
        "Lost vs still reachable blocks; which left-open descriptors state still holds (the scan)",
        linux_or(No),
    ),
    ("`setup =` run once per run (zygotes)", linux_or(AnotherWay)),
    ("`isolate()`: a closure in a child", unix_or(No)),
    ("`#[isolated_test(signal = \"SIGSEGV\")]`", unix_or(No)),
    (
        "Base zygote of a large suite; huge pages for what children inherit",
        linux_or(No),
    ),
    (
        "Where a timed-out test was stuck (`stuck at:`), and in the slow notice",
        linux_or(No),
    ),
    (
        "A panic's backtrace (`RUST_BACKTRACE=1`) named by the harness, once a run",
        linux_or(No),
    ),
    (
        "Children die with a killed harness",
        if MACOS { No } else { Yes },
    ),
    (
        "Processes that left their test's group swept and named",
        if WINDOWS { AnotherWay } else { linux_or(No) },
    ),
    ("Ctrl-C: the run ends with a summary of what finished", unix_or(No)),
    (
        "Threads left running noted; `isolate()` refused from a multi-threaded test; the debug check that the harness forks from one thread",
        linux_or(No),
    ),
    ("Address-space backstop under `memory_limit`", linux_or(No)),
    (
        "Under `--nocapture`, each child's own open file description on the harness's stdout and stderr",
        if WINDOWS { AnotherWay } else { linux_or(No) },
    ),
    (
        "Names of descriptors left open (a path, `socket`, `pipe`)",
        if MACOS {
            AnotherWay
        } else if FREEBSD {
            Partly
        } else {
            unix_or(No)
        },
    ),
    (
        "C heap growth (`malloc` outside Rust)",
        if cfg!(all(target_os = "linux", target_env = "gnu")) { Yes } else { No },
    ),
    (
        "Coverage of code that ran in children (`-C instrument-coverage`)",
        unix_or(No),
    ),
    ("The `memory:` line's max RSS", Yes),
    ("Counting allocator", Yes),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// This target's column in the table's header.
    fn column() -> Option<&'static str> {
        Some(if LINUX {
            "Linux"
        } else if MACOS {
            "macOS"
        } else if FREEBSD {
            "FreeBSD"
        } else if WINDOWS {
            "Windows"
        } else {
            return None;
        })
    }

    /// A cell's support, by its first words; `as macOS` is that column's.
    fn support_of(cell: &str, row: &[&str], header: &[&str]) -> Support {
        let cell = cell.trim();
        if let Some(other) = cell.strip_prefix("as ") {
            let other = other.split([' ', ',', ':', ';']).next().unwrap_or("");
            let at = header.iter().position(|name| name.trim() == other);
            let at = at.unwrap_or_else(|| panic!("no column {other} to be as"));
            return support_of(row[at], row, header);
        }
        if cell.starts_with("another way") {
            return AnotherWay;
        }
        match cell.split(|c: char| !c.is_alphabetic()).next() {
            Some("yes") => Yes,
            Some("partly") => Partly,
            Some("no") => No,
            _ => panic!("a cell says neither yes, no, partly, another way nor as: {cell}"),
        }
    }

    #[test]
    fn the_readme_platforms_table_says_what_this_target_does() {
        let Some(column) = column() else { return };
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
            .expect("the README is next to the harness");
        let table = readme
            .split("## Platforms")
            .nth(1)
            .expect("the README has a Platforms section");
        let rows: Vec<Vec<&str>> = table
            .lines()
            .skip_while(|line| !line.starts_with('|'))
            .take_while(|line| line.starts_with('|'))
            .map(|line| line.trim_matches('|').split(" | ").collect())
            .collect();
        let header = &rows[0];
        let at = header
            .iter()
            .position(|name| name.trim() == column)
            .unwrap_or_else(|| panic!("the table has no {column} column"));
        let said: Vec<(&str, Support)> = rows[2..]
            .iter()
            .map(|row| {
                assert_eq!(row.len(), header.len(), "a row of another width: {row:?}");
                (row[0].trim(), support_of(row[at], row, header))
            })
            .collect();
        assert_eq!(
            said, FEATURES,
            "the README's {column} column and the code disagree"
        );
    }
}
