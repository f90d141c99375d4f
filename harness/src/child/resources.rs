//! What a test holds besides its Rust heap when its body returns: descriptors it opened, threads
//! it started, and memory the C library's allocator handed to code called through FFI. Measured
//! around the body and sent as clues; the verdict decides what they mean.

use crate::outcome::HeapDelta;
use crate::sys::descriptor_table::{
    self, DescriptorSet, MOST_WATCHED_DESCRIPTORS, WATCHED_DESCRIPTORS,
};
use crate::sys::{self, threads, usage};
use crate::wire::{Message, NAMED_DESCRIPTORS};

/// A C heap growth below this is not reported: chunks parked in glibc's per-thread cache count
/// as used, and a test that only allocates and frees moves that figure by a few KiB.
const FOREIGN_HEAP_NOISE: i64 = 16 << 10;

/// Bytes glibc adds to each chunk it hands out, at most: a size word and rounding to 16.
const CHUNK_OVERHEAD: i64 = 24;

/// Where a run that judges the descriptors a test leaves open has the test's new ones start. A
/// descriptor is held if its number stands in what the body wrote, and small numbers stand
/// everywhere (a count of 3, a `Once` complete at 4): numbered from here, a test's descriptors
/// are numbers memory seldom holds by chance. Odd, and off every round size.
const SHIFTED_FROM: usize = 601;

/// The numbers taken before the body so that the test's new descriptors are numbered from
/// [`SHIFTED_FROM`] on, and the file they all refer to: a pipe of the harness's own, so that a
/// number the test put another file on (`dup2`) is told apart, whatever the file.
pub(super) struct Shift {
    taken: DescriptorSet,
    filler: (u64, u64),
}

impl Shift {
    /// Numbers the descriptors the body opens from [`SHIFTED_FROM`] on, where the descriptor limit
    /// has room: every free number below it is taken (by the read end of a pipe, close-on-exec)
    /// before the body, and a new descriptor takes the lowest free one. Allocates nothing.
    pub(super) fn new() -> Option<Self> {
        if descriptor_table::descriptor_limit() < MOST_WATCHED_DESCRIPTORS {
            return None;
        }
        let mut taken = [0u64; MOST_WATCHED_DESCRIPTORS / 64];
        let [filler, write] = sys::pipes::pipe_raw()?;
        // Raw: this probes numbers that may not be open (that is the question), while nix's calls
        // take a `BorrowedFd`, which must be; and a number found free is taken with `dup_onto`
        // (`dup3`), which nix does only onto an `OwnedFd`.
        // SAFETY: `fcntl(F_GETFD)` and `dup_onto` on numbers below the limit, which take a free
        // number only and leave open ones alone; `close` of the pipe's ends we opened and keep
        // no more.
        unsafe {
            libc::close(write);
            let identity = descriptor_table::file_identity(filler)?;
            for fd in 3..SHIFTED_FROM as libc::c_int {
                let free = libc::fcntl(fd, libc::F_GETFD) < 0;
                if (free && sys::pipes::dup_onto(filler, fd) == fd) || fd == filler {
                    taken[fd as usize / 64] |= 1 << (fd % 64);
                }
            }
            if filler as usize >= SHIFTED_FROM {
                libc::close(filler);
            }
            Some(Self {
                taken,
                filler: identity,
            })
        }
    }

    /// The numbers taken before the body that the test put another file on (`dup2` to a number
    /// it chose): open, and not the body's before. Allocates nothing.
    fn replaced(&self) -> DescriptorSet {
        let mut replaced = [0u64; MOST_WATCHED_DESCRIPTORS / 64];
        for fd in 3..SHIFTED_FROM {
            let taken = self.taken[fd / 64] & (1 << (fd % 64)) != 0;
            let identity = descriptor_table::file_identity(fd as libc::c_int);
            if taken && identity.is_some_and(|identity| identity != self.filler) {
                replaced[fd / 64] |= 1 << (fd % 64);
            }
        }
        replaced
    }
}

/// What was there before the body ran.
pub(super) struct Baseline {
    descriptors: DescriptorSet,
    /// How many descriptors, from 0, are watched.
    watched: usize,
    /// Where the test's new descriptors were numbered from higher up: how.
    shift: Option<Shift>,
    malloc_in_use: Option<u64>,
}

impl Baseline {
    /// Taken before the heap snapshot the body is measured from: its own allocations belong to
    /// the harness, not to the test. `shift`: where the test's new descriptors are numbered
    /// from higher up (its descriptors judged), how.
    pub(super) fn now(shift: Option<Shift>) -> Self {
        let watched = match shift {
            Some(_) => MOST_WATCHED_DESCRIPTORS,
            None => WATCHED_DESCRIPTORS,
        };
        Baseline {
            descriptors: descriptor_table::open_descriptors(watched),
            watched,
            shift,
            malloc_in_use: usage::malloc_in_use(),
        }
    }

    /// The C library's heap growth beyond the Rust heap's own: taken right after the heap
    /// snapshot that ends the body's measurement.
    pub(super) fn foreign_heap(&self, rust: HeapDelta) -> Option<i64> {
        let grown = usage::malloc_in_use()? as i64 - self.malloc_in_use? as i64;
        let foreign = grown - rust.net_bytes - CHUNK_OVERHEAD * rust.net_blocks.max(0);
        (foreign >= FOREIGN_HEAP_NOISE).then_some(foreign)
    }

    /// The descriptors open now that were not before the body. Allocates nothing.
    pub(super) fn left_open(&self) -> DescriptorSet {
        let now = descriptor_table::open_descriptors(self.watched);
        let replaced = self
            .shift
            .as_ref()
            .map_or([0; MOST_WATCHED_DESCRIPTORS / 64], Shift::replaced);
        std::array::from_fn(|word| now[word] & !self.descriptors[word] | replaced[word])
    }

    /// What the body left that was not there before it: sent after every heap measurement,
    /// since listing descriptors allocates.
    /// `threads_ran`: whether any thread but this one ran during the body ([`usage::OthersUsage`]).
    pub(super) fn left_behind(&self, foreign_heap: Option<i64>, threads_ran: bool) -> Vec<Message> {
        let mut messages = Vec::new();
        let left_open = self.left_open();
        let left: Vec<i32> = (0..self.watched)
            .filter(|&fd| left_open[fd / 64] & (1 << (fd % 64)) != 0)
            .map(|fd| fd as i32)
            .collect();
        if !left.is_empty() {
            messages.push(Message::LeftDescriptors {
                count: left.len() as u32,
                named: left
                    .iter()
                    .take(NAMED_DESCRIPTORS)
                    .map(|&fd| (fd, descriptor_table::descriptor_target(fd)))
                    .collect(),
            });
        }
        let threads = threads_ran.then(threads::running_thread_count).flatten();
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
