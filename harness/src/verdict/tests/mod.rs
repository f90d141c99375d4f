//! The verdict's unit tests, by concern; the failures' words are the report's, asserted here
//! whole.

mod ending;
mod finished;
mod tracking;

use std::time::Duration;

use super::*;
use crate::outcome::{CapturedStream, ChildReport, Clues, HeapDelta, Mishaps, PanicRecord};
use crate::registry::ShouldPanic;

fn outcome(report: Result<ChildReport, ProtocolError>, end: ChildEnd) -> ChildOutcome {
    let first_panic = match &report {
        Ok(ChildReport::Panicked(panic)) => Some(panic.clone()),
        _ => None,
    };
    ChildOutcome {
        report,
        clues: Clues {
            mishaps: Mishaps {
                first_panic,
                ..Mishaps::default()
            },
            ..Clues::default()
        },
        end,
        signalled_harness: None,
        timed_out: None,
        duration: Duration::ZERO,
        usage: None,
        stdout: CapturedStream::default(),
        stderr: CapturedStream::default(),
    }
}

const STRICT: Expectations = Expectations {
    should_panic: ShouldPanic::No,
    leak_limit: Some(0),
    end: ExpectedEnd::Finish,
    stderr: None,
    panic_aborts: false,
    max_peak: None,
    strict_leaks: false,
};

const SEGV: ChildEnd = ChildEnd::Signaled {
    signal: SignalNumber(11),
    core_dumped: false,
};
const ABRT: ChildEnd = ChildEnd::Signaled {
    signal: SignalNumber(6),
    core_dumped: false,
};

fn returned(net_bytes: i64) -> Result<ChildReport, ProtocolError> {
    Ok(ChildReport::Returned {
        heap: Some(HeapDelta {
            net_bytes,
            net_blocks: net_bytes.signum(),
            allocations: 1,
            peak_bytes: net_bytes.max(0) as u64,
        }),
    })
}

fn panicked(message: &str) -> Result<ChildReport, ProtocolError> {
    Ok(ChildReport::Panicked(PanicRecord {
        contains_expected: None,
        message: Some(message.to_owned()),
        location: Some(crate::outcome::PanicLocation {
            file: "tests/t.rs".to_owned(),
            line: 4,
            column: 9,
        }),
    }))
}

fn reason(verdict: Verdict) -> String {
    match verdict {
        Verdict::Fail(failure) => failure.to_string(),
        pass => panic!("expected a failure, got {pass:?}"),
    }
}
