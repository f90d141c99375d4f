//! Which of the descriptors a test left open are held by state that outlives it, judged as the
//! scan judges memory: a descriptor a registry, a static or a live thread keeps (a signal crate
//! keeps the socket it was handed) is held, like memory still reachable from a static; one whose
//! number nothing the body wrote keeps (a `pipe()` end the test forgot) is leaked.
//!
//! A descriptor is a small number, and small numbers are everywhere in memory: looking for it in
//! every root would find every one. So only what the body wrote is searched, conservatively (any
//! aligned 4 bytes equal to the number): the blocks it allocated that the scan found reachable,
//! the words of the process's static data and of the test thread's own stack and thread-local
//! storage that changed during the body (held against a copy taken before it), and the stacks of
//! threads it started that still run. Allocates nothing.

use super::mapped::{Mapped, Range};

use crate::sys::descriptor_table::MOST_WATCHED_DESCRIPTORS;

pub(crate) use crate::sys::descriptor_table::DescriptorSet;

/// The most bytes copied before the body: static data is rarely more than a few MiB.
const MAX_COPIED: usize = 64 << 20;
const MAX_REGIONS: usize = 4096;

/// A range of memory copied before the body, at `at` in the copy.
#[derive(Clone, Copy, Debug, Default)]
struct Region {
    start: usize,
    end: usize,
    at: usize,
}

/// Copies, taken before the body, of the memory a test keeps a descriptor in without
/// allocating: the process's static data (its file-backed writable mappings), and the test
/// thread's stack from the frame that runs the body up, its thread-local storage with it.
pub(crate) struct Snapshot {
    bytes: Mapped<u8>,
    regions: Mapped<Region>,
    count: usize,
}

impl Snapshot {
    /// Copies `ranges` (from `/proc/self/maps`, before the body); `None` where they do not fit
    /// or no memory is left for the copy.
    pub(crate) fn take(ranges: &[Range]) -> Option<Self> {
        let total: usize = ranges.iter().map(|(start, end)| end - start).sum();
        if total > MAX_COPIED || ranges.len() > MAX_REGIONS {
            return None;
        }
        let mut snapshot = Self {
            bytes: Mapped::zeroed(total).ok()?,
            regions: Mapped::zeroed(ranges.len()).ok()?,
            count: 0,
        };
        let mut at = 0;
        for &(start, end) in ranges {
            read_into(
                start,
                &mut snapshot.bytes.as_mut_slice()[at..at + (end - start)],
            );
            snapshot.regions.as_mut_slice()[snapshot.count] = Region { start, end, at };
            snapshot.count += 1;
            at += end - start;
        }
        Some(snapshot)
    }

    /// The memory it covers, to be left out of the scan's roots.
    pub(crate) fn ranges(&self) -> [Range; 2] {
        [self.bytes.range(), self.regions.range()]
    }
}

/// Copies `[start, start + into.len())` of this process into `into` through the kernel, which
/// stops at a page that cannot be read (left zero) rather than faulting. Allocates nothing.
fn read_into(start: usize, into: &mut [u8]) {
    const PAGE: usize = 4096;
    let mut done = 0;
    while done < into.len() {
        let copied = crate::sys::raw_io::read_own_memory(start + done, &mut into[done..]);
        done += copied;
        if done < into.len() {
            // Past the page that could not be read; it stays zero.
            done = (start + done + 1).next_multiple_of(PAGE) - start;
        }
    }
}

/// The search for the descriptors left open, run while the test's other threads are stopped.
pub(crate) struct HeldSearch<'a> {
    wanted: DescriptorSet,
    held: DescriptorSet,
    snapshot: &'a Snapshot,
}

impl<'a> HeldSearch<'a> {
    pub(crate) fn new(wanted: DescriptorSet, snapshot: &'a Snapshot) -> Self {
        Self {
            wanted,
            held: [0; MOST_WATCHED_DESCRIPTORS / 64],
            snapshot,
        }
    }

    /// The descriptors found held.
    pub(crate) fn held(&self) -> DescriptorSet {
        self.held
    }

    fn look_at(&mut self, value: u32) {
        let value = value as usize;
        if value < MOST_WATCHED_DESCRIPTORS && self.wanted[value / 64] & (1 << (value % 64)) != 0 {
            self.held[value / 64] |= 1 << (value % 64);
        }
    }

    /// Looks at every aligned 4 bytes of `[start, end)`, live memory the body made: a block it
    /// allocated that is reachable, the stack of a thread it started that still runs.
    pub(crate) fn look_in(&mut self, start: usize, end: usize) {
        let mut at = start.next_multiple_of(4);
        while at + 4 <= end {
            // SAFETY: `[start, end)` is live memory (a reachable block, a stopped thread's stack
            // above where it stopped); nothing unmaps it while the others are stopped.
            let value = unsafe { std::ptr::read_volatile(at as *const u32) };
            self.look_at(value);
            at += 4;
        }
    }

    /// Looks at every aligned 4 bytes of the copied memory that changed since the copy, read now
    /// through `staging`.
    pub(crate) fn look_at_changes(&mut self, staging: &mut [usize]) {
        let staging = as_bytes(staging);
        let snapshot = self.snapshot;
        let copy = snapshot.bytes.as_slice();
        for region in &snapshot.regions.as_slice()[..snapshot.count] {
            let mut offset = 0;
            while region.start + offset < region.end {
                let length = (region.end - region.start - offset).min(staging.len());
                let now = &mut staging[..length];
                now.fill(0);
                read_into(region.start + offset, now);
                let before = &copy[region.at + offset..region.at + offset + length];
                for (now, before) in now.chunks_exact(4).zip(before.chunks_exact(4)) {
                    if now != before {
                        self.look_at(u32::from_ne_bytes([now[0], now[1], now[2], now[3]]));
                    }
                }
                offset += length;
            }
        }
    }
}

/// `words` as bytes.
fn as_bytes(words: &mut [usize]) -> &mut [u8] {
    let length = std::mem::size_of_val(words);
    // SAFETY: any bytes are valid `u8`s; the slice covers exactly the words' memory.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast(), length) }
}
