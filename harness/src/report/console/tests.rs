//! Each format's text, fed the same typed events: a run of four tests (one passes, one fails,
//! one is ignored with a reason, one passes on a retry), ended and interrupted. The end-to-end
//! twins compare the same formats against the toolchain's own libtest.

use std::time::Duration;

use crate::sys::Signal;

use super::*;
use crate::outcome::CapturedStream;
use crate::registry::{ExpectedEnd, Ignore, LeakPolicy, ShouldPanic, Source, TestCase};
use crate::report::{Captured, FailureReport, Passed, RunEnd};
use crate::verdict::Failure;

const fn case(name: &'static str, ignore: Ignore) -> TestCase {
    TestCase {
        module_path: "suite::inner",
        name,
        source: Source {
            file: "tests/suite.rs",
            line: 7,
            column: 4,
        },
        body: || Ok(()),
        ignore,
        should_panic: ShouldPanic::No,
        timeout: None,
        leaks: LeakPolicy::RunDefault,
        end: ExpectedEnd::Finish,
        stderr: None,
        retries: None,
        memory_limit: None,
        max_peak: None,
        strict_leaks: false,
        serial: None,
        setup: None,
    }
}

static ADDS: TestCase = case("adds", Ignore::No);
static BREAKS: TestCase = case("breaks", Ignore::No);
static SKIPPED: TestCase = case("skipped", Ignore::Yes(Some("slow")));
static WOBBLES: TestCase = case("wobbles", Ignore::No);

fn name(case: &'static TestCase, name: &'static str) -> TestName<'static> {
    TestName {
        name,
        case,
        kind: TestKind::Integration,
    }
}

fn passed(earlier_failures: Vec<Failure>) -> TestResult {
    let attempts = 1 + earlier_failures.len();
    TestResult {
        end: TestEnd::Passed(Passed {
            note: None,
            still_reachable: None,
            earlier_failures,
            attempts,
            over_time_limit: false,
        }),
        time: Duration::from_millis(3),
        captured: Captured::default(),
    }
}

fn failed() -> TestResult {
    let mut stdout = CapturedStream::default();
    stdout.push(b"got 3\n");
    let report = FailureReport {
        failure: Failure::ShouldHavePanicked { expected: None },
        source: ADDS.source,
        stuck_at: Vec::new(),
        leak_sites: None,
        strict_leaks: false,
    };
    TestResult {
        end: TestEnd::Failed(Box::new(report)),
        time: Duration::from_millis(5),
        captured: Captured {
            stdout,
            ..Captured::default()
        },
    }
}

/// The console's text for the four tests in `format`, ended by `last`.
fn text(format: Format, last: impl FnOnce(&mut Console<Vec<u8>>)) -> String {
    crate::report::console::set_colors(false);
    let options = ConsoleOptions {
        format,
        palette: None,
        multithreaded: false,
        show_output: false,
        show_memory: false,
        nocapture: false,
        time_limits: None,
    };
    let mut console = Console::writing_to(options, None, Vec::new());
    let start = RunStart {
        total: 4,
        filtered_out: 1,
        shuffle_seed: None,
        ignored: vec!["inner::skipped".to_owned()],
    };
    console.event(&Event::RunStarted(&start));
    let tests = [
        (name(&ADDS, "inner::adds"), passed(Vec::new())),
        (name(&BREAKS, "inner::breaks"), failed()),
        (name(&SKIPPED, "inner::skipped"), TestResult::ignored()),
    ];
    for (test, result) in &tests {
        console.event(&Event::TestStarted(*test));
        console.event(&Event::TestFinished(*test, result));
    }
    let wobbles = name(&WOBBLES, "inner::wobbles");
    console.event(&Event::TestStarted(wobbles));
    console.event(&Event::Retrying(wobbles));
    let reason = Failure::NotStarted("no fork".to_owned());
    console.event(&Event::TestFinished(wobbles, &passed(vec![reason])));
    last(&mut console);
    String::from_utf8(console.into_output()).unwrap()
}

fn finished(console: &mut Console<Vec<u8>>) {
    let end = RunEnd {
        escapees: Vec::new(),
        elapsed: Duration::from_millis(250),
    };
    console.event(&Event::RunFinished(&end));
}

fn interrupted(console: &mut Console<Vec<u8>>) {
    let interruption = Interruption {
        signal: Signal::SIGINT,
        ignored: 1,
        unfinished: 0,
        escapees: Vec::new(),
        elapsed: Duration::from_millis(250),
    };
    console.event(&Event::Interrupted(&interruption));
}

const FAILURE: &str = "---- inner::breaks ----\n\
    returned normally, but should have panicked\n\
    note: test did not panic as expected at tests/suite.rs:7:4\n\
    --- stdout ---\n\
    got 3\n\n";

#[test]
fn pretty_says_a_line_per_test_then_the_failures_and_the_summary() {
    let expected = format!(
        "\nrunning 4 tests\n\
        test inner::adds ... ok\n\
        test inner::breaks ... FAILED\n\
        test inner::skipped ... ignored, slow\n\
        test inner::wobbles ... ok\n\
        \nfailures:\n\n{FAILURE}\
        \nfailures:\n    inner::breaks\n\
        \ntest result: FAILED. 2 passed; 1 failed; 1 ignored; 0 measured; 1 filtered out; finished in 0.25s\n\n"
    );
    assert_eq!(text(Format::Pretty, finished), expected);
}

#[test]
fn terse_marks_each_test_and_names_a_failure() {
    let expected = format!(
        "\nrunning 4 tests\n\
        . 1/4\n\
        inner::breaks --- FAILED\n\
        i.\
        \nfailures:\n\n{FAILURE}\
        \nfailures:\n    inner::breaks\n\
        \ntest result: FAILED. 2 passed; 1 failed; 1 ignored; 0 measured; 1 filtered out; finished in 0.25s\n\n"
    );
    assert_eq!(text(Format::Terse, finished), expected);
}

#[test]
fn json_says_an_event_per_line_with_the_retry_in_the_tests_stdout() {
    let expected = "{ \"type\": \"suite\", \"event\": \"started\", \"test_count\": 4 }\n\
        { \"type\": \"test\", \"event\": \"started\", \"name\": \"inner::adds\" }\n\
        { \"type\": \"test\", \"name\": \"inner::adds\", \"event\": \"ok\" }\n\
        { \"type\": \"test\", \"event\": \"started\", \"name\": \"inner::breaks\" }\n\
        { \"type\": \"test\", \"name\": \"inner::breaks\", \"event\": \"failed\", \"stdout\": \"got 3\\n\", \"message\": \"returned normally, but should have panicked\\nnote: test did not panic as expected at tests/suite.rs:7:4\" }\n\
        { \"type\": \"test\", \"event\": \"started\", \"name\": \"inner::skipped\" }\n\
        { \"type\": \"test\", \"name\": \"inner::skipped\", \"event\": \"ignored\", \"message\": \"slow\" }\n\
        { \"type\": \"test\", \"event\": \"started\", \"name\": \"inner::wobbles\" }\n\
        { \"type\": \"test\", \"name\": \"inner::wobbles\", \"event\": \"ok\", \"stdout\": \"FLAKY inner::wobbles passed on attempt 2 of 2\\n    attempt 1: could not start the test's child process: no fork\\n\" }\n\
        { \"type\": \"suite\", \"event\": \"failed\", \"passed\": 2, \"failed\": 1, \"ignored\": 1, \"measured\": 0, \"filtered_out\": 1, \"exec_time\": 0.25 }\n";
    assert_eq!(text(Format::Json, finished), expected);
}

#[test]
fn junit_writes_one_document_at_the_end() {
    let expected = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
        <testsuites><testsuite name=\"test\" package=\"test\" id=\"0\" errors=\"0\" failures=\"1\" tests=\"4\" skipped=\"1\" >\
        <testcase classname=\"integration\" name=\"inner::adds\" time=\"0\"/>\
        <testcase classname=\"integration\" name=\"inner::breaks\" time=\"0\"><failure message=\"returned normally, but should have panicked&#xA;note: test did not panic as expected at tests/suite.rs:7:4\" type=\"assert\"/><system-out><![CDATA[got 3]]>&#xA;<![CDATA[]]></system-out></testcase>\
        <testcase classname=\"integration\" name=\"inner::wobbles\" time=\"0\"/>\
        <system-out/><system-err/></testsuite></testsuites>\n";
    assert_eq!(text(Format::Junit, finished), expected);
}

#[test]
fn an_interrupted_run_says_what_finished_in_the_formats_for_people_only() {
    let pretty = text(Format::Pretty, interrupted);
    let closing = format!(
        "interrupted\n\
        \nfailures:\n\n{FAILURE}\
        \nfailures:\n    inner::breaks\n\
        \ntest result: interrupted by SIGINT. 2 passed; 1 failed; 1 ignored; 0 did not finish; finished in 0.25s\n\n"
    );
    let ending = format!("test inner::wobbles ... ok\n{closing}");
    assert!(pretty.ends_with(&ending), "{pretty}");
    // Only JSON lines on stdout: the closing lines go to stderr.
    let json = text(Format::Json, interrupted);
    assert!(json.lines().all(|line| line.starts_with("{ ")), "{json}");
    let junit = text(Format::Junit, interrupted);
    assert_eq!(junit, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
}
