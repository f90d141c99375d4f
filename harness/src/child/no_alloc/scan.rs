//! Which of the blocks a test left are still reachable, found as LeakSanitizer finds them: a
//! conservative scan from the roots through the blocks.
//!
//! Runs in a child that tracked its body's allocations, after the body. The roots are every
//! private writable mapping that existed before the body began (statics, the main thread's
//! thread-local storage, heap memory allocated before the body), the test thread's stack above
//! the scanner (the frame that ran the body), the stacks of the test's threads still alive from where each was stopped (its
//! registers were saved there by the stop signal; its thread-local storage sits at the top of its
//! stack), and writable mappings made during the body other than dead threads' stacks. Any word
//! in a root, or in a reached block, that points into a block (interior pointers count) reaches
//! it. Blocks nothing reaches are lost: directly, or only through other lost blocks.
//!
//! Other threads are stopped for the scan: each is sent [`stop_signal`](super::stop::stop_signal), whose handler records
//! its stack pointer and waits until the scan is over.
use std::io;

use super::held::HeldSearch;
use super::mapped::{Mapped, Range};
use super::stop::{StoppedThreads, MAX_STOPPED};
use super::touched::Pagemap;
use crate::sys;

/// A block the body left: `[start, start + size)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Block {
    pub(crate) start: usize,
    pub(crate) size: usize,
}

impl Block {
    fn end(&self) -> usize {
        self.start + self.size
    }
}

/// The process's mappings before the body began: all of them are roots.
#[derive(Debug, Default)]
pub(crate) struct PreBody(Vec<Range>);

impl PreBody {
    /// The ranges of `/proc/self/maps`' text: made before the body, in the only step of the scan
    /// that allocates.
    pub(crate) fn from_maps(text: &str) -> Self {
        Self(
            text.lines()
                .filter_map(parse_mapping)
                .map(|mapping| (mapping.start, mapping.end))
                .collect(),
        )
    }

    /// The process's static data: its file-backed writable mappings (of the binary and the
    /// libraries), where a `static` lives.
    pub(crate) fn static_data(text: &str) -> Vec<Range> {
        text.lines()
            .filter_map(parse_mapping)
            .filter(|mapping| mapping.private_writable && mapping.file_backed)
            .map(|mapping| (mapping.start, mapping.end))
            .collect()
    }

    /// Where the mapping holding `address` ended before the body, if one did.
    pub(crate) fn end_of_mapping_holding(&self, address: usize) -> Option<usize> {
        self.0
            .iter()
            .find(|&&(start, end)| (start..end).contains(&address))
            .map(|&(_, end)| end)
    }

    fn overlaps(&self, mapping: &Mapping) -> bool {
        self.0
            .iter()
            .any(|&(start, end)| start < mapping.end && mapping.start < end)
    }
}

/// One line of `/proc/self/maps`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Mapping {
    start: usize,
    end: usize,
    /// `rw-p`: private, readable and writable (shared memory could be a device's).
    private_writable: bool,
    /// `---p`: a guard.
    inaccessible: bool,
    /// No file and no kernel name: `mmap` memory (thread stacks among it).
    anonymous: bool,
    /// Mapped from a file (an inode): a binary's or a library's data.
    file_backed: bool,
}

fn parse_mapping(line: &str) -> Option<Mapping> {
    let mut fields = line.split_whitespace();
    let (start, end) = fields.next()?.split_once('-')?;
    let perms = fields.next()?;
    let _offset = fields.next()?;
    let _device = fields.next()?;
    let inode = fields.next()?;
    let path = fields.next().unwrap_or("");
    Some(Mapping {
        start: usize::from_str_radix(start, 16).ok()?,
        end: usize::from_str_radix(end, 16).ok()?,
        private_writable: perms.starts_with("rw") && perms.ends_with('p'),
        inaccessible: perms == "---p",
        anonymous: inode == "0" && path.is_empty(),
        file_backed: inode != "0",
    })
}

/// Gives each root to `push`, given the mappings, the stack pointer of every stopped thread
/// (`None` where some thread could not be stopped) and the scanner's own stack pointer.
fn roots(
    mappings: &[Mapping],
    pre_body: &PreBody,
    stopped: Option<&[usize]>,
    scanner_sp: usize,
    mut push: impl FnMut(Range),
) {
    for (index, mapping) in mappings.iter().enumerate() {
        if !mapping.private_writable {
            continue;
        }
        let within = |sp: &usize| (mapping.start..mapping.end).contains(sp);
        if within(&scanner_sp) {
            push((scanner_sp, mapping.end));
            continue;
        }
        if let Some(lowest) = stopped.unwrap_or(&[]).iter().filter(|sp| within(sp)).min() {
            // A live thread's stack: its frames and saved registers from where it stopped up,
            // and its thread-local storage at the top.
            push((*lowest, mapping.end));
            continue;
        }
        // A thread stack is an anonymous mapping right above its guard page. Made during the
        // body and holding no live thread's stack pointer, it is a dead thread's, which the C
        // library keeps for reuse: what its frames left there reaches nothing. glibc's heap for a
        // thread (an arena) looks alike, right above the inaccessible rest of the arena before
        // it, but starts on a 64 MiB boundary above tens of MiB: a heap, always a root.
        let guarded = index > 0 && {
            let below = &mappings[index - 1];
            below.end == mapping.start
                && below.inaccessible
                && below.anonymous
                && below.end - below.start <= MAX_GUARD
                && mapping.start % ARENA_ALIGNMENT != 0
        };
        let dead_stack = mapping.anonymous && guarded && !pre_body.overlaps(mapping);
        if dead_stack && stopped.is_some() {
            continue;
        }
        push((mapping.start, mapping.end));
    }
}

/// The largest guard below a thread stack taken for one: glibc's default is a page; a thread's
/// own guard size is seldom more than a few.
const MAX_GUARD: usize = 1 << 20;

/// Where glibc's heaps for threads (arenas) start: on multiples of their largest size.
const ARENA_ALIGNMENT: usize = 64 << 20;

/// Gives `push` the parts of `[start, end)` outside every `excluded` range.
fn without(start: usize, end: usize, excluded: &[Range], push: &mut impl FnMut(usize, usize)) {
    match excluded.split_first() {
        None => push(start, end),
        Some((&(cut_start, cut_end), rest)) => {
            if cut_end <= start || end <= cut_start {
                return without(start, end, rest, push);
            }
            if start < cut_start {
                without(start, cut_start, rest, push);
            }
            if cut_end < end {
                without(cut_end, end, rest, push);
            }
        }
    }
}

/// What the scan needs, mapped before any thread is stopped: a stopped thread may hold a lock
/// of the C library's allocator, so nothing is allocated while they are.
pub(crate) struct ScanBuffers {
    maps_text: Mapped<u8>,
    mappings: Mapped<Mapping>,
    tids: Mapped<libc::pid_t>,
    staging: Mapped<usize>,
}

const MAPS_TEXT: usize = 8 << 20;
const MAX_MAPPINGS: usize = 1 << 16;
/// Words of a root copied at a time.
const STAGING_WORDS: usize = 8 << 10;

impl ScanBuffers {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(Self {
            maps_text: Mapped::zeroed(MAPS_TEXT)?,
            mappings: Mapped::zeroed(MAX_MAPPINGS)?,
            tids: Mapped::zeroed(MAX_STOPPED)?,
            staging: Mapped::zeroed(STAGING_WORDS)?,
        })
    }

    /// The bytes they cover, to be left out of the roots.
    pub(crate) fn ranges(&self) -> [Range; 4] {
        [
            self.maps_text.range(),
            self.mappings.range(),
            self.tids.range(),
            self.staging.range(),
        ]
    }
}

/// Marks in `reachable` every block of `blocks` (sorted by start, disjoint) that a root reaches;
/// `work` has room for one index per block. `excluded` are the harness's own bookkeeping (the
/// tracker's table, this scan's buffers): never roots. `stack_floor` is where the scanning thread's
/// stack is scanned from: an address in the frame that ran the body, since the stack below it
/// is what the body's own frames left. `held`, where given, also looks for the descriptors the
/// body left open, while the other threads are stopped. Returns `false`, with every block marked
/// reachable, where the process's mappings could not be read whole.
#[allow(clippy::too_many_arguments)] // each is a piece of the scan's state, set up by its caller
pub(crate) fn mark_reachable(
    blocks: &[Block],
    reachable: &mut [bool],
    work: &mut [u32],
    pre_body: &PreBody,
    buffers: &mut ScanBuffers,
    excluded: &[Range],
    stack_floor: usize,
    held: Option<&mut HeldSearch<'_>>,
) -> bool {
    if blocks.is_empty() && held.is_none() {
        return true;
    }
    // Off but on Linux: threads cannot be stopped nor memory read safely (see `stop`); every
    // block counts as reachable, and the caller learns that the scan did not run.
    if !cfg!(any(target_os = "linux", target_os = "android")) {
        reachable.fill(true);
        return false;
    }
    let scanner_sp = stack_floor;
    let stopped = StoppedThreads::stop(buffers.tids.as_mut_slice());
    let Some(mappings) = read_mappings(&mut buffers.maps_text, &mut buffers.mappings) else {
        reachable.fill(true);
        return false;
    };
    let mut marker = Marker {
        blocks,
        staging: buffers.staging.as_mut_slice(),
        reachable,
        work,
        pending: 0,
        low: blocks.first().map_or(usize::MAX, |block| block.start),
        high: blocks.last().map_or(0, Block::end),
        pagemap: Pagemap::open(),
    };
    let stack_pointers = stopped.stack_pointers();
    roots(
        mappings,
        pre_body,
        stack_pointers,
        scanner_sp,
        |(start, end)| {
            without(start, end, excluded, &mut |start, end| {
                marker.scan_root(start, end)
            });
        },
    );
    while marker.pending > 0 {
        marker.pending -= 1;
        let block = blocks[marker.work[marker.pending] as usize];
        marker.scan(block.start, block.end());
    }
    if let Some(held) = held {
        held.look_at_changes(marker.staging);
        for (block, _) in blocks
            .iter()
            .zip(marker.reachable.iter())
            .filter(|(_, &r)| r)
        {
            held.look_in(block.start, block.end());
        }
        // The stacks of threads the body started that still run: a live thread keeps what its
        // frames hold.
        for &sp in stack_pointers.unwrap_or(&[]) {
            let stack = mappings.iter().find(|m| (m.start..m.end).contains(&sp));
            if let Some(stack) = stack.filter(|stack| !pre_body.overlaps(stack)) {
                held.look_in(sp, stack.end);
            }
        }
    }
    drop(stopped);
    true
}

/// `/proc/self/maps`, read and parsed into the buffers without allocating; `None` if it does
/// not fit.
fn read_mappings<'a>(
    maps_text: &mut Mapped<u8>,
    mappings: &'a mut Mapped<Mapping>,
) -> Option<&'a [Mapping]> {
    let text = maps_text.as_mut_slice();
    let length = sys::raw_io::read_whole_file(c"/proc/self/maps", text)?;
    let text = std::str::from_utf8(&text[..length]).ok()?;
    let mappings = mappings.as_mut_slice();
    let mut count = 0;
    for mapping in text.lines().filter_map(parse_mapping) {
        *mappings.get_mut(count)? = mapping;
        count += 1;
    }
    Some(&mappings[..count])
}

struct Marker<'a> {
    blocks: &'a [Block],
    /// Where words of a root are copied to be looked at.
    staging: &'a mut [usize],
    reachable: &'a mut [bool],
    /// Reached blocks not yet scanned, `work[..pending]`.
    work: &'a mut [u32],
    pending: usize,
    /// No block starts below `low` or ends above `high`: most words are rejected by these.
    low: usize,
    high: usize,
    /// `/proc/self/pagemap`, where it could be opened: which pages of a large root were ever
    /// touched.
    pagemap: Option<Pagemap>,
}

/// A root this large is read only where its pages were ever touched (present or swapped out, as
/// `/proc/self/pagemap` says): a page never touched reads as zeroes and reaches nothing, and a
/// 64 GiB reservation a test made took the scan past its run's deadline, read byte by byte.
const SPARSE_FROM: usize = 64 << 20;

impl Marker<'_> {
    /// Scans a root, skipping the blocks inside it: a block is reached only through a pointer.
    fn scan_root(&mut self, start: usize, end: usize) {
        let blocks = self.blocks;
        let mut from = start;
        let first = blocks.partition_point(|block| block.end() <= start);
        for block in blocks[first..].iter().take_while(|block| block.start < end) {
            self.scan_touched(from, block.start.max(from));
            from = block.end().max(from);
        }
        self.scan_touched(from, end);
    }

    /// [`scan_copied`](Self::scan_copied), but in a root of [`SPARSE_FROM`] or more only where
    /// its pages were ever touched. Where the pagemap cannot be read, all of it.
    fn scan_touched(&mut self, start: usize, end: usize) {
        if end.saturating_sub(start) < SPARSE_FROM {
            return self.scan_copied(start, end);
        }
        // Out while the closure below borrows the marker; put back after.
        let Some(pagemap) = self.pagemap.take() else {
            return self.scan_copied(start, end);
        };
        let read = pagemap.touched_runs(start, end, |from, to| self.scan_copied(from, to));
        self.pagemap = Some(pagemap);
        if let Err(at) = read {
            self.scan_copied(at, end);
        }
    }

    /// Looks at every aligned word in `[start, end)` of a root through copies made by the
    /// kernel (`process_vm_readv` on this process): a page listed as readable may still fault
    /// (a guard page the C library put inside a cached thread stack), and a page that cannot be
    /// read is skipped, not a crash.
    fn scan_copied(&mut self, start: usize, end: usize) {
        const WORD: usize = std::mem::size_of::<usize>();
        const PAGE: usize = 4096;
        let mut at = start.next_multiple_of(WORD);
        while at + WORD <= end {
            let want = (end - at).min(self.staging.len() * WORD) / WORD * WORD;
            // SAFETY: the first `want` bytes of `staging`, which holds at least that many
            // (`want` is at most its length in words, in bytes), viewed as bytes: any bytes are
            // a valid `usize`, and `staging` is not otherwise touched while this view lives.
            let into = unsafe {
                std::slice::from_raw_parts_mut(self.staging.as_mut_ptr().cast::<u8>(), want)
            };
            let copied = sys::raw_io::read_own_memory(at, into) / WORD * WORD;
            for index in 0..copied / WORD {
                let word = self.staging[index];
                if self.low <= word && word < self.high {
                    self.reach(word);
                }
            }
            at += copied;
            if copied < want {
                // Past the page that could not be read.
                at = (at + 1).next_multiple_of(PAGE);
            }
        }
    }

    /// Looks at every aligned word in `[start, end)`.
    fn scan(&mut self, start: usize, end: usize) {
        const WORD: usize = std::mem::size_of::<usize>();
        let mut at = start.next_multiple_of(WORD);
        while at + WORD <= end {
            // SAFETY: `[start, end)` lies in a readable mapping (a root read from
            // /proc/self/maps while every other thread is stopped, or a live block); the scan
            // unmaps nothing.
            let word = unsafe { std::ptr::read_volatile(at as *const usize) };
            if self.low <= word && word < self.high {
                self.reach(word);
            }
            at += WORD;
        }
    }

    fn reach(&mut self, address: usize) {
        let after = self.blocks.partition_point(|block| block.start <= address);
        let Some(index) = after.checked_sub(1) else {
            return;
        };
        if address < self.blocks[index].end() && !self.reachable[index] {
            self.reachable[index] = true;
            self.work[self.pending] = index as u32;
            self.pending += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(start: usize, end: usize, perms: &str, anonymous: bool) -> Mapping {
        Mapping {
            start,
            end,
            private_writable: perms == "rw-p",
            inaccessible: perms == "---p",
            anonymous,
            file_backed: !anonymous,
        }
    }

    #[test]
    fn maps_lines_parse() {
        let data =
            "559a3581a000-559a3581c000 rw-p 00059000 fe:00 10109065                   /tmp/exp/m";
        assert_eq!(
            parse_mapping(data),
            Some(mapping(0x559a3581a000, 0x559a3581c000, "rw-p", false))
        );
        let anonymous = "7f8e065b2000-7f8e067b2000 rw-p 00000000 00:00 0 ";
        assert!(parse_mapping(anonymous).unwrap().anonymous);
        let stack =
            "7ffd2765f000-7ffd27680000 rw-p 00000000 00:00 0                          [stack]";
        let stack = parse_mapping(stack).unwrap();
        assert!(stack.private_writable && !stack.anonymous);
        assert_eq!(parse_mapping("garbage"), None);
    }

    #[test]
    fn dead_thread_stacks_made_during_the_body_are_no_roots() {
        let maps = [
            mapping(0x1000, 0x2000, "rw-p", false),
            // A guard page, then a stack: one live (its thread stopped at 0x5800), one dead.
            mapping(0x4000, 0x5000, "---p", true),
            mapping(0x5000, 0x6000, "rw-p", true),
            mapping(0x6000, 0x7000, "---p", true),
            mapping(0x7000, 0x8000, "rw-p", true),
            // The same shape before the body: kept, whatever it is.
            mapping(0x9000, 0xa000, "---p", true),
            mapping(0xa000, 0xb000, "rw-p", true),
            mapping(0xc000, 0xd000, "r--p", false),
        ];
        let pre_body = PreBody(vec![(0x1000, 0x2000), (0x9000, 0xb000)]);
        let all_roots = |stopped: Option<&[usize]>| {
            let mut found = Vec::new();
            roots(&maps, &pre_body, stopped, 0, |range| found.push(range));
            found
        };
        assert_eq!(
            all_roots(Some(&[0x5800])),
            vec![(0x1000, 0x2000), (0x5800, 0x6000), (0xa000, 0xb000)]
        );
        // A thread that did not stop could be using any stack: all are kept whole.
        assert_eq!(
            all_roots(None),
            vec![
                (0x1000, 0x2000),
                (0x5000, 0x6000),
                (0x7000, 0x8000),
                (0xa000, 0xb000)
            ]
        );
    }

    #[test]
    fn a_threads_heap_is_a_root_though_it_looks_like_a_dead_stack() {
        let arena = 64 << 20;
        let maps = [
            // The inaccessible rest of one arena, then the next arena's used part.
            mapping(arena - (60 << 20), arena, "---p", true),
            mapping(arena, arena + (132 << 10), "rw-p", true),
            // A dead thread's stack: a one-page guard below.
            mapping(3 * arena + 0x1000, 3 * arena + 0x2000, "---p", true),
            mapping(3 * arena + 0x2000, 3 * arena + 0x202000, "rw-p", true),
        ];
        let mut found = Vec::new();
        roots(&maps, &PreBody(Vec::new()), Some(&[]), 0, |range| {
            found.push(range)
        });
        assert_eq!(found, vec![(arena, arena + (132 << 10))]);
    }

    #[test]
    fn excluded_ranges_are_cut_out() {
        let mut kept = Vec::new();
        for (start, end) in [(0, 100), (200, 300)] {
            without(start, end, &[(50, 60), (250, 400)], &mut |start, end| {
                kept.push((start, end))
            });
        }
        assert_eq!(kept, vec![(0, 50), (60, 100), (200, 250)]);
    }

    #[test]
    fn this_process_reads_its_mappings_without_allocating() {
        let mut buffers = ScanBuffers::new().unwrap();
        let mappings = read_mappings(&mut buffers.maps_text, &mut buffers.mappings).unwrap();
        let here = 0u8;
        let here = std::hint::black_box(&here) as *const u8 as usize;
        assert!(mappings
            .iter()
            .any(|mapping| (mapping.start..mapping.end).contains(&here)));
    }

    #[test]
    fn blocks_are_reached_through_interior_pointers_and_chains_only() {
        // Blocks in a buffer of our own: a root word points into the middle of block 0, which
        // points at block 1; block 2 is pointed at only by itself (a cycle).
        let mut memory = vec![0usize; 64];
        let base = memory.as_mut_ptr() as usize;
        let word = std::mem::size_of::<usize>();
        let blocks = [
            Block {
                start: base + 8 * word,
                size: 4 * word,
            },
            Block {
                start: base + 16 * word,
                size: 4 * word,
            },
            Block {
                start: base + 24 * word,
                size: 4 * word,
            },
        ];
        memory[0] = blocks[0].start + 2 * word;
        memory[9] = blocks[1].start;
        memory[25] = blocks[2].start;
        let mut reachable = [false; 3];
        let mut work = [0u32; 3];
        let mut staging = [0usize; 16];
        let mut marker = Marker {
            blocks: &blocks,
            staging: &mut staging,
            reachable: &mut reachable,
            work: &mut work,
            pending: 0,
            low: blocks[0].start,
            high: blocks[2].end(),
            pagemap: None,
        };
        marker.scan_root(base, base + 64 * word);
        while marker.pending > 0 {
            marker.pending -= 1;
            let block = blocks[marker.work[marker.pending] as usize];
            marker.scan(block.start, block.end());
        }
        assert_eq!(reachable, [true, true, false]);
    }
}
