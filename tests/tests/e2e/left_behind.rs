//! What a test leaves besides its Rust heap (fixtures/left_behind.rs): descriptors fail it as a
//! leak does, threads still running are noted, C heap growth is in the memory line.

use std::sync::OnceLock;

use isolated_test_e2e::{fixture, Run};

fn left_behind() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| fixture!("left_behind").run())
}

#[test]
fn descriptors_left_open_fail_the_test_naming_each() {
    let run = left_behind();
    run.assert_exit_code(101);
    run.assert_failed(
        "descriptors::leaves_a_file_open",
        "left 1 descriptor open: fd 200 → /dev/null; allow it with #[isolated_test(allow_leaks)]",
    );
    run.assert_failed(
        "descriptors::leaves_a_socket_pair_open",
        "left 2 descriptors open: fd 210 → socket, fd 211 → socket; allow it with #[isolated_test(allow_leaks)]",
    );
    let named: Vec<String> = (100..116)
        .map(|fd| format!("fd {fd} → /dev/null"))
        .collect();
    run.assert_failed(
        "descriptors::leaves_twenty_open",
        &format!(
            "left 20 descriptors open: {} and 4 more; allow it with #[isolated_test(allow_leaks)]",
            named.join(", ")
        ),
    );
}

/// A descriptor kept by state that outlives the test (a registry, a static, a thread-local, a
/// thread still running) is held, as memory a static reaches is: a note, and a failure under
/// `strict_leaks`. One nothing the body wrote keeps is leaked.
#[test]
fn descriptors_held_by_state_that_outlives_the_test_are_noted() {
    let run = left_behind();
    let held = [
        ("descriptors::hands_a_descriptor_to_a_registry", 230),
        ("descriptors::keeps_a_descriptor_in_a_static", 232),
        ("descriptors::keeps_a_descriptor_in_a_thread_local", 233),
        ("descriptors::leaves_a_thread_holding_a_descriptor", 234),
    ];
    for (name, fd) in held {
        run.assert_ok(name);
        let note = format!(
            "note: {name} left 1 descriptor open: fd {fd} → socket, held by state that outlives it (not a leak)"
        );
        assert!(
            run.report.after_summary.contains(&note),
            "{note}\n{}",
            run.context()
        );
    }
    run.assert_failed(
        "descriptors::hands_a_descriptor_to_a_registry_strict",
        "left 1 descriptor open: fd 231 → socket; allow it with #[isolated_test(allow_leaks)]",
    );
    run.assert_failed(
        "descriptors::forgets_a_descriptor_next_to_one_it_registers",
        "left 1 descriptor open: fd 236 → socket; allow it with #[isolated_test(allow_leaks)]",
    );
    // With the kernel's own small numbers: only the read end, which nothing keeps.
    let failure = run.failure("descriptors::registers_a_pipes_write_end_and_forgets_its_read_end");
    let reason = regex::Regex::new(
        r"^left 1 descriptor open: fd \d → pipe; allow it with #\[isolated_test\(allow_leaks\)\]$",
    )
    .unwrap();
    assert!(
        reason.is_match(&failure.reason),
        "{failure:?}\n{}",
        run.context()
    );
}

#[test]
fn descriptors_the_test_closed_or_inherited_are_not_counted() {
    left_behind().assert_ok("descriptors::closes_what_it_opens");
    left_behind().assert_ok("descriptors::closes_an_inherited_one");
}

#[test]
fn allow_leaks_lets_descriptors_stay_open_with_a_note() {
    let run = left_behind();
    run.assert_ok("descriptors::leaves_a_pipe_open_allowed");
    let note = "note: descriptors::leaves_a_pipe_open_allowed left 2 descriptors open: fd 220 → pipe, fd 221 → pipe (allowed)";
    assert!(
        run.report.after_summary.iter().any(|line| line == note),
        "{}",
        run.context()
    );
}

#[test]
fn threads_still_running_are_noted_and_fail_under_strict_leaks() {
    let run = left_behind();
    run.assert_ok("threads::leaves_one_running");
    let note = "note: threads::leaves_one_running returned while 1 thread it started still ran";
    assert!(
        run.report.after_summary.iter().any(|line| line == note),
        "{}",
        run.context()
    );
    run.assert_failed(
        "threads::leaves_one_running_strict",
        "returned while 1 thread it started still ran (strict_leaks)",
    );
    // Joined and scoped threads are gone when the body returns, strict or not.
    run.assert_ok("threads::joins_its_threads");
    assert!(
        !run.report
            .after_summary
            .iter()
            .any(|line| line.contains("joins_its_threads")),
        "{}",
        run.context()
    );
}

#[test]
fn c_heap_kept_by_ffi_code_is_in_the_memory_line() {
    let run = fixture!("left_behind")
        .env("ISOLATED_TEST_REPORT", "memory")
        .run();
    let memory = |name: &str| {
        let prefix = format!("{name}: ");
        run.report
            .after_summary
            .iter()
            .find_map(|line| line.trim().strip_prefix(&prefix).map(str::to_owned))
            .unwrap_or_else(|| panic!("no memory line for {name}\n{}", run.context()))
    };
    assert!(
        memory("ffi::mallocs_a_mebibyte_in_c_and_keeps_it").starts_with(
            "heap peak 0 B, 0 allocations, 0 B left in 0 blocks; C heap grew by about 1.0 MiB beyond the Rust heap's; max RSS "
        ),
        "{}",
        run.context()
    );
    assert!(
        memory("ffi::mallocs_in_c_and_frees")
            .starts_with("heap peak 0 B, 0 allocations, 0 B left in 0 blocks; max RSS "),
        "{}",
        run.context()
    );
}
