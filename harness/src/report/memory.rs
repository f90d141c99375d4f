//! What a test's child used and printed: the figures under a failure, in JUnit's properties and
//! in the memory notes, and its captured streams.

use std::time::Duration;

use crate::outcome::HeapDelta;
use crate::outcome::{CapturedStream, Usage};
use crate::size;

/// What a test's child used: its heap (when it returned and a counting allocator is installed)
/// and what the kernel counted.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MemoryFigures {
    pub(crate) heap: Option<HeapDelta>,
    pub(crate) usage: Option<Usage>,
    /// Of what the heap kept, the bytes still reachable, where a run that tracked allocations
    /// told them apart.
    pub(crate) still_reachable: Option<u64>,
    /// How much the C library's heap grew beyond the counting allocator's figure: memory code
    /// called through FFI kept.
    pub(crate) foreign_heap: Option<i64>,
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
        if let Some(bytes) = self.foreign_heap {
            parts.push(format!(
                "C heap grew by about {} beyond the Rust heap's",
                size::format(bytes.max(0) as u64)
            ));
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
        if let Some(bytes) = self.foreign_heap {
            properties.push(("heap.foreign_bytes".to_owned(), bytes.to_string()));
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

/// A test's captured output and memory figures.
#[derive(Default)]
pub(crate) struct Captured {
    pub(crate) memory: MemoryFigures,
    pub(crate) stdout: CapturedStream,
    pub(crate) stderr: CapturedStream,
}

impl Captured {
    /// Everything the test printed, as libtest's formats carry it: stdout, then stderr.
    pub(crate) fn output(&self) -> String {
        self.stdout.text() + &self.stderr.text()
    }
}
