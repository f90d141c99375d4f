//! Only memory that nothing reaches fails (fixtures/reachability.rs): the patterns real crates'
//! tests leave (statics, thread-locals, blocked receivers, live threads, regex, log and tokio
//! globals) pass; lost buffers, leaked boxes, `Rc` cycles and buffers lost in joined threads
//! fail, counted alone. The same verdicts at 1, 2 and 8 test threads, run after run.

use std::collections::BTreeMap;

use isolated_test_e2e::{fixture, leaked, Run};

const SOURCE: &str = include_str!("../../fixtures/reachability.rs");

/// Every test and the reason it must fail with; `None` for a pass.
fn expectations() -> BTreeMap<&'static str, Option<String>> {
    let mut cases: BTreeMap<&str, Option<String>> = [
        "reachable::blocks_in_mpsc_recv_once",
        "reachable::compiles_a_regex_into_a_lazy_static",
        "reachable::fills_a_oncelock_static",
        "reachable::fills_a_static_from_300_threads_and_leaves_one_that_blocks_signals",
        "reachable::forces_a_lazylock_static",
        "reachable::installs_a_global_logger",
        "reachable::keeps_blocks_through_ones_its_threads_allocate_after_the_body",
        "reachable::keeps_more_blocks_than_are_tracked_in_a_static",
        "reachable::leaves_a_thread_running_that_holds_a_buffer",
        "reachable::leaves_a_thread_that_blocks_every_signal_holding_a_buffer",
        "reachable::pushes_into_a_thread_local_cache",
        "reachable::registers_a_callback_in_a_global_registry",
        "reachable::runs_a_property_test",
        "reachable::runs_a_tokio_runtime_and_drops_it",
        "reachable::sets_a_handler_once",
    ]
    .into_iter()
    .map(|name| (name, None))
    .collect();
    for (name, bytes, blocks) in [
        // Two `Rc` boxes of 72 bytes each, pointing at each other.
        ("lost::builds_an_rc_cycle", 144, 2),
        ("lost::forgets_a_buffer", 1024, 1),
        ("lost::forgets_a_buffer_in_a_joined_thread", 300, 1),
        ("lost::leaks_a_box_and_drops_the_reference", 64, 1),
        // Not the 4 KiB the static keeps.
        ("lost::loses_a_buffer_next_to_reachable_growth", 200, 1),
        // All growth counts: the 100-byte string the static keeps.
        ("strict_counts_reachable_growth", 100, 1),
    ] {
        cases.insert(name, Some(leaked(bytes, blocks)));
    }
    cases
}

/// What each test got in `run`: its reason line, `None` for a pass.
fn verdicts(run: &Run) -> BTreeMap<String, Option<String>> {
    run.report
        .verdicts
        .iter()
        .map(|(name, verdict)| {
            let reason = run
                .report
                .failures
                .get(name)
                .map(|failure| failure.reason.clone());
            assert!(
                (verdict == "ok") == reason.is_none(),
                "{name}: verdict {verdict} with reason {reason:?}"
            );
            (name.clone(), reason)
        })
        .collect()
}

#[test]
fn reachable_growth_passes_and_lost_blocks_fail_at_every_thread_count() {
    let expected: BTreeMap<String, Option<String>> = expectations()
        .into_iter()
        .map(|(name, reason)| (name.to_owned(), reason))
        .collect();
    for threads in [1, 2, 8, 8] {
        let run = fixture!("reachability")
            .args([format!("--test-threads={threads}")])
            .run();
        assert_eq!(
            verdicts(&run),
            expected,
            "at {threads} thread(s)\n{}",
            run.context()
        );
        run.assert_exit_code(101);
    }
}

#[test]
fn a_lost_block_is_traced_and_reachable_growth_is_counted_apart() {
    let run = fixture!("reachability")
        .args(["--exact", "lost::loses_a_buffer_next_to_reachable_growth"])
        .run();
    let failure = run.assert_failed(
        "lost::loses_a_buffer_next_to_reachable_growth",
        &leaked(200, 1),
    );
    let location = crate::location_of(SOURCE, "fixtures/reachability.rs", "vec![0u8; 200]");
    let lines: Vec<&str> = failure.reason_lines.iter().map(String::as_str).collect();
    assert_eq!(
        lines[1..3],
        [
            "leak sites (from a second run that tracked allocations):",
            &format!(
                "    200 B in 1 block: reachability::lost::loses_a_buffer_next_to_reachable_growth at {location}"
            ),
        ],
        "{}",
        run.context()
    );
    assert!(
        lines[3].starts_with("memory: ")
            && lines[3].contains(" left in 2 blocks (4 KiB still reachable); "),
        "{}",
        run.context()
    );
}

#[test]
fn strict_leaks_from_the_environment_counts_all_growth() {
    let run = fixture!("reachability")
        .env("ISOLATED_TEST_STRICT_LEAKS", "1")
        .args(["--exact", "reachable::fills_a_oncelock_static"])
        .run();
    let failure = run.assert_failed("reachable::fills_a_oncelock_static", &leaked(248, 9));
    assert_eq!(
        failure.reason_lines[2],
        "  still reachable:",
        "{}",
        run.context()
    );
}

#[test]
fn report_memory_names_where_still_reachable_growth_came_from() {
    let run = fixture!("reachability")
        .env("ISOLATED_TEST_REPORT", "memory")
        .args(["--exact", "reachable::pushes_into_a_thread_local_cache"])
        .run();
    run.assert_ok("reachable::pushes_into_a_thread_local_cache");
    let location = crate::location_of(SOURCE, "fixtures/reachability.rs", "extend_from_slice");
    let note = "note: reachable::pushes_into_a_thread_local_cache left 4 KiB still reachable (not a leak), from:";
    let after = &run.report.after_summary;
    let at = after
        .iter()
        .position(|line| line == note)
        .unwrap_or_else(|| panic!("no line {note:?}\n{}", run.context()));
    assert!(
        after.get(at + 1).is_some_and(
            |line| line.starts_with("    4 KiB in 1 block: ") && line.ends_with(&location)
        ),
        "{}",
        run.context()
    );
}

/// While the run's tests keep leaving reachable heap, each tracks its allocations from its own
/// run and runs once; a block lost in such a run is still traced to its site, by a second run.
#[cfg(target_os = "linux")]
#[test]
fn tests_that_leave_reachable_heap_run_once_and_a_lost_block_is_still_traced() {
    let dir = isolated_test_e2e::TempDir::new("tracked-first");
    let run = fixture!("tracked_first")
        .env("E2E_RUNS_DIR", dir.path())
        .args(["--test-threads=1"])
        .run();
    for test in ["keeps_1", "keeps_2", "keeps_3", "keeps_4"] {
        run.assert_ok(test);
    }
    let failure = run.assert_failed("keeps_5_and_loses_a_buffer", &leaked(300, 1));
    let source = include_str!("../../fixtures/tracked_first.rs");
    let location = crate::location_of(source, "fixtures/tracked_first.rs", "vec![0u8; 300]");
    assert_eq!(
        failure.reason_lines[1..3],
        [
            "leak sites (from a second run that tracked allocations):".to_owned(),
            format!(
                "    300 B in 1 block: tracked_first::keeps_5_and_loses_a_buffer at {location}"
            ),
        ],
        "{}",
        run.context()
    );
    let mut runs: BTreeMap<String, usize> = BTreeMap::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let test = name.split('.').next().unwrap().to_owned();
        *runs.entry(test).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = [
        ("keeps_1", 1),
        ("keeps_2", 1),
        ("keeps_3", 1),
        ("keeps_4", 1),
        ("keeps_5_and_loses_a_buffer", 2),
    ]
    .into_iter()
    .map(|(test, count)| (test.to_owned(), count))
    .collect();
    assert_eq!(runs, expected, "{}", run.context());
}
