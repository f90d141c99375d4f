//! Hostile tests (fixtures/hostile.rs): no test can hang, crash or fool the harness. The suite
//! runs once at `--test-threads=1` and once at `--test-threads=8`; every case must get the same
//! verdict and reason in both runs, as stated in [`expectations`].
//!
//! Each test below checks one group of cases in both runs and lists every case that went wrong,
//! rather than stopping at the first.

use std::collections::BTreeMap;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

use isolated_test_e2e::{fixture, leaked, processes_that_outlive_the_run, Run, Survivor, TempDir};

const SOURCE: &str = include_str!("../../fixtures/hostile.rs");
/// The path rustc records in panic locations: relative to the workspace root.
const FILE: &str = "tests/fixtures/hostile.rs";

const TIMED_OUT: &str = "timed out after 300ms; its process group was killed";
const EXITED_ZERO: &str = "exited with status 0 before the test finished (exiting is never a pass)";
/// 1 << 46, the capacity `crash::fails_to_allocate_64_tib` asks for.
const HUGE: &str = "70368744177664";

/// Where `needle` (a panicking expression) is in the fixture.
fn at(needle: &str) -> String {
    crate::location_of(SOURCE, FILE, needle)
}

/// Where `needle` is in the fixture as a leak site shows it: relative to the directory the suite
/// ran in, this package's.
fn site(needle: &str) -> String {
    crate::location_of(SOURCE, "fixtures/hostile.rs", needle)
}

/// What a case must get.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expected {
    Ok,
    /// FAILED, with exactly this reason line.
    Reason(String),
    /// FAILED, with a reason line that starts with this.
    ReasonStartingWith(String),
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Ok => write!(f, "ok"),
            Expected::Reason(reason) => write!(f, "FAILED with {reason:?}"),
            Expected::ReasonStartingWith(prefix) => {
                write!(f, "FAILED with a reason starting {prefix:?}")
            }
        }
    }
}

/// Every test in fixtures/hostile.rs and what it must get.
fn expectations() -> BTreeMap<&'static str, Expected> {
    use Expected::{Ok, Reason, ReasonStartingWith};
    let reason = |text: &str| Reason(text.to_owned());
    let flooded = reason(&format!(
        "panicked at {}: flooded",
        at(r#"panic!("flooded")"#)
    ));
    let mut cases = BTreeMap::from([
        (
            "crash::reads_a_null_pointer",
            reason("killed by signal 11 (SIGSEGV)"),
        ),
        ("crash::aborts", reason("killed by signal 6 (SIGABRT)")),
        (
            "crash::asks_to_be_traced_then_aborts",
            reason("killed by signal 6 (SIGABRT)"),
        ),
        (
            "crash::overflows_its_stack",
            reason("killed by signal 6 (SIGABRT)"),
        ),
        (
            "crash::panics_while_panicking",
            ReasonStartingWith(format!(
                "killed by signal 6 (SIGABRT) after it panicked at {}: the first panic",
                at(r#"panic!("the first panic")"#)
            )),
        ),
        (
            "crash::panics_with_a_u32_payload",
            reason(&format!(
                "panicked at {} with a payload that is not a string",
                at("std::panic::panic_any(42u32)")
            )),
        ),
        (
            "crash::raises_sigkill",
            reason("killed by signal 9 (SIGKILL)"),
        ),
        (
            "crash::fails_to_allocate_64_tib",
            reason(&format!(
                "killed by signal 6 (SIGABRT) after an allocation of {HUGE} bytes failed"
            )),
        ),
        ("crash::handles_a_failed_allocation", Ok),
        ("lie::exits_zero", reason(EXITED_ZERO)),
        ("lie::underscore_exits_zero", reason(EXITED_ZERO)),
        (
            "lie::closes_every_descriptor_above_stderr",
            reason("sent no result: the test closed or replaced its result channel"),
        ),
        ("lie::puts_dev_null_over_stdout_and_stderr", Ok),
        ("leak::then_leaks_nothing_when_tracked", Ok),
        (
            "lie::a_forked_copy_returns_from_the_body_and_the_test_exits_zero",
            reason("a process forked by the test returned from the test body (end a forked process with `_exit`)"),
        ),
        (
            "lie::a_forked_copy_panics_out_of_the_body_and_the_test_returns",
            reason("a process forked by the test unwound out of the test body with a panic (end a forked process with `_exit`)"),
        ),
        (
            "lie::writes_garbage_into_every_pipe",
            ReasonStartingWith("sent no valid result:".to_owned()),
        ),
        (
            "lie::claims_a_4_gib_frame",
            ReasonStartingWith("sent no valid result:".to_owned()),
        ),
        ("flood::stdout", Ok),
        ("flood::stdout_then_panics", flooded.clone()),
        ("flood::stderr", Ok),
        ("flood::stderr_then_panics", flooded),
        ("flood::reads_stdin_to_the_end", Ok),
        ("escape::leaves_a_sleep_holding_its_stdout", Ok),
        ("escape::forks_and_leaves_the_grandchild", Ok),
        ("escape::leaves_a_grandchild_that_calls_setsid", Ok),
        ("escape::leaves_a_grandchild_in_its_own_process_group", Ok),
        ("poison::check_sees_none_of_it", Ok),
        (
            "siege::sends_sigint_to_the_harness",
            reason("sent signal 2 (SIGINT) to the harness"),
        ),
        (
            "siege::sends_sigterm_to_the_harness",
            reason("sent signal 15 (SIGTERM) to the harness"),
        ),
        (
            "siege::sends_sigusr1_to_the_harness",
            reason("sent signal 10 (SIGUSR1) to the harness"),
        ),
        (
            "siege::sends_sigalrm_to_the_harness",
            reason("sent signal 14 (SIGALRM) to the harness"),
        ),
        (
            "siege::sends_sigsegv_to_the_harness_twice",
            reason("sent signal 11 (SIGSEGV) to the harness"),
        ),
        (
            "siege::sends_sigtstp_to_the_harness",
            reason("sent signal 20 (SIGTSTP) to the harness"),
        ),
        (
            "siege::sigkills_its_own_process_group",
            reason("killed by signal 9 (SIGKILL)"),
        ),
    ]);
    for (name, reason_start, _) in big_cases() {
        match reason_start {
            Some(start) => cases.insert(name, ReasonStartingWith(start)),
            None => cases.insert(name, Ok),
        };
    }
    for (name, reason_line, _) in leak_cases() {
        cases.insert(name, reason(&reason_line));
    }
    for hang in HANGS {
        cases.insert(hang, reason(TIMED_OUT));
    }
    for (stopper, signal) in STOPPERS {
        cases.insert(
            stopper,
            reason(&format!(
                "timed out after 300ms while stopped by signal {signal}; its process group was killed"
            )),
        );
    }
    for poisoner in POISONERS {
        cases.insert(poisoner, Ok);
    }
    cases
}

/// The tests with oversized messages: how each failure's reason line starts (`None` for a pass)
/// and the line that follows it, which says how much of the middle was left out.
fn big_cases() -> Vec<(&'static str, Option<String>, Option<String>)> {
    const MIB: usize = 1 << 20;
    /// What is kept of each end of a text over 64 KiB.
    const HALF: usize = 32 << 10;
    let omitted = |length: usize| Some(format!("[... {} bytes omitted ...]", length - 2 * HALF));
    vec![
        (
            "big::should_panic_with_an_assert_eq_of_two_300_kb_vectors",
            None,
            None,
        ),
        (
            "big::should_panic_with_the_expected_text_in_the_middle_of_2_mib",
            None,
            None,
        ),
        (
            "big::should_panic_with_text_its_2_mib_message_lacks",
            Some(format!(
                "panicked at {}: {}",
                at(r#"panic!("{hay}{hay}")"#),
                "n".repeat(HALF)
            )),
            omitted(2 * MIB),
        ),
        (
            "big::panics_with_a_1_mib_message",
            Some(format!(
                "panicked at {}: {}",
                at(r#"panic!("{}", "m".repeat(1 << 20))"#),
                "m".repeat(HALF)
            )),
            omitted(MIB),
        ),
        (
            "big::returns_a_1_mib_error",
            // The error's `Debug` text: quoted.
            Some(format!("returned an error: \"{}", "e".repeat(HALF - 1))),
            omitted(MIB + 2),
        ),
    ]
}

/// The leaking tests: the reason line of each, and the lines between it and its `memory:` line,
/// where the run that tracked its allocations says what it found.
fn leak_cases() -> Vec<(&'static str, String, Vec<String>)> {
    const FOUND: &str = "leak sites (from a second run that tracked allocations):";
    const FAILED: &str = "leak sites: not found; the run that tracked allocations failed: ";
    let caller = |leaker: &str| {
        format!(
            "        called from hostile::leak::from_five_call_stacks at {}",
            site(&format!("{leaker}();"))
        )
    };
    let mut five = vec![FOUND.to_owned()];
    for (leaker, bytes) in [
        ("leak_80", 80),
        ("leak_64", 64),
        ("leak_48", 48),
        ("leak_32", 32),
        ("leak_16", 16),
    ] {
        five.push(format!(
            "    {bytes} B in 1 block: hostile::leak::{leaker} at {}",
            site("vec![0u8; $bytes]")
        ));
        five.push(caller(leaker));
    }
    vec![
        ("leak::from_five_call_stacks", leaked(240, 5), five),
        (
            // The 64 GiB root is read only where touched: the tracked run ends well in time.
            "leak::beside_a_64_gib_mapping",
            leaked(104, 1),
            vec![
                FOUND.to_owned(),
                format!(
                    "    104 B in 1 block: hostile::leak::beside_a_64_gib_mapping at {}",
                    site("vec![0u8; 104]")
                ),
            ],
        ),
        (
            "leak::in_a_spawned_thread",
            leaked(100, 1),
            vec![
                FOUND.to_owned(),
                format!(
                    "    100 B in 1 block: hostile::leak::in_a_spawned_thread::{{{{closure}}}} at {}",
                    site("vec![0u8; 100]")
                ),
            ],
        ),
        (
            // The tracker holds 114,688 live blocks: the verdict counts those it saw lost.
            "leak::from_more_blocks_than_are_tracked",
            leaked(458_752, 114_688),
            vec![
                FOUND.to_owned(),
                format!(
                    "    448 KiB in 114688 blocks: hostile::leak::from_more_blocks_than_are_tracked at {}",
                    site("Box::new(n));")
                ),
                "    and 5312 allocations not recorded: the tracking table was full".to_owned(),
            ],
        ),
        (
            "leak::then_hangs_when_tracked",
            leaked(64, 1),
            vec![format!(
                "{FAILED}timed out after 2s; its process group was killed"
            )],
        ),
        (
            "leak::then_aborts_when_tracked",
            leaked(64, 1),
            vec![format!("{FAILED}killed by signal 6 (SIGABRT)")],
        ),
        (
            "leak::then_leaks_more_when_tracked",
            leaked(2048, 2),
            vec![
                "not reproducible: the first run left 1024 bytes in 1 allocation, a second run that tracked allocations 2048 bytes in 2 allocations".to_owned(),
                FOUND.to_owned(),
                format!(
                    "    2 KiB in 2 blocks: hostile::leak::then_leaks_more_when_tracked at {}",
                    site("vec![0u8; 1024]")
                ),
            ],
        ),
    ]
}

/// `line`, but that a tracked run's deadline of more than 2 s reads as 2 s: the deadline is ten
/// times the first run's time, at least 2 s, and a loaded machine can make the first run slow.
fn at_the_least_tracking_deadline(line: &str) -> &str {
    const TIMED_OUT: &str =
        "leak sites: not found; the run that tracked allocations failed: timed out after ";
    const KILLED: &str = "s; its process group was killed";
    let seconds = line
        .strip_prefix(TIMED_OUT)
        .and_then(|rest| rest.strip_suffix(KILLED))
        .and_then(|seconds| seconds.parse::<u32>().ok());
    match seconds {
        Some(2..) => "leak sites: not found; the run that tracked allocations failed: timed out after 2s; its process group was killed",
        _ => line,
    }
}

/// The note after the summary for a test whose heap grew, but not in the second run.
const NOT_REPRODUCIBLE: &str = "note: leak::then_leaks_nothing_when_tracked grew its heap by 64 bytes in 1 allocation, but a second run that tracked allocations did not: not reproducible, not counted";

const HANGS: [&str; 7] = [
    "hang::spins",
    "hang::sleeps_forever",
    "hang::deadlocks_on_two_mutexes",
    "hang::blocks_reading_a_pipe_nobody_writes",
    "hang::ignores_sigterm",
    "hang::blocks_sigterm",
    "hang::joins_the_harness_process_group",
];

/// Tests that stop themselves, and the signal that stops each.
const STOPPERS: [(&str, &str); 3] = [
    ("hang::stops_itself", "19 (SIGSTOP)"),
    ("hang::stops_itself_with_sigtstp", "20 (SIGTSTP)"),
    (
        "hang::joins_the_harness_process_group_and_stops",
        "19 (SIGSTOP)",
    ),
];

const POISONERS: [&str; 12] = [
    "poison::a_sets_an_env_var",
    "poison::a_changes_directory",
    "poison::a_sets_a_static",
    "poison::a_ignores_sigusr1",
    "poison::a_sets_the_umask",
    "poison::a_lowers_rlimit_nofile",
    "poison::z_sets_an_env_var",
    "poison::z_changes_directory",
    "poison::z_sets_a_static",
    "poison::z_ignores_sigusr1",
    "poison::z_sets_the_umask",
    "poison::z_lowers_rlimit_nofile",
];

/// The processes the escape tests leave: the key each test records its pid under, the test, and
/// the process's name as the kernel has it (`/proc/PID/comm`): `sleep`, or for a forked copy of
/// the test's process, the fixture's.
const LEFT_BEHIND: [(&str, &str, &str); 4] = [
    (
        "sleep_holding_stdout",
        "escape::leaves_a_sleep_holding_its_stdout",
        "sleep",
    ),
    // A process forked from the test's thread is named as that thread is, after the test (as
    // under libtest), cut to the kernel's 15 bytes.
    (
        "forked",
        "escape::forks_and_leaves_the_grandchild",
        "escape::forks_a",
    ),
    (
        "setsid",
        "escape::leaves_a_grandchild_that_calls_setsid",
        "escape::leaves_",
    ),
    (
        "own_process_group",
        "escape::leaves_a_grandchild_in_its_own_process_group",
        "sleep",
    ),
];

/// One run of the hostile suite, and what became of the processes its tests left behind.
#[derive(Debug)]
struct HostileRun {
    threads: usize,
    run: Run,
    /// The pid each escape test recorded, by key.
    left: BTreeMap<&'static str, i32>,
    /// Those of `left` still running a hang guard's time after the run (killed since).
    survivors: Vec<Survivor>,
}

/// The suite at `--test-threads=1` and at `--test-threads=8`, each run once (both at once) and
/// shared.
fn both_runs() -> [&'static HostileRun; 2] {
    type Cell = OnceLock<Result<HostileRun, String>>;
    static ONE: Cell = OnceLock::new();
    static EIGHT: Cell = OnceLock::new();
    // A run that fails (hangs) is kept as its failure, not retried by every test that asks.
    let get = |cell: &'static Cell, threads| {
        cell.get_or_init(|| {
            std::panic::catch_unwind(AssertUnwindSafe(|| run_hostile(threads))).map_err(|panic| {
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
                    .unwrap_or_default()
            })
        })
    };
    let (one, eight) = std::thread::scope(|scope| {
        let eight = scope.spawn(|| get(&EIGHT, 8));
        (
            get(&ONE, 1),
            eight.join().expect("the run's panic is caught"),
        )
    });
    [(one, 1), (eight, 8)].map(|(run, threads)| match run {
        Ok(run) => run,
        Err(why) => panic!("the hostile suite at {threads} thread(s) did not run: {why}"),
    })
}

fn run_hostile(threads: usize) -> HostileRun {
    let pid_dir = TempDir::new(&format!("hostile-{threads}"));
    let nofile = isolated_test_e2e::rlimit_nofile();
    let run = fixture!("hostile")
        .env("E2E_PID_DIR", pid_dir.path())
        .env(
            "E2E_EXPECTED_CWD",
            std::env::current_dir().expect("a working directory"),
        )
        .env("E2E_EXPECTED_UMASK", format!("{:o}", umask()))
        .env(
            "E2E_EXPECTED_NOFILE",
            format!("{} {}", nofile.rlim_cur, nofile.rlim_max),
        )
        .args([format!("--test-threads={threads}")])
        .run();
    let mut left = BTreeMap::new();
    for (key, _, _) in LEFT_BEHIND {
        if pid_dir.path().join(format!("{key}.pid")).exists() {
            left.insert(key, pid_dir.read_pid(key));
        }
    }
    let pids: Vec<i32> = left.values().copied().collect();
    let survivors = processes_that_outlive_the_run(&pids);
    HostileRun {
        threads,
        run,
        left,
        survivors,
    }
}

/// This process's umask, read without changing it (other tests create files meanwhile).
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let value = status
        .lines()
        .find_map(|line| line.strip_prefix("Umask:"))
        .expect("a Umask line");
    u32::from_str_radix(value.trim(), 8).expect("an octal umask")
}

impl HostileRun {
    /// Why `name` did not get `expected` in this run, if it did not.
    fn mismatch(&self, name: &str, expected: &Expected) -> Option<String> {
        let verdicts: Vec<&str> = self
            .run
            .report
            .verdicts
            .iter()
            .filter(|(test, _)| test == name)
            .map(|(_, verdict)| verdict.as_str())
            .collect();
        let reason = self
            .run
            .report
            .failures
            .get(name)
            .map(|failure| failure.reason.as_str());
        let matches = match (expected, &verdicts[..], reason) {
            (Expected::Ok, ["ok"], None) => true,
            (Expected::Reason(expected), ["FAILED"], Some(reason)) => reason == expected,
            (Expected::ReasonStartingWith(prefix), ["FAILED"], Some(reason)) => {
                reason.starts_with(prefix.as_str())
            }
            _ => false,
        };
        (!matches).then(|| {
            format!(
                "{name}, at {} thread(s): expected {expected}, got verdict lines {verdicts:?} and reason {reason:?}",
                self.threads
            )
        })
    }

    /// The failure entry's captured `stdout` or `stderr` section of `name`, if any.
    fn section(&self, name: &str, stream: &str) -> Option<&str> {
        let output = &self.run.report.failures.get(name)?.output;
        match stream {
            "stdout" => output.stdout.as_deref(),
            _ => output.stderr.as_deref(),
        }
    }

    /// What a reader needs to see why a run went wrong, short: not the whole flooded stdout.
    fn facts(&self) -> String {
        let run = &self.run;
        let stderr_tail: String = {
            let start = run.stderr.len().saturating_sub(4096);
            let start = (start..=run.stderr.len())
                .find(|&index| run.stderr.is_char_boundary(index))
                .unwrap_or(run.stderr.len());
            run.stderr[start..].to_owned()
        };
        let summary = run
            .stdout
            .lines()
            .find(|line| line.starts_with("test result: "))
            .unwrap_or("<no summary line>");
        format!(
            "at {} thread(s): `{}` exited with code {:?}, signal {:?}\n  {summary}\n  after the summary: {:?}\n  harness stderr (end): {stderr_tail:?}",
            self.threads, run.command_line, run.code, run.signal, run.report.after_summary
        )
    }
}

/// Panics listing every problem, with the facts of both runs, if there is any.
#[track_caller]
fn assert_no_problems(problems: Vec<String>) {
    if problems.is_empty() {
        return;
    }
    let facts: Vec<String> = both_runs().iter().map(|run| run.facts()).collect();
    panic!(
        "{} problem(s):\n- {}\n\n{}",
        problems.len(),
        problems.join("\n- "),
        facts.join("\n")
    );
}

/// Each case whose name starts with `prefix` that did not get its expected verdict and reason,
/// in either run.
#[track_caller]
fn problems_with(prefix: &str) -> Vec<String> {
    let cases = expectations();
    let chosen: Vec<(&str, &Expected)> = cases
        .iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|(name, expected)| (*name, expected))
        .collect();
    assert!(!chosen.is_empty(), "no case starts with {prefix:?}");
    both_runs()
        .iter()
        .flat_map(|run| {
            chosen
                .iter()
                .filter_map(|(name, expected)| run.mismatch(name, expected))
        })
        .collect()
}

#[test]
fn crashes_name_the_signal_and_what_led_to_it() {
    let mut problems = problems_with("crash::");
    for run in both_runs() {
        let stderr_of = |name| run.section(name, "stderr").unwrap_or_default();
        for (name, needle) in [
            (
                "crash::overflows_its_stack",
                "has overflowed its stack".to_owned(),
            ),
            (
                "crash::fails_to_allocate_64_tib",
                format!("memory allocation of {HUGE} bytes failed"),
            ),
        ] {
            if !stderr_of(name).contains(&needle) {
                problems.push(format!(
                    "{name}, at {} thread(s): its captured stderr lacks {needle:?}: {:?}",
                    run.threads,
                    stderr_of(name)
                ));
            }
        }
    }
    assert_no_problems(problems);
}

#[test]
fn lies_about_the_result_never_pass() {
    assert_no_problems(problems_with("lie::"));
}

#[test]
fn floods_are_cut_down_and_stdin_is_at_its_end() {
    let mut problems = problems_with("flood::");
    let location = at(r#"panic!("flooded")"#);
    for run in both_runs() {
        for (name, flooded) in [
            ("flood::stdout_then_panics", "stdout"),
            ("flood::stderr_then_panics", "stderr"),
        ] {
            let mut problem = |what: String| {
                problems.push(format!("{name}, at {} thread(s): {what}", run.threads));
            };
            match run.section(name, flooded) {
                Some(section) if section.contains(" bytes omitted ...]") => {}
                section => problem(format!(
                    "its captured {flooded} has no `bytes omitted` note ({} bytes shown)",
                    section.map_or(0, str::len)
                )),
            }
            let stderr = run.section(name, "stderr").unwrap_or_default();
            if !ends_with_the_panic_message(stderr, &location, "flooded") {
                let tail: String = stderr.lines().rev().take(4).collect::<Vec<_>>().join("\n");
                problem(format!(
                    "its captured stderr does not end with the panic message; it ends with {tail:?}"
                ));
            }
        }
    }
    assert_no_problems(problems);
}

/// Whether `stderr` ends with std's report of a panic at `location` with `message`: the line
/// `thread '...' panicked at LOCATION:`, the message, and nothing after but std's note about
/// `RUST_BACKTRACE`.
fn ends_with_the_panic_message(stderr: &str, location: &str, message: &str) -> bool {
    let mut lines: Vec<&str> = stderr.lines().collect();
    if lines
        .last()
        .is_some_and(|line| line.starts_with("note: run with `RUST_BACKTRACE=1`"))
    {
        lines.pop();
    }
    match lines[..] {
        [.., header, last] => {
            header.starts_with("thread '")
                && header.ends_with(&format!(" panicked at {location}:"))
                && last == message
        }
        _ => false,
    }
}

#[test]
fn leak_sites_are_found_or_the_tracking_run_says_why_not() {
    let mut problems = problems_with("leak::");
    for run in both_runs() {
        for (name, _, expected) in leak_cases() {
            let Some(failure) = run.run.report.failures.get(name) else {
                continue;
            };
            let evidence: Vec<&str> = failure
                .reason_lines
                .iter()
                .skip(1)
                .take_while(|line| !line.starts_with("memory: "))
                .map(|line| at_the_least_tracking_deadline(line))
                .collect();
            if evidence != expected {
                problems.push(format!(
                    "{name}, at {} thread(s): expected the lines {expected:#?}\ngot {evidence:#?}",
                    run.threads
                ));
            }
        }
        if !run
            .run
            .report
            .after_summary
            .iter()
            .any(|line| line == NOT_REPRODUCIBLE)
        {
            problems.push(format!(
                "at {} thread(s): no line {NOT_REPRODUCIBLE:?} after the summary",
                run.threads
            ));
        }
    }
    assert_no_problems(problems);
}

#[test]
fn oversized_messages_are_matched_whole_and_shown_as_head_and_tail() {
    let mut problems = problems_with("big::");
    for run in both_runs() {
        for (name, start, omitted) in big_cases() {
            let (Some(start), Some(omitted)) = (start, omitted) else {
                continue;
            };
            let Some(failure) = run.run.report.failures.get(name) else {
                continue;
            };
            let lines = &failure.reason_lines;
            if lines.first() != Some(&start) || lines.get(1) != Some(&omitted) {
                problems.push(format!(
                    "{name}, at {} thread(s): expected a first line of {} bytes and then {omitted:?}, got lines of {:?} bytes, the second {:?}",
                    run.threads,
                    start.len(),
                    lines.iter().map(String::len).collect::<Vec<_>>(),
                    lines.get(1).map(|line| &line[..line.len().min(80)]),
                ));
            }
        }
    }
    assert_no_problems(problems);
}

#[test]
fn hangs_of_every_kind_time_out() {
    assert_no_problems(problems_with("hang::"));
}

#[test]
fn grandchildren_in_the_tests_process_group_are_killed_without_a_word() {
    let mut problems = problems_with("escape::leaves_a_sleep");
    problems.extend(problems_with("escape::forks"));
    for run in both_runs() {
        for (key, test, _) in &LEFT_BEHIND[..2] {
            problems.extend(left_behind_problems(run, key, test));
            if let Some(pid) = run.left.get(key) {
                let named = format!("process {pid} ");
                if let Some(line) = run
                    .run
                    .report
                    .after_summary
                    .iter()
                    .find(|line| line.contains(&named))
                {
                    problems.push(format!(
                        "{test}, at {} thread(s): its grandchild never left its process group, yet: {line:?}",
                        run.threads
                    ));
                }
            }
        }
    }
    assert_no_problems(problems);
}

#[test]
fn grandchildren_that_leave_the_process_group_are_killed_and_named() {
    let mut problems = problems_with("escape::leaves_a_grandchild");
    for run in both_runs() {
        let mut warnings: Vec<&str> = run
            .run
            .report
            .after_summary
            .iter()
            .filter(|line| line.starts_with("warning: ") && line.contains(" process "))
            .map(String::as_str)
            .collect();
        warnings.sort_unstable();
        let mut expected = Vec::new();
        for (key, test, comm) in &LEFT_BEHIND[2..] {
            problems.extend(left_behind_problems(run, key, test));
            if let Some(pid) = run.left.get(key) {
                expected.push(format!(
                    "warning: {test} left process {pid} ({comm}) running outside its process group; it was killed"
                ));
            }
        }
        expected.sort_unstable();
        if warnings != expected {
            problems.push(format!(
                "at {} thread(s): expected the warnings {expected:#?}\nafter the summary, got {warnings:#?}",
                run.threads
            ));
        }
    }
    assert_no_problems(problems);
}

/// What is wrong with the process `test` left under `key`: not recorded, or outlived the run.
fn left_behind_problems(run: &HostileRun, key: &str, test: &str) -> Vec<String> {
    let Some(pid) = run.left.get(key) else {
        return vec![format!(
            "{test}, at {} thread(s): recorded no process",
            run.threads
        )];
    };
    run.survivors
        .iter()
        .filter(|survivor| survivor.pid == *pid)
        .map(|survivor| {
            format!(
                "{test}, at {} thread(s): its process {survivor}",
                run.threads
            )
        })
        .collect()
}

#[test]
fn no_test_sees_what_others_did_to_their_process() {
    // The checker runs between poisoners in name order (and among them at eight threads).
    let names = both_runs()[0].run.names();
    let checker = names
        .iter()
        .position(|name| *name == "poison::check_sees_none_of_it");
    let first_poisoner = names.iter().position(|name| name.starts_with("poison::a_"));
    let last_poisoner = names
        .iter()
        .rposition(|name| name.starts_with("poison::z_"));
    assert!(
        matches!((first_poisoner, checker, last_poisoner), (Some(a), Some(c), Some(z)) if a < c && c < z),
        "the checker does not run between the poisoners: {names:?}"
    );
    assert_no_problems(problems_with("poison::"));
}

#[test]
fn signals_to_the_harness_fail_the_sender_and_the_run_goes_on() {
    let mut problems = problems_with("siege::");
    for run in both_runs() {
        if run.run.code != Some(101) {
            problems.push(format!(
                "at {} thread(s): the harness ended with code {:?}, signal {:?}, not code 101",
                run.threads, run.run.code, run.run.signal
            ));
        }
    }
    assert_no_problems(problems);
}

#[test]
fn the_suite_holds_exactly_the_cases_listed_here() {
    let listed = fixture!("hostile").args(["--list"]).run();
    listed.assert_exit_code(0);
    let listed: Vec<&str> = listed
        .stdout
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .collect();
    let expected: Vec<&str> = expectations().into_keys().collect();
    assert_eq!(listed, expected);
}

#[test]
fn every_case_is_reported_once_in_name_order_and_the_run_exits_101() {
    let cases = expectations();
    let expected_names: Vec<&str> = cases.keys().copied().collect();
    let passes = cases
        .values()
        .filter(|expected| **expected == Expected::Ok)
        .count();
    let mut problems = Vec::new();
    for run in both_runs() {
        if run.run.names() != expected_names {
            problems.push(format!(
                "at {} thread(s): verdict lines for {:?}",
                run.threads,
                run.run.names()
            ));
        }
        let counts = run
            .run
            .report
            .summary
            .map(|summary| (summary.passed, summary.failed, summary.ignored));
        if counts != Some((passes, cases.len() - passes, 0)) {
            problems.push(format!(
                "at {} thread(s): summary counts (passed, failed, ignored) {counts:?}, expected {:?}",
                run.threads,
                (passes, cases.len() - passes, 0)
            ));
        }
        if run.run.code != Some(101) {
            problems.push(format!(
                "at {} thread(s): exit code {:?}, expected 101",
                run.threads, run.run.code
            ));
        }
    }
    assert_no_problems(problems);
}

#[test]
fn one_and_eight_threads_give_the_same_verdicts_and_reasons() {
    let [one, eight] = both_runs();
    let verdicts_and_reasons = |run: &'static HostileRun| -> BTreeMap<&str, (&str, Option<&str>)> {
        let report = &run.run.report;
        report
            .verdicts
            .iter()
            .map(|(name, verdict)| {
                let reason = report
                    .failures
                    .get(name)
                    .map(|failure| failure.reason.as_str());
                (name.as_str(), (verdict.as_str(), reason))
            })
            .collect()
    };
    assert_eq!(
        verdicts_and_reasons(one),
        verdicts_and_reasons(eight),
        "\n{}\n{}",
        one.facts(),
        eight.facts()
    );
}

#[test]
fn the_harness_itself_never_panics() {
    for run in both_runs() {
        run.run.assert_harness_did_not_panic();
    }
}

/// `... | head`: the harness's stdout closes while a daemon a test started (out of its process
/// group, reparented to the harness) still runs. The run ends as an interrupted one, with the
/// shell's status for SIGPIPE, and kills every process it started, the daemon too.
#[test]
fn a_closed_stdout_ends_the_run_and_leaves_nothing_running() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;

    const GUARD: Duration = Duration::from_secs(60);
    const DAEMON: &str = "escape::leaves_a_grandchild_that_calls_setsid";
    let pid_dir = TempDir::new("hostile-closed-stdout");
    let mut command = Command::new(env!("CARGO_BIN_EXE_hostile"));
    let mut harness = isolated_test_e2e::with_backend_under_test(&mut command)
        // The daemon's test first; the next result line the harness writes meets the closed pipe.
        .args(["--test-threads=1", "--exact", DAEMON, "flood::stdout"])
        .env("E2E_PID_DIR", pid_dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("the hostile suite starts");
    let group = harness.id() as i32;
    let stdout = harness.stdout.take().expect("stdout is piped");
    // Reads up to the daemon test's verdict, then drops the read end: stdout is closed.
    let (said, heard) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let done = line.starts_with(&format!("test {DAEMON} ... "));
            let _ = said.send(line);
            if done {
                return;
            }
        }
    });
    let mut lines = Vec::new();
    while let Ok(line) = heard.recv_timeout(GUARD) {
        lines.push(line);
    }
    let (ended, end) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = ended.send(harness.wait_with_output());
    });
    let Ok(output) = end.recv_timeout(GUARD) else {
        // SAFETY: a plain signal to the process group this test made.
        unsafe { libc::kill(-group, libc::SIGKILL) };
        panic!("the harness did not end within {GUARD:?} after its stdout closed: {lines:?}");
    };
    let output = output.expect("the harness is waited for");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        lines.last().map(String::as_str),
        Some(format!("test {DAEMON} ... ok").as_str()),
        "{lines:?}\n{stderr}"
    );
    assert_eq!(
        (output.status.code(), output.status.signal()),
        (Some(128 + libc::SIGPIPE), None),
        "the harness did not end with the shell's status for SIGPIPE\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "the harness panicked\n{stderr}"
    );
    let daemon = pid_dir.read_pid("setsid");
    assert_eq!(
        processes_that_outlive_the_run(&[daemon]),
        Vec::new(),
        "the daemon outlived the run"
    );
}
