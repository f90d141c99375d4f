//! What a test holds besides its Rust heap when its body returns: descriptors it opened, threads
//! it started, and memory the C library's allocator handed to code called through FFI. Measured
//! around the body and sent as clues; the verdict decides what they mean.

use crate::sys;
use crate::wire::{HeapDelta, Message, NAMED_DESCRIPTORS};

/// A C heap growth below this is not reported: chunks parked in glibc's per-thread cache count
/// as used, and a test that only allocates and frees moves that figure by a few KiB.
const FOREIGN_HEAP_NOISE: i64 = 16 << 10;

/// Bytes glibc adds to each chunk it hands out, at most: a size word and rounding to 16.
const CHUNK_OVERHEAD: i64 = 24;

/// What was there before the body ran.
pub(super) struct Baseline {
    descriptors: [u64; sys::WATCHED_DESCRIPTORS / 64],
    malloc_in_use: Option<u64>,
}

impl Baseline {
    /// Taken before the heap snapshot the body is measured from: its own allocations belong to
    /// the harness, not to the test.
    pub(super) fn now() -> Self {
        Baseline {
            descriptors: sys::open_descriptors(),
            malloc_in_use: sys::malloc_in_use(),
        }
    }

    /// The C library's heap growth beyond the Rust heap's own: taken right after the heap
    /// snapshot that ends the body's measurement.
    pub(super) fn foreign_heap(&self, rust: HeapDelta) -> Option<i64> {
        let grown = sys::malloc_in_use()? as i64 - self.malloc_in_use? as i64;
        let foreign = grown - rust.net_bytes - CHUNK_OVERHEAD * rust.net_blocks.max(0);
        (foreign >= FOREIGN_HEAP_NOISE).then_some(foreign)
    }

    /// The descriptors open now that were not before the body. Allocates nothing.
    pub(super) fn left_open(&self) -> [u64; sys::WATCHED_DESCRIPTORS / 64] {
        let now = sys::open_descriptors();
        std::array::from_fn(|word| now[word] & !self.descriptors[word])
    }

    /// What the body left that was not there before it: sent after every heap measurement,
    /// since listing descriptors allocates.
    /// `threads_ran`: whether any thread but this one ran during the body ([`sys::OthersUsage`]).
    pub(super) fn left_behind(&self, foreign_heap: Option<i64>, threads_ran: bool) -> Vec<Message> {
        let mut messages = Vec::new();
        let left_open = self.left_open();
        let left: Vec<i32> = (0..sys::WATCHED_DESCRIPTORS)
            .filter(|&fd| left_open[fd / 64] & (1 << (fd % 64)) != 0)
            .map(|fd| fd as i32)
            .collect();
        if !left.is_empty() {
            messages.push(Message::LeftDescriptors {
                count: left.len() as u32,
                named: left
                    .iter()
                    .take(NAMED_DESCRIPTORS)
                    .map(|&fd| (fd, sys::descriptor_target(fd)))
                    .collect(),
            });
        }
        let threads = threads_ran.then(sys::running_thread_count).flatten();
        if let Some(threads) = threads.filter(|&threads| threads > 1) {
            messages.push(Message::LeftThreads {
                threads: threads as u32 - 1,
            });
        }
        if let Some(bytes) = foreign_heap {
            messages.push(Message::ForeignHeap { bytes });
        }
        messages
    }
}
