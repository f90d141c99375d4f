//! Where a leaking test's still-live blocks were allocated, and which of them nothing reaches.
//!
//! Only in a second run of a test that failed for a leak: the counting allocator records each
//! allocation the body makes in the [`table`], with its return addresses. What is left when the
//! body returns is told apart by the [`scan`] into lost and still reachable; the call stacks of
//! the largest sites are sent as return addresses, for the harness's symboliser to name (loading
//! the debug info here would cost every tracked run up to seconds, counted against its timeout).

use std::collections::HashMap;

use super::no_alloc::harness_addresses;
use super::no_alloc::held::{DescriptorSet, HeldSearch, Snapshot};
use super::no_alloc::mapped::Mapped;
use super::no_alloc::scan::{self, Block, PreBody, ScanBuffers};
use super::no_alloc::table::{self, Stack, EMPTY};
use super::no_alloc::touched;
use crate::outcome::{LeakTally, RecordedSite, TrackedLeaks};
use crate::wire::SITES_SENT;

/// What the scan needs of the time before the body: the mappings then, every one a root; and,
/// where the descriptors the body leaves open are to be judged, a copy of the memory it may keep
/// one in without allocating.
pub(crate) struct BeforeBody {
    pub(crate) mappings: PreBody,
    pub(crate) snapshot: Option<Snapshot>,
}

/// Taken before the body, and before its heap is first measured: what it allocates is heap the
/// body did not make. `stack_floor`: an address in the frame that runs the body, where the copy of
/// the test thread's stack (and thread-local storage) starts, when `descriptors` asks for one.
pub(crate) fn before_body(descriptors: bool, stack_floor: usize) -> BeforeBody {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mappings = PreBody::from_maps(&maps);
    let snapshot = descriptors
        .then(|| {
            let mut ranges = PreBody::static_data(&maps);
            let floor = stack_floor & !7;
            if let Some(end) = mappings.end_of_mapping_holding(floor) {
                ranges.push((floor, end));
            }
            Snapshot::take(&ranges)
        })
        .flatten();
    BeforeBody { mappings, snapshot }
}

/// A recorded block, with its slot in the table (for its call stack).
#[derive(Clone, Copy, Default)]
struct Recorded {
    block: Block,
    slot: u32,
}

/// The blocks still recorded, told apart into lost and still reachable by a scan from the roots
/// (`pre_body`: the mappings before the body; `stack_floor`: an address in the frame that ran the
/// body), with the largest sites of the lost ones (and of the reachable ones if
/// `reachable_sites`: naming call stacks takes the harness a while). Call after the body, recording and
/// tracking over (`counting::stop_tracking`: no free waits on the table's lock any more); allocates
/// only once the scan is done.
/// `left_open`: where the descriptors the body left open are to be judged, which they are, looked
/// for in what the body wrote (see [`super::no_alloc::held`]).
pub(crate) fn tracked_leaks(
    before: &BeforeBody,
    stack_floor: usize,
    reachable_sites: bool,
    left_open: Option<DescriptorSet>,
) -> TrackedLeaks<RecordedSite> {
    let Some([table_entries, table_stacks]) = table::ranges() else {
        return TrackedLeaks::default();
    };
    let (recorded, unrecorded) = table::counts();
    let Some(mut scan) = Scan::new(recorded) else {
        return TrackedLeaks {
            unrecorded,
            unscanned: true,
            ..TrackedLeaks::default()
        };
    };
    // Nothing is allocated from here until the scan is over: it stops the other threads.
    let count = scan.take_recorded();
    let [text, mappings, tids, staging] = scan.buffers.ranges();
    let [copy, regions] = before
        .snapshot
        .as_ref()
        .map_or([(0, 0); 2], Snapshot::ranges);
    let excluded = [
        super::no_alloc::tracking_heap::region(),
        table_entries,
        table_stacks,
        scan.recorded.range(),
        scan.blocks.range(),
        scan.reachable.range(),
        scan.work.range(),
        text,
        mappings,
        tids,
        staging,
        copy,
        regions,
    ];
    let mut held = left_open
        .zip(before.snapshot.as_ref())
        .map(|(wanted, snapshot)| HeldSearch::new(wanted, snapshot));
    let scanned = scan::mark_reachable(
        &scan.blocks.as_mut_slice()[..count],
        &mut scan.reachable.as_mut_slice()[..count],
        &mut scan.work.as_mut_slice()[..count],
        &before.mappings,
        &mut scan.buffers,
        &excluded,
        stack_floor,
        held.as_mut(),
    );
    // The world runs again: from here on, allocating is fine.
    let Some(table) = table::finished() else {
        return TrackedLeaks::default();
    };
    let recorded = &scan.recorded.as_mut_slice()[..count];
    let reachable = &scan.reachable.as_mut_slice()[..count];
    let kind = |want: bool, sites: bool| {
        tally(
            recorded
                .iter()
                .zip(reachable)
                .filter(|(_, &reached)| reached == want)
                .map(|(recorded, _)| (recorded.block.size, table.stack(recorded.slot as usize))),
            sites,
        )
    };
    TrackedLeaks {
        lost: kind(false, true),
        reachable: kind(true, reachable_sites),
        unrecorded,
        unscanned: !scanned,
        // Unknown where the scan could not run: nothing then says any is lost.
        held_descriptors: held
            .filter(|_| scanned)
            .map(|held| descriptors_in(held.held())),
    }
}

/// The descriptor numbers in `set`.
fn descriptors_in(set: DescriptorSet) -> Vec<i32> {
    (0..set.len() * 64)
        .filter(|&fd| set[fd / 64] & (1 << (fd % 64)) != 0)
        .map(|fd| fd as i32)
        .collect()
}

/// The scan's memory, mapped outside the heap it scans.
struct Scan {
    recorded: Mapped<Recorded>,
    blocks: Mapped<Block>,
    reachable: Mapped<bool>,
    work: Mapped<u32>,
    buffers: ScanBuffers,
}

impl Scan {
    fn new(blocks: usize) -> Option<Self> {
        Some(Self {
            recorded: Mapped::zeroed(blocks).ok()?,
            blocks: Mapped::zeroed(blocks).ok()?,
            reachable: Mapped::zeroed(blocks).ok()?,
            work: Mapped::zeroed(blocks).ok()?,
            buffers: ScanBuffers::new().ok()?,
        })
    }

    /// Copies the table's blocks into `recorded` and `blocks`, sorted by address; returns how
    /// many. Allocates nothing.
    fn take_recorded(&mut self) -> usize {
        let mut count = 0;
        table::with_table(|table| {
            let recorded = self.recorded.as_mut_slice();
            let entries = &*table.entries;
            // Only where the table was written: the rest of its 2 MiB is zeroes (empty slots),
            // and reading it would fault in every page.
            touched::touched_items(entries, |index| {
                let entry = entries[index];
                if entry.address != EMPTY && count < recorded.len() {
                    recorded[count] = Recorded {
                        block: Block {
                            start: entry.address,
                            size: entry.size,
                        },
                        slot: index as u32,
                    };
                    count += 1;
                }
            });
        });
        let recorded = &mut self.recorded.as_mut_slice()[..count];
        recorded.sort_unstable_by_key(|recorded| recorded.block.start);
        let blocks = &mut self.blocks.as_mut_slice()[..count];
        for (block, recorded) in blocks.iter_mut().zip(recorded.iter()) {
            *block = recorded.block;
        }
        count
    }
}

/// The bytes and blocks of `blocks` (each a size and its call stack), and (if `sites`) the call
/// stacks the most bytes came from, largest first, for the harness to name.
fn tally(blocks: impl Iterator<Item = (usize, Stack)>, sites: bool) -> LeakTally<RecordedSite> {
    let mut tally = LeakTally::default();
    let mut stacks: Vec<RecordedSite> = Vec::new();
    let mut by_stack: HashMap<Stack, usize> = HashMap::new();
    for (size, stack) in blocks {
        tally.bytes += size as u64;
        tally.blocks += 1;
        let at = *by_stack.entry(stack).or_insert_with(|| {
            let frames = stack.iter().take_while(|&&address| address != 0);
            stacks.push(RecordedSite {
                stack: frames
                    .filter_map(|&address| harness_addresses::as_harness(address as u64))
                    .collect(),
                ..RecordedSite::default()
            });
            stacks.len() - 1
        });
        stacks[at].bytes += size as u64;
        stacks[at].blocks += 1;
    }
    if sites && table::records_stacks() {
        stacks.sort_by_key(|site| std::cmp::Reverse(site.bytes));
        stacks.truncate(SITES_SENT);
        tally.sites = stacks;
    }
    tally
}
