//! `isolated_test::isolate` and the death assertions inside isolated tests
//! (fixtures/isolate.rs): every test there asserts what its call gave back or how it died.

use isolated_test_e2e::fixture;

const TESTS: [&str; 8] = [
    "a_crash_an_exit_and_a_hang_are_typed",
    "a_memory_limit_is_a_typed_death",
    "a_panic_is_named_with_its_place",
    "a_process_with_threads_is_refused",
    "a_value_comes_back",
    "death_assertions_pass_and_fail_as_googletest_s_do",
    "leaks_in_the_call_stay_in_the_call",
    "state_changed_by_the_call_stays_in_the_call",
];

#[test]
fn calls_return_values_and_typed_deaths_at_every_thread_count() {
    for threads in ["--test-threads=1", "--test-threads=8"] {
        let run = fixture!("isolate").args([threads]).run();
        run.assert_exit_code(0);
        assert_eq!(run.names(), TESTS, "{}", run.context());
        for test in TESTS {
            run.assert_ok(test);
        }
    }
}
