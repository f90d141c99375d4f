//! Every reason, note and piece of evidence the harness words, in one place: `Display` for the
//! verdict's types, and the lines said under a failure.

use std::fmt::{self, Display, Formatter};
use std::time::Duration;

use crate::outcome::{ChildEnd, SetupFailed, SetupFailure, SignalNumber, TimedOut};
use crate::outcome::{
    ChildReport, HeapDelta, LeakSite, LeftDescriptors, MemoryLimitHit, PanicRecord,
};
use crate::registry::Source;
use crate::size;
use crate::symbols::Frame;
use crate::verdict::{Ending, Failure, LastWords, LeakSiteSearch, Note, SearchFailure};

/// `11 (SIGSEGV)`, or the bare number of a signal without a name.
impl Display for SignalNumber {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl Display for Failure {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Failure::TimedOut(timed_out) => write_timed_out(f, timed_out),
            Failure::ForkedCopyReturned { panicked } => {
                let how = if *panicked {
                    "unwound out of the test body with a panic"
                } else {
                    "returned from the test body"
                };
                write!(
                    f,
                    "a process forked by the test {how} (end a forked process with `_exit`)"
                )
            }
            Failure::SignalledHarness(signal) => write!(f, "sent signal {signal} to the harness"),
            Failure::NotKilledBy { expected, ending } => write!(
                f,
                "should have been killed by signal {expected}, but it {}",
                Clause(ending)
            ),
            Failure::NotExitedWith { expected, ending } => write!(
                f,
                "should have exited with status {expected} before the test finished, but it {}",
                Clause(ending)
            ),
            Failure::StderrMismatch { pattern } => write!(
                f,
                "ended as expected, but its stderr does not match the regex {pattern:?}"
            ),
            Failure::InvalidStderrRegex { pattern, error } => {
                write!(f, "has an invalid stderr regex {pattern:?}: {error}")
            }
            Failure::OverMemoryLimit(hit) => write!(f, "{}", MemoryLimit(hit)),
            Failure::Ended(ending) => write_ending(f, ending),
            Failure::ShouldHavePanicked { expected: None } => {
                write!(f, "returned normally, but should have panicked")
            }
            Failure::ShouldHavePanicked {
                expected: Some(expected),
            } => write!(
                f,
                "returned normally, but should have panicked with a message containing {expected:?}"
            ),
            Failure::WrongPanic { panic, expected } => write!(
                f,
                "{}, but should have panicked with a message containing {expected:?}",
                Panicked(panic)
            ),
            Failure::PeakOverMax { .. }
            | Failure::Leaked { .. }
            | Failure::LeftDescriptors(_)
            | Failure::LeftThreads { .. } => write_resources(f, self),
            Failure::NotStarted(error) => {
                write!(f, "could not start the test's child process: {error}")
            }
            Failure::Setup(failure) => write!(f, "{failure}"),
        }
    }
}

/// A timeout's reason: after how long, and whether a signal had stopped the test.
fn write_timed_out(f: &mut Formatter<'_>, timed_out: &TimedOut) -> fmt::Result {
    let after = Duration::from_millis(timed_out.after.as_millis() as u64);
    write!(f, "timed out after {}", humantime::format_duration(after))?;
    if let Some(signal) = timed_out.stopped_by {
        write!(f, " while stopped by signal {signal}")?;
    }
    // Windows kills the test's Job Object: it and everything it started.
    let killed = if cfg!(windows) {
        "it and every process it started were killed"
    } else {
        "its process group was killed"
    };
    write!(f, "; {killed}")
}

/// The reason of a test that used or left more than it may: heap, descriptors, threads.
fn write_resources(f: &mut Formatter<'_>, failure: &Failure) -> fmt::Result {
    match failure {
        Failure::PeakOverMax { peak, max } => write!(
            f,
            "its heap peaked at {} above where it began, over its max_peak of {}",
            size::format(*peak),
            size::format(*max)
        ),
        Failure::Leaked {
            bytes,
            blocks,
            limit,
        } => write!(
            f,
            "leaked {} in {} (limit: {}); allow it with #[isolated_test(leak_limit = {bytes})] or #[isolated_test(allow_leaks)]",
            count(*bytes, "byte"),
            count(*blocks, "allocation"),
            count(*limit, "byte"),
        ),
        Failure::LeftDescriptors(left) => write!(
            f,
            "left {}; allow it with #[isolated_test(allow_leaks)]",
            Descriptors(left)
        ),
        Failure::LeftThreads { threads } => write!(
            f,
            "returned while {} it started still ran (strict_leaks)",
            threads_count(*threads)
        ),
        other => unreachable!("not a failure of resources: {other:?}"),
    }
}

/// An ending that failed a test, as the reason line says it.
fn write_ending(f: &mut Formatter<'_>, ending: &Ending) -> fmt::Result {
    match ending {
        Ending::Killed {
            signal,
            core_dumped,
            last_words,
        } => write!(
            f,
            "{}{}",
            Killed(*signal, *core_dumped),
            After(last_words.as_ref())
        ),
        Ending::ChannelLost => write!(
            f,
            "sent no result: the test closed or replaced its result channel"
        ),
        Ending::ExitedEarly {
            code: 0,
            last_words,
        } => write!(
            f,
            "exited with status 0 before the test finished{} (exiting is never a pass)",
            After(last_words.as_ref())
        ),
        Ending::NotReaped => write!(f, "ended, but could not be reaped: how is unknown"),
        other => write!(f, "{}", Clause(other)),
    }
}

/// How a child ended, to follow "but it": `was killed by signal 6 (SIGABRT) after it panicked
/// at …`, `returned normally`, `exited with status 3 before the test finished`.
struct Clause<'a>(&'a Ending);

impl Display for Clause<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ending::Killed {
                signal,
                core_dumped,
                last_words,
            } => write!(
                f,
                "was {}{}",
                Killed(*signal, *core_dumped),
                After(last_words.as_ref())
            ),
            Ending::Reported(ChildReport::Returned { .. }) => write!(f, "returned normally"),
            Ending::Reported(ChildReport::ReturnedErr { error }) => {
                write!(f, "returned an error: {error}")
            }
            Ending::Reported(ChildReport::Panicked(panic)) => write!(f, "{}", Panicked(panic)),
            Ending::ExitedAfterReport { code } => {
                write!(f, "{} after reporting its result", Exited(*code))
            }
            Ending::ChannelLost => write!(f, "closed or replaced its result channel"),
            Ending::ExitedEarly { code, last_words } => write!(
                f,
                "{} before the test finished{}",
                Exited(*code),
                After(last_words.as_ref())
            ),
            Ending::InvalidReport(error) => write!(f, "sent no valid result: {error}"),
            Ending::NotReaped => write!(f, "could not be reaped"),
        }
    }
}

/// `exited with status 3`; on Windows, where a crash ends a process with its exception's status,
/// the crash named: `crashed with exception 0xC0000005 (access violation)`.
struct Exited(i32);

impl Display for Exited {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        #[cfg(windows)]
        if let Some(name) = crate::sys::windows::exit_codes::exception_name(self.0) {
            return write!(f, "crashed with exception 0x{:08X} ({name})", self.0 as u32);
        }
        write!(f, "exited with status {}", self.0)
    }
}

/// `killed by signal 11 (SIGSEGV)`.
struct Killed(SignalNumber, bool);

impl Display for Killed {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let core = if self.1 { ", core dumped" } else { "" };
        write!(f, "killed by signal {}{core}", self.0)
    }
}

/// ` after it panicked at …` or ` after an allocation of N bytes failed`: what a child that died
/// was doing, when it said.
struct After<'a>(Option<&'a LastWords>);

impl Display for After<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => Ok(()),
            Some(LastWords::MemoryLimit(hit)) => write!(f, " after it {}", MemoryLimit(hit)),
            Some(LastWords::FailedAllocation(size)) => {
                write!(f, " after an allocation of {size} bytes failed")
            }
            Some(LastWords::Panicked(panic)) => write!(f, " after it {}", Panicked(panic)),
        }
    }
}

/// `exceeded its memory limit of 64 MiB (allocating 1048576 bytes with 63.5 MiB live)`.
struct MemoryLimit<'a>(&'a MemoryLimitHit);

impl Display for MemoryLimit<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "exceeded its memory limit of {} (allocating {} bytes with {} live)",
            size::format(self.0.limit),
            self.0.size,
            size::format(self.0.live)
        )
    }
}

/// `panicked at tests/t.rs:4:9: boom`.
struct Panicked<'a>(&'a PanicRecord);

impl Display for Panicked<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "panicked")?;
        if let Some(l) = &self.0.location {
            write!(f, " at {}:{}:{}", l.file, l.line, l.column)?;
        }
        match &self.0.message {
            Some(message) => write!(f, ": {message}"),
            None => write!(f, " with a payload that is not a string"),
        }
    }
}

impl Display for Note {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Note::AllowedLeak { bytes, blocks } => write!(
                f,
                "leaked {} in {} (allowed)",
                count(*bytes, "byte"),
                count(*blocks, "allocation"),
            ),
            Note::LeakCheckUnavailable => write!(
                f,
                "passed without a leak check: no counting allocator is installed"
            ),
            Note::NotReproducible { bytes, blocks } => write!(
                f,
                "grew its heap by {} in {}, but a second run that tracked allocations did not: not reproducible, not counted",
                count(*bytes, "byte"),
                count(*blocks, "allocation"),
            ),
            Note::LeakNotTold { bytes, blocks } => write!(
                f,
                "grew its heap by {} in {}, not counted: lost memory could not be told from still reachable{}",
                count(*bytes, "byte"),
                count(*blocks, "allocation"),
                if cfg!(target_os = "linux") {
                    ""
                } else {
                    " (the scan runs on Linux only)"
                },
            ),
            Note::AllowedDescriptors(left) => write!(f, "left {} (allowed)", Descriptors(left)),
            Note::HeldDescriptors(left) => write!(
                f,
                "left {}, held by state that outlives it (not a leak)",
                Descriptors(left)
            ),
            Note::DescriptorsNotReproducible(left) => write!(
                f,
                "left {}, but a second run that tracked allocations did not: not reproducible, not counted",
                Descriptors(left)
            ),
            Note::DescriptorsNotTold(left) => write!(
                f,
                "left {}, not counted: whether state that outlives it holds them could not be told{}",
                Descriptors(left),
                if cfg!(target_os = "linux") {
                    ""
                } else {
                    " (the scan runs on Linux only)"
                },
            ),
            Note::LeftThreads { threads } => write!(
                f,
                "returned while {} it started still ran",
                threads_count(*threads)
            ),
        }
    }
}

impl Display for SetupFailure {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let SetupFailure { setup, why, first } = self;
        write!(f, "setup {setup} ")?;
        match why {
            SetupFailed::Panicked { location, message } => {
                write!(f, "panicked")?;
                if let Some(location) = location {
                    write!(f, " at {location}")?;
                }
                match (message, first) {
                    (Some(message), true) => write!(f, ": {message}"),
                    (Some(_), false) => write!(f, " (its message is under the first test that needed it)"),
                    (None, _) => Ok(()),
                }
            }
            SetupFailed::LeftThreads(threads) => write!(
                f,
                "left {} running: no test can be forked from it safely; start no threads in a setup",
                count(*threads as u64, "thread")
            ),
            SetupFailed::TimedOut(after) => write!(
                f,
                "timed out after {}; its process was killed",
                humantime::format_duration(*after)
            ),
            SetupFailed::Died(end) => {
                write!(f, "ended before it said how it went: ")?;
                match end {
                    ChildEnd::Exited(code) => write!(f, "{}", Exited(*code)),
                    ChildEnd::Signaled {
                        signal,
                        core_dumped,
                    } => write!(f, "{}", Killed(*signal, *core_dumped)),
                    ChildEnd::NotReaped => write!(f, "could not be reaped"),
                }
            }
            SetupFailed::NotStarted(why) => write!(f, "could not be run: {why}"),
        }
    }
}

/// `1 thread`, `2 threads`.
fn threads_count(threads: u32) -> String {
    count(u64::from(threads), "thread")
}

/// `2 descriptors open: fd 7 → /tmp/x.db, fd 8 → socket`, and how many more were not named.
struct Descriptors<'a>(&'a LeftDescriptors);

impl Display for Descriptors<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let LeftDescriptors {
            count: total,
            named,
        } = self.0;
        write!(f, "{} open: ", count(u64::from(*total), "descriptor"))?;
        for (position, (fd, target)) in named.iter().enumerate() {
            let comma = if position == 0 { "" } else { ", " };
            write!(f, "{comma}fd {fd} → {target}")?;
        }
        match *total as usize - named.len() {
            0 => Ok(()),
            more => write!(f, " and {more} more"),
        }
    }
}

impl Display for SearchFailure {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SearchFailure::NotStarted(error) => write!(f, "could not be started: {error}"),
            SearchFailure::Failed(failure) => write!(f, "{failure}"),
            SearchFailure::NoHeapFigures => write!(f, "sent no heap figures"),
        }
    }
}

/// `1 byte`, `2 bytes`.
pub(crate) fn count(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// libtest's own line for a `should_panic` test that returned, which tools read from the output
/// (cargo-nextest takes it as the failure's message): `note: test did not panic as expected at
/// FILE:LINE:COLUMN`, where the test function is.
pub(crate) fn libtest_note(failure: &Failure, source: Source) -> Vec<String> {
    match failure {
        Failure::ShouldHavePanicked { .. } => vec![format!(
            "note: test did not panic as expected at {}:{}:{}",
            source.file, source.line, source.column
        )],
        _ => Vec::new(),
    }
}

/// `stuck at:` and the test's frames, innermost first, when a timed-out child said where it was.
pub(crate) fn stuck_evidence(frames: &[Frame]) -> Vec<String> {
    frame_lines("stuck at:", frames)
}

/// Where a test that runs long is, under libtest's notice: `  it is at:` and its frames.
pub(crate) fn where_evidence(frames: &[Frame]) -> Vec<String> {
    frame_lines("  it is at:", frames)
}

fn frame_lines(title: &str, frames: &[Frame]) -> Vec<String> {
    if frames.is_empty() {
        return Vec::new();
    }
    std::iter::once(title.to_owned())
        .chain(frames.iter().map(|frame| match &frame.location {
            Some(location) => format!("    {} at {location}", frame.function),
            None => format!("    {}", frame.function),
        }))
        .collect()
}

/// What the tracking run found, under a leak failure: where the lost blocks came from (with
/// `strict_leaks`, the still reachable ones too), or why that is not known.
pub(crate) fn leak_evidence(search: &LeakSiteSearch, strict: bool) -> Vec<String> {
    let (leaks, second, first) = match search {
        LeakSiteSearch::Failed(reason) => {
            return vec![format!(
                "leak sites: not found; the run that tracked allocations failed: {reason}"
            )]
        }
        LeakSiteSearch::Found {
            leaks,
            second,
            first,
            ..
        } => (leaks, second, first),
    };
    let mut lines = Vec::new();
    let amount = |heap: &HeapDelta| {
        let (bytes, blocks) = crate::verdict::left(*heap);
        format!(
            "{} in {}",
            count(bytes, "byte"),
            count(blocks, "allocation")
        )
    };
    if (second.net_bytes, second.net_blocks) != (first.net_bytes, first.net_blocks) {
        if !second.holds_memory() {
            return lines;
        }
        lines.push(format!(
            "not reproducible: the first run left {}, a second run that tracked allocations {}",
            amount(first),
            amount(second)
        ));
    }
    if leaks.unscanned {
        lines.push(
            "lost or still reachable: not known, the process's memory could not be scanned"
                .to_owned(),
        );
    }
    let mut kinds = vec![("lost", &leaks.lost)];
    if strict {
        kinds.push(("still reachable", &leaks.reachable));
    }
    if kinds.iter().all(|(_, tally)| tally.sites.is_empty()) {
        return lines;
    }
    lines.push("leak sites (from a second run that tracked allocations):".to_owned());
    for (kind, tally) in kinds {
        if tally.blocks == 0 {
            continue;
        }
        if strict {
            lines.push(format!("  {kind}:"));
        }
        site_lines(&tally.sites, &mut lines);
    }
    if leaks.unrecorded > 0 {
        lines.push(format!(
            "    and {} not recorded: the tracking table was full",
            count(leaks.unrecorded, "allocation")
        ));
    }
    lines
}

/// For each site, its size and the test's frames that allocated it.
pub(crate) fn site_lines(sites: &[LeakSite], lines: &mut Vec<String>) {
    if sites.is_empty() {
        lines.push(
            "    none recorded: the blocks left were allocated outside the tracking".to_owned(),
        );
    }
    for site in sites {
        let mut frames = site.frames.iter();
        let first = frames.next().map_or("an unknown place", String::as_str);
        lines.push(format!(
            "    {} in {} block{}: {first}",
            size::format(site.bytes),
            site.blocks,
            if site.blocks == 1 { "" } else { "s" },
        ));
        lines.extend(frames.map(|frame| format!("        called from {frame}")));
    }
}
