//! What the user reads beyond libtest-mimic's own lines: the reason and captured output under each
//! failure, and the notes said after the run.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use console::style;
use nix::sys::signal::Signal;

use crate::alloc::HeapDelta;
use crate::capture::CapturedStream;
use crate::orphans::Escapee;
use crate::size;
use crate::supervisor::Usage;

/// What a test's child used: its heap (when it returned and a counting allocator is installed)
/// and what the kernel counted.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MemoryFigures {
    pub(crate) heap: Option<HeapDelta>,
    pub(crate) usage: Option<Usage>,
    /// Of what the heap kept, the bytes still reachable, where a run that tracked allocations
    /// told them apart.
    pub(crate) still_reachable: Option<u64>,
}

impl MemoryFigures {
    /// `memory: heap peak 1.5 MiB, 12 allocations, 0 B left in 0 blocks; max RSS 4.1 MiB; CPU
    /// 0.3 ms user, 0.5 ms system`, with what is known; `None` when nothing is.
    pub(crate) fn line(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(heap) = self.heap {
            parts.push(format!(
                "heap peak {}, {} allocation{}, {} left in {} block{}",
                size::format(heap.peak_bytes),
                heap.allocations,
                if heap.allocations == 1 { "" } else { "s" },
                size::format(heap.net_bytes.max(0) as u64),
                heap.net_blocks.max(0),
                if heap.net_blocks == 1 { "" } else { "s" },
            ));
            let reachable = self.still_reachable.filter(|&bytes| bytes > 0);
            if let (Some(reachable), Some(last)) = (reachable, parts.last_mut()) {
                last.push_str(&format!(" ({} still reachable)", size::format(reachable)));
            }
        }
        if let Some(usage) = self.usage {
            parts.push(format!("max RSS {}", size::format(usage.max_rss_bytes)));
            parts.push(format!(
                "CPU {} user, {} system",
                millis(usage.user),
                millis(usage.system)
            ));
        }
        (!parts.is_empty()).then(|| format!("memory: {}", parts.join("; ")))
    }

    /// The figures as JUnit properties.
    pub(crate) fn properties(&self) -> Vec<(String, String)> {
        let mut properties = Vec::new();
        if let Some(heap) = self.heap {
            properties.push(("heap.peak_bytes".to_owned(), heap.peak_bytes.to_string()));
            properties.push(("heap.allocations".to_owned(), heap.allocations.to_string()));
            properties.push(("heap.leaked_bytes".to_owned(), heap.net_bytes.to_string()));
            properties.push(("heap.leaked_blocks".to_owned(), heap.net_blocks.to_string()));
        }
        if let Some(reachable) = self.still_reachable {
            properties.push((
                "heap.still_reachable_bytes".to_owned(),
                reachable.to_string(),
            ));
        }
        if let Some(usage) = self.usage {
            properties.push(("max_rss_bytes".to_owned(), usage.max_rss_bytes.to_string()));
            properties.push(("cpu.user_us".to_owned(), usage.user.as_micros().to_string()));
            properties.push((
                "cpu.system_us".to_owned(),
                usage.system.as_micros().to_string(),
            ));
        }
        properties
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// The text libtest-mimic prints under `---- NAME ----` for a failed test: the reason, the
/// evidence behind it (where a hung test was stuck), the memory figures, then the captured
/// output.
pub(crate) fn failure_message(
    reason: &str,
    evidence: &[String],
    memory: &MemoryFigures,
    stdout: CapturedStream,
    stderr: CapturedStream,
) -> String {
    let mut message = style(reason).red().bold().to_string();
    for line in evidence {
        message.push('\n');
        message.push_str(line);
    }
    if let Some(line) = memory.line() {
        message.push('\n');
        message.push_str(&style(line).dim().to_string());
    }
    let output = sections(stdout, stderr);
    if !output.is_empty() {
        message.push('\n');
        message.push_str(&output);
    }
    message
}

/// The output of a passing test, for `--show-output`; `None` when it printed nothing.
pub(crate) fn success_output(stdout: CapturedStream, stderr: CapturedStream) -> Option<String> {
    let output = sections(stdout, stderr);
    (!output.is_empty()).then_some(output)
}

/// Each non-empty stream under a `--- stdout ---` or `--- stderr ---` heading.
fn sections(stdout: CapturedStream, stderr: CapturedStream) -> String {
    let mut text = String::new();
    for (title, stream) in [("stdout", stdout), ("stderr", stderr)] {
        if stream.is_empty() {
            continue;
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&style(format!("--- {title} ---")).dim().to_string());
        text.push('\n');
        // std starts some of its own messages (stack overflow) with a blank line.
        let body = stream.into_text();
        text.push_str(body.trim_start_matches('\n').trim_end_matches('\n'));
    }
    text
}

/// What the run has to say after libtest-mimic's summary.
#[derive(Default)]
pub(crate) struct AfterRun {
    /// Passing tests with something to say of their heap: what `allow_leaks` let pass, growth a
    /// second run did not reproduce.
    pub(crate) leak_notes: Vec<(String, String)>,
    /// How many tests passed without a leak check.
    pub(crate) unchecked: usize,
    /// Captured output of passing tests, for `--show-output`.
    pub(crate) successes: Vec<(String, String)>,
    /// Processes that escaped a test's process group, killed.
    pub(crate) escapees: Vec<Escapee>,
    /// Which test said it left which process.
    pub(crate) left_by: HashMap<i32, String>,
    /// Tests that passed only on a retry.
    pub(crate) flaky: Vec<Flaky>,
    /// Each passing test's memory line, for `ISOLATED_TEST_REPORT=memory` and `--show-output`.
    pub(crate) memory: Vec<(String, String)>,
}

/// A test that failed, then passed when run again.
pub(crate) struct Flaky {
    pub(crate) name: String,
    /// How many runs it was allowed.
    pub(crate) attempts: usize,
    /// Why each run before the passing one failed.
    pub(crate) failures: Vec<String>,
}

impl AfterRun {
    pub(crate) fn print(&self) {
        let mut out = std::io::stdout().lock();
        if !self.successes.is_empty() {
            let _ = writeln!(out, "\nsuccesses:\n");
            for (name, output) in &self.successes {
                let _ = writeln!(out, "---- {name} ----\n{output}\n");
            }
        }
        if !self.memory.is_empty() {
            let _ = writeln!(out, "memory of the tests that passed:");
            for (name, line) in &self.memory {
                let line = line.strip_prefix("memory: ").unwrap_or(line);
                let _ = writeln!(out, "    {name}: {line}");
            }
            let _ = writeln!(out);
        }
        for Flaky {
            name,
            attempts,
            failures,
        } in &self.flaky
        {
            let _ = writeln!(
                out,
                "{} {name} passed on attempt {} of {attempts}",
                style("FLAKY").yellow().bold(),
                failures.len() + 1,
            );
            for (attempt, reason) in failures.iter().enumerate() {
                let _ = writeln!(out, "    attempt {}: {reason}", attempt + 1);
            }
        }
        if !self.flaky.is_empty() {
            let count = self.flaky.len();
            let _ = writeln!(
                out,
                "{} {count} flaky test{} passed only on a retry",
                style("flaky:").yellow().bold(),
                if count == 1 { "" } else { "s" },
            );
        }
        for (name, leak) in &self.leak_notes {
            let _ = writeln!(out, "{} {name} {leak}", style("note:").yellow().bold());
        }
        for Escapee { pid, command } in &self.escapees {
            let warning = style("warning:").yellow().bold();
            let _ = match self.left_by.get(pid) {
                Some(name) => writeln!(
                    out,
                    "{warning} {name} left process {pid} ({command}) running outside its process group; it was killed"
                ),
                None => writeln!(
                    out,
                    "{warning} process {pid} ({command}) escaped the process group of a test; it was killed"
                ),
            };
        }
        if self.unchecked > 0 {
            let _ = writeln!(
                out,
                "{} leak check unavailable for {} test{}: no counting allocator is installed (end the test file with `isolated_test::main!();`)",
                style("warning:").yellow().bold(),
                self.unchecked,
                if self.unchecked == 1 { "" } else { "s" },
            );
        }
    }
}

/// What finished before a signal interrupted the run.
pub(crate) struct Interruption<'a> {
    pub(crate) signal: Signal,
    pub(crate) passed: usize,
    pub(crate) failures: &'a [(String, String)],
    pub(crate) ignored: usize,
    pub(crate) unfinished: usize,
    pub(crate) elapsed: Duration,
}

impl Interruption<'_> {
    /// libtest's closing lines, for a run that did not close: the failures so far and a count.
    pub(crate) fn print(&self, mid_line: bool) {
        let mut out = std::io::stdout().lock();
        if mid_line {
            let _ = writeln!(out, "{}", style("interrupted").red());
        }
        if !self.failures.is_empty() {
            let _ = writeln!(out, "\nfailures:\n");
            for (name, message) in self.failures {
                let _ = writeln!(out, "---- {name} ----\n{message}\n");
            }
            let _ = writeln!(out, "\nfailures:");
            for (name, _) in self.failures {
                let _ = writeln!(out, "    {name}");
            }
        }
        let _ = writeln!(
            out,
            "\ntest result: {}. {} passed; {} failed; {} ignored; {} did not finish; finished in {:.2}s\n",
            style(format!("interrupted by {}", self.signal.as_str())).red(),
            self.passed,
            self.failures.len(),
            self.ignored,
            self.unfinished,
            self.elapsed.as_secs_f64(),
        );
    }
}

/// One line on stderr for a mistake in how the harness was invoked.
pub(crate) fn config_error(message: &str) -> ! {
    eprintln!("{} {message}", style("error:").red().bold());
    std::process::exit(2)
}
