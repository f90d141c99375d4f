//! Memory limits, heap peaks and the memory report (fixtures/memory.rs).

use std::sync::OnceLock;

use isolated_test_e2e::{fixture, Run, TempDir};

fn memory() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| fixture!("memory").run())
}

#[test]
fn an_allocation_over_the_memory_limit_fails_the_test_with_its_figures() {
    let run = memory();
    run.assert_exit_code(101);
    let failure = run.assert_failed(
        "exceeds_its_memory_limit",
        "exceeded its memory limit of 16 MiB (allocating 33554432 bytes with 0 B live)",
    );
    assert!(
        failure.reason_lines[1].starts_with("memory: max RSS "),
        "{failure:?}"
    );
    run.assert_ok("stays_within_its_memory_limit");
}

/// With `RUST_BACKTRACE=1`, as many environments set it, std's panic machinery allocates
/// megabytes on the way out after the refusal: the reason names the test's own allocation, the
/// first refused.
#[test]
fn the_reason_names_the_first_refused_allocation_under_rust_backtrace() {
    let run = fixture!("memory")
        .args(["--exact", "exceeds_its_memory_limit"])
        .env("RUST_BACKTRACE", "1")
        .run();
    run.assert_failed(
        "exceeds_its_memory_limit",
        "exceeded its memory limit of 16 MiB (allocating 33554432 bytes with 0 B live)",
    );
}

#[test]
fn a_test_may_handle_a_refused_allocation() {
    memory().assert_ok("handles_a_refused_allocation");
}

// Unix-only: the backstop is RLIMIT_AS.
#[cfg(unix)]
#[test]
fn the_address_space_is_capped_as_a_backstop() {
    memory().assert_ok("cannot_map_past_the_address_space_backstop");
}

#[test]
fn the_environment_sets_a_default_limit_and_the_attribute_wins() {
    let run = fixture!("memory")
        .env("ISOLATED_TEST_MEMORY_LIMIT", "8MiB")
        .run();
    run.assert_failed(
        "grows_32_mib",
        "exceeded its memory limit of 8 MiB (allocating 33554432 bytes with 0 B live)",
    );
    run.assert_ok("stays_within_its_memory_limit");
    memory().assert_ok("grows_32_mib");
}

#[test]
fn a_bad_memory_limit_is_one_line() {
    let run = fixture!("memory")
        .env("ISOLATED_TEST_MEMORY_LIMIT", "lots")
        .run();
    run.assert_exit_code(2);
    assert!(
        run.stderr
            .starts_with("error: ISOLATED_TEST_MEMORY_LIMIT=\"lots\" is not a size: "),
        "{}",
        run.context()
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.context());
}

#[test]
fn a_memory_limit_past_what_64_bits_hold_is_one_line_not_the_largest_limit() {
    let run = fixture!("memory")
        .env("ISOLATED_TEST_MEMORY_LIMIT", "99999999999999999999GiB")
        .run();
    run.assert_exit_code(2);
    assert_eq!(
        run.stderr,
        "error: ISOLATED_TEST_MEMORY_LIMIT=\"99999999999999999999GiB\" is not a size: it is more than 16 EiB, the most a 64-bit size holds (try \"64MiB\", \"1GiB\", or \"0\" for none)\n",
        "{}",
        run.context()
    );
}

#[test]
fn the_self_check_switch_is_zero_or_one_like_strict_leaks() {
    for (name, value) in [
        ("ISOLATED_TEST_SELF_CHECK", "maybe"),
        ("ISOLATED_TEST_STRICT_LEAKS", "maybe"),
    ] {
        let run = fixture!("memory").env(name, value).run();
        run.assert_exit_code(2);
        assert_eq!(
            run.stderr,
            format!("error: {name}=\"maybe\" is neither 1 nor 0\n"),
            "{}",
            run.context()
        );
    }
}

#[test]
fn a_heap_peak_over_max_peak_fails() {
    let run = memory();
    let failure = run.assert_failed(
        "peaks_over_its_max_peak",
        "its heap peaked at 16 MiB above where it began, over its max_peak of 8 MiB",
    );
    assert!(
        failure.reason_lines[1]
            .starts_with("memory: heap peak 16 MiB, 1 allocation, 0 B left in 0 blocks; max RSS "),
        "{failure:?}"
    );
    run.assert_ok("peaks_within_its_max_peak");
}

#[test]
fn the_memory_report_lists_every_passing_test() {
    let run = fixture!("memory")
        .env("ISOLATED_TEST_REPORT", "memory")
        .run();
    let after = &run.report.after_summary;
    let at = after
        .iter()
        .position(|line| line == "memory of the tests that passed:")
        .unwrap_or_else(|| panic!("no memory report\n{}", run.context()));
    let lines: Vec<&str> = after[at + 1..].iter().map(|line| line.trim()).collect();
    for (name, heap) in [
        (
            "grows_32_mib",
            "heap peak 32 MiB, 1 allocation, 0 B left in 0 blocks",
        ),
        (
            "peaks_within_its_max_peak",
            "heap peak 1 MiB, 1 allocation, 0 B left in 0 blocks",
        ),
        (
            "stays_within_its_memory_limit",
            "heap peak 8 MiB, 1 allocation, 0 B left in 0 blocks",
        ),
    ] {
        let prefix = format!("{name}: {heap}; max RSS ");
        assert!(
            lines.iter().any(|line| line.starts_with(&prefix)),
            "no line starting {prefix:?}\n{}",
            run.context()
        );
    }
    assert!(
        !lines
            .iter()
            .any(|line| line.starts_with("peaks_over_its_max_peak")),
        "failures are not listed again"
    );
}

#[test]
fn the_junit_report_carries_the_figures() {
    let dir = TempDir::new("memory-junit");
    let path = dir.path().join("report.xml");
    fixture!("memory").env("ISOLATED_TEST_JUNIT", &path).run();
    let xml = dir.read("report.xml");
    let document = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let property = |test: &str, name: &str| {
        document
            .descendants()
            .find(|node| node.has_tag_name("testcase") && node.attribute("name") == Some(test))
            .and_then(|case| {
                case.descendants().find(|node| {
                    node.has_tag_name("property") && node.attribute("name") == Some(name)
                })
            })
            .and_then(|node| node.attribute("value"))
            .map(str::to_owned)
    };
    assert_eq!(
        property("stays_within_its_memory_limit", "heap.peak_bytes").as_deref(),
        Some("8388608")
    );
    assert_eq!(
        property("peaks_over_its_max_peak", "heap.peak_bytes").as_deref(),
        Some("16777216")
    );
    assert!(property("exceeds_its_memory_limit", "max_rss_bytes").is_some());
}
