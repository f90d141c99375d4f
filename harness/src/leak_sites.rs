//! Where a leaking test's still-live blocks were allocated.
//!
//! Only in a second run of a test that failed for a leak: the counting allocator records each
//! allocation the body makes, with its return addresses, in a table outside the heap (a fresh
//! `mmap`, so recording never allocates), and forgets it when it is freed. What is left when the
//! body returns is the leak; its call stacks are resolved in the child and sent as text.
//!
//! The table is an open-addressing hash table without tombstones (a removal shifts the entries
//! after it back), so a lookup stays short however many blocks come and go. One thread at a time
//! holds it, and a thread that holds it records nothing: an allocation or free made while the
//! table is held (by the unwinder, or while the sites are read) can never wait for the table.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

pub(crate) use crate::protocol::{LeakSite, LeakTally, TrackedLeaks};

use crate::reach::{self, Block, Mapped, PreBody, ScanBuffers};

/// Return addresses kept per allocation: enough to get past the allocator and std's containers
/// to the test's own code.
const FRAMES: usize = 24;
/// Live allocations the table can hold; later ones go unrecorded (and are counted). Its pages
/// are touched only as it fills.
const SLOTS: usize = 1 << 17;
/// Kept free, so that every probe ends at an empty slot.
const MAX_RECORDED: usize = SLOTS - SLOTS / 8;
const EMPTY: usize = 0;
/// Sites a failure lists, and the test's own frames shown for each.
const SITES_SHOWN: usize = 5;
const FRAMES_SHOWN: usize = 3;

#[derive(Clone, Copy)]
struct Slot {
    address: usize,
    size: usize,
    frames: [usize; FRAMES],
}

static TABLE: AtomicPtr<Slot> = AtomicPtr::new(std::ptr::null_mut());
/// A spin lock over the table: allocations may come from several threads of the test.
static LOCKED: AtomicBool = AtomicBool::new(false);
static RECORDED: AtomicU64 = AtomicU64::new(0);
/// Allocations not recorded because the table was full.
static UNRECORDED: AtomicU64 = AtomicU64::new(0);
/// Whether each recorded allocation's call stack is recorded too (`ISOLATED_TEST_LEAK_SITES`).
static RECORD_STACKS: AtomicBool = AtomicBool::new(true);

thread_local! {
    /// Set while this thread records or holds the table: the unwinder's own allocations, and
    /// anything allocated or freed while the table is held, are not recorded (a `const`
    /// thread-local with no destructor: usable from inside the allocator, at any time).
    static BUSY: Cell<bool> = const { Cell::new(false) };
}

/// Whether the table is full: what is allocated now goes unrecorded, and had better come from
/// the C library's heap, which the scan reads as a root (a block the scan does not know about
/// may hold the only pointer to one it does).
pub(crate) fn is_full() -> bool {
    RECORDED.load(Ordering::Relaxed) as usize >= MAX_RECORDED
}

/// Maps the table; `false` if it could not be. Call in the child, just before the body; the
/// counting allocator records from then on, call stacks too if `stacks`.
pub(crate) fn start(stacks: bool) -> bool {
    RECORD_STACKS.store(stacks, Ordering::Relaxed);
    // Zeroed pages are empty slots.
    let Ok(table) = Mapped::<Slot>::zeroed(SLOTS) else {
        return false;
    };
    TABLE.store(table.leak(), Ordering::Release);
    true
}

/// Runs `f` on the table with this thread marked busy; does nothing if this thread is busy
/// already (it holds the table) or there is no table. Must not allocate: the allocator calls it.
fn with_table(f: impl FnOnce(&mut [Slot])) {
    let table = TABLE.load(Ordering::Acquire);
    if table.is_null() || BUSY.with(Cell::get) {
        return;
    }
    BUSY.with(|busy| busy.set(true));
    while LOCKED
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        std::hint::spin_loop();
    }
    // SAFETY: the mapping holds SLOTS slots and lives for the rest of the process; the lock
    // gives this thread the only reference.
    f(unsafe { std::slice::from_raw_parts_mut(table, SLOTS) });
    LOCKED.store(false, Ordering::Release);
    BUSY.with(|busy| busy.set(false));
}

fn home(address: usize) -> usize {
    (address >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) % SLOTS
}

/// Records a new allocation, from inside the counting allocator.
pub(crate) fn record_alloc(address: usize, size: usize) {
    if BUSY.with(Cell::get) {
        return;
    }
    let mut frames = [0usize; FRAMES];
    if RECORD_STACKS.load(Ordering::Relaxed) {
        BUSY.with(|busy| busy.set(true));
        let mut count = 0;
        // SAFETY: unwinding this thread's own stack; libgcc's unwinder does not allocate, and
        // `BUSY` keeps anything it might allocate from being recorded in turn.
        unsafe {
            backtrace::trace_unsynchronized(|frame| {
                frames[count] = frame.ip() as usize;
                count += 1;
                count < FRAMES
            });
        }
        BUSY.with(|busy| busy.set(false));
    }
    with_table(|table| insert(table, address, size, frames));
}

/// Forgets a freed allocation, from inside the counting allocator.
pub(crate) fn record_free(address: usize) {
    with_table(|table| remove(table, address));
}

fn insert(table: &mut [Slot], address: usize, size: usize, frames: [usize; FRAMES]) {
    let mut index = home(address);
    loop {
        let slot = &mut table[index];
        if slot.address == address {
            // A block freed unseen (while its thread held the table): this is its successor.
            *slot = Slot {
                address,
                size,
                frames,
            };
            return;
        }
        if slot.address == EMPTY {
            if RECORDED.load(Ordering::Relaxed) as usize >= MAX_RECORDED {
                UNRECORDED.fetch_add(1, Ordering::Relaxed);
                return;
            }
            RECORDED.fetch_add(1, Ordering::Relaxed);
            *slot = Slot {
                address,
                size,
                frames,
            };
            return;
        }
        index = (index + 1) % SLOTS;
    }
}

fn remove(table: &mut [Slot], address: usize) {
    let mut hole = home(address);
    loop {
        match table[hole].address {
            EMPTY => return,
            found if found == address => break,
            _ => hole = (hole + 1) % SLOTS,
        }
    }
    RECORDED.fetch_sub(1, Ordering::Relaxed);
    // Shift back every later entry of the run that the hole would otherwise cut off from its
    // home slot.
    let mut next = (hole + 1) % SLOTS;
    while table[next].address != EMPTY {
        let wanted = home(table[next].address);
        let distance = |from: usize, to: usize| (to + SLOTS - from) % SLOTS;
        if distance(wanted, next) >= distance(hole, next) {
            table[hole] = table[next];
            hole = next;
        }
        next = (next + 1) % SLOTS;
    }
    table[hole].address = EMPTY;
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
/// `reachable_sites`: resolving call stacks takes a while). Call after the body, recording and
/// tracking over (`alloc::stop_tracking`: no free waits on the table's lock any more); allocates
/// only once the scan is done.
pub(crate) fn tracked_leaks(
    pre_body: &PreBody,
    stack_floor: usize,
    reachable_sites: bool,
) -> TrackedLeaks {
    let table = TABLE.load(Ordering::Acquire);
    if table.is_null() {
        return TrackedLeaks::default();
    }
    let unrecorded = UNRECORDED.load(Ordering::Relaxed);
    let Some(mut scan) = Scan::new(RECORDED.load(Ordering::Relaxed) as usize) else {
        return TrackedLeaks {
            unrecorded,
            unscanned: true,
            ..TrackedLeaks::default()
        };
    };
    let mut count = 0;
    with_table(|slots| {
        let recorded = scan.recorded.as_mut_slice();
        for (index, slot) in slots.iter().enumerate() {
            if slot.address != EMPTY && count < recorded.len() {
                recorded[count] = Recorded {
                    block: Block {
                        start: slot.address,
                        size: slot.size,
                    },
                    slot: index as u32,
                };
                count += 1;
            }
        }
    });
    let recorded = &mut scan.recorded.as_mut_slice()[..count];
    recorded.sort_unstable_by_key(|recorded| recorded.block.start);
    let blocks = &mut scan.blocks.as_mut_slice()[..count];
    for (block, recorded) in blocks.iter_mut().zip(recorded.iter()) {
        *block = recorded.block;
    }
    let table_bytes = SLOTS * std::mem::size_of::<Slot>();
    let [text, mappings, tids, staging] = scan.buffers.ranges();
    let excluded = [
        crate::tracking_heap::region(),
        (table as usize, table as usize + table_bytes),
        scan.recorded.range(),
        scan.blocks.range(),
        scan.reachable.range(),
        scan.work.range(),
        text,
        mappings,
        tids,
        staging,
    ];
    let scanned = reach::mark_reachable(
        &scan.blocks.as_mut_slice()[..count],
        &mut scan.reachable.as_mut_slice()[..count],
        &mut scan.work.as_mut_slice()[..count],
        pre_body,
        &mut scan.buffers,
        &excluded,
        stack_floor,
    );
    // The world runs again: from here on, allocating is fine.
    // SAFETY: the table lives for the rest of the process; nothing writes it any more.
    let slots = unsafe { std::slice::from_raw_parts(table, SLOTS) };
    let recorded = &scan.recorded.as_mut_slice()[..count];
    let reachable = &scan.reachable.as_mut_slice()[..count];
    let kind = |want: bool, sites: bool| {
        tally(
            recorded
                .iter()
                .zip(reachable)
                .filter(|(_, &reached)| reached == want)
                .map(|(recorded, _)| &slots[recorded.slot as usize]),
            sites,
        )
    };
    TrackedLeaks {
        lost: kind(false, true),
        reachable: kind(true, reachable_sites),
        unrecorded,
        unscanned: !scanned,
    }
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
}

/// The bytes and blocks of `slots`, and (if `sites`) their largest sites, resolved to the test's
/// own frames.
fn tally<'a>(slots: impl Iterator<Item = &'a Slot>, sites: bool) -> LeakTally {
    let mut tally = LeakTally::default();
    let mut stacks: Vec<([usize; FRAMES], u64, u64)> = Vec::new();
    let mut by_stack: HashMap<[usize; FRAMES], usize> = HashMap::new();
    for slot in slots {
        tally.bytes += slot.size as u64;
        tally.blocks += 1;
        let at = *by_stack.entry(slot.frames).or_insert_with(|| {
            stacks.push((slot.frames, 0, 0));
            stacks.len() - 1
        });
        stacks[at].1 += slot.size as u64;
        stacks[at].2 += 1;
    }
    if !sites || !RECORD_STACKS.load(Ordering::Relaxed) {
        return tally;
    }
    stacks.sort_by_key(|(_, bytes, _)| std::cmp::Reverse(*bytes));
    stacks.truncate(SITES_SHOWN * 4);
    for (stack, bytes, blocks) in stacks {
        let frames = own_frames(&stack);
        match tally.sites.iter_mut().find(|site| site.frames == frames) {
            Some(site) => {
                site.bytes += bytes;
                site.blocks += blocks;
            }
            None => tally.sites.push(LeakSite {
                bytes,
                blocks,
                frames,
            }),
        }
    }
    tally
        .sites
        .sort_by_key(|site| std::cmp::Reverse(site.bytes));
    tally.sites.truncate(SITES_SHOWN);
    tally
}

/// The first frames of a stack that belong to the test, not to the allocator, std, a
/// dependency or us; none past the test's body, or past the start of the thread that allocated.
/// Where the test has no frame on the stack (a dependency's own thread allocated), the
/// dependency's first frames instead.
fn own_frames(stack: &[usize]) -> Vec<String> {
    let mut own = Vec::new();
    let mut dependency = Vec::new();
    let mut past_body = false;
    for &address in stack.iter().take_while(|&&address| address != 0) {
        let call = address.saturating_sub(1) as *mut std::ffi::c_void;
        backtrace::resolve(call, |symbol| {
            let function = symbol
                .name()
                .map_or_else(String::new, |name| format!("{name:#}"));
            // A block allocated on a thread the test spawned: its closure's frames came before.
            past_body |= function.ends_with("__isolated_test_body") || is_thread_start(&function);
            let file = symbol.filename().map(crate::symbols::shorten);
            let kept = match kind_of(&function, file.as_deref()) {
                _ if past_body || own.len() >= FRAMES_SHOWN => return,
                FrameKind::Machinery => return,
                FrameKind::Dependency if dependency.len() >= FRAMES_SHOWN => return,
                FrameKind::Dependency => &mut dependency,
                FrameKind::Own => &mut own,
            };
            let file = file.as_deref().map(without_download_prefix);
            let location = match (file, symbol.lineno(), symbol.colno()) {
                (Some(file), Some(line), Some(column)) => format!(" at {file}:{line}:{column}"),
                (Some(file), Some(line), None) => format!(" at {file}:{line}"),
                _ => String::new(),
            };
            kept.push(format!("{function}{location}"));
        });
        if past_body || own.len() >= FRAMES_SHOWN {
            break;
        }
    }
    if own.is_empty() {
        dependency
    } else {
        own
    }
}

/// Where a thread begins: std's entry point for spawned threads and the C library's below it.
fn is_thread_start(function: &str) -> bool {
    function.ends_with("::thread_start")
        || matches!(
            function,
            "start_thread" | "clone" | "clone3" | "__clone" | "thread_start"
        )
}

/// Whose code a frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrameKind {
    /// The test's own crate: where a leak is.
    Own,
    /// A dependency's download: where a leak is only when no frame of the test's is there.
    Dependency,
    /// The allocator, std or the harness: never where a leak is.
    Machinery,
}

const DOWNLOADS: &[&str] = &["/.cargo/registry/src/", "/.cargo/git/checkouts/"];

/// Known by name, or by a source file in std or in a dependency's download.
fn kind_of(function: &str, file: Option<&str>) -> FrameKind {
    const NAMES: &[&str] = &[
        "backtrace::",
        "isolated_test::",
        "<isolated_test::",
        "alloc::",
        "<alloc::",
        "core::",
        "<core::",
        "std::",
        "<std::",
        "__rust",
        "__rdl",
        "__rg",
    ];
    // std's sources, and the crates std itself is built from (hashbrown, say).
    const STD_FILES: &[&str] = &["library/", "/rustc/", "/rust/deps/"];
    let in_any = |parts: &[&str]| {
        file.is_some_and(|file| {
            parts
                .iter()
                .any(|part| file.starts_with(part) || file.contains(part))
        })
    };
    let by_name = function.is_empty() || NAMES.iter().any(|prefix| function.starts_with(prefix));
    if by_name || in_any(STD_FILES) {
        FrameKind::Machinery
    } else if in_any(DOWNLOADS) {
        FrameKind::Dependency
    } else {
        FrameKind::Own
    }
}

/// A dependency's file from its package on: `tokio-1.48.0/src/runtime/mod.rs`.
fn without_download_prefix(file: &str) -> String {
    for download in DOWNLOADS {
        if let Some(at) = file.find(download) {
            // The folder after the download's root is the registry's or the repository's.
            let rest = &file[at + download.len()..];
            return rest
                .split_once('/')
                .map_or(rest, |(_, path)| path)
                .to_owned();
        }
    }
    file.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_the_tests_a_dependencys_or_machinery() {
        use FrameKind::{Dependency, Machinery, Own};
        assert_eq!(kind_of("alloc::alloc::alloc", None), Machinery);
        let clone = "<alloc::vec::Vec<T> as core::clone::Clone>::clone";
        assert_eq!(kind_of(clone, None), Machinery);
        assert_eq!(
            kind_of("isolated_test::alloc::count_alloc", None),
            Machinery
        );
        let from_elem = "<u8 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem";
        let std_file = Some("library/alloc/src/vec/spec_from_elem.rs");
        assert_eq!(kind_of(from_elem, std_file), Machinery);
        let dependency = "/home/u/.cargo/registry/src/index.crates.io-x/hashbrown-0.15/src/raw.rs";
        assert_eq!(
            kind_of("hashbrown::raw::RawTable::reserve", Some(dependency)),
            Dependency
        );
        assert_eq!(
            without_download_prefix(dependency),
            "hashbrown-0.15/src/raw.rs"
        );
        let suite = Some("tests/suite.rs");
        assert_eq!(kind_of("suite::leaks_a_box", suite), Own);
        let own_impl = "<suite::Cache as core::default::Default>::default";
        assert_eq!(kind_of(own_impl, suite), Own);
        assert_eq!(without_download_prefix("tests/suite.rs"), "tests/suite.rs");
    }

    #[test]
    fn threads_start_in_std_or_the_c_library() {
        assert!(is_thread_start(
            "std::sys::pal::unix::thread::Thread::new::thread_start"
        ));
        assert!(is_thread_start("start_thread"));
        assert!(is_thread_start("clone3"));
        assert!(!is_thread_start("suite::starts_a_thread::{{closure}}"));
    }

    fn slot_addresses(table: &[Slot]) -> Vec<usize> {
        let mut addresses: Vec<usize> = table
            .iter()
            .map(|slot| slot.address)
            .filter(|&address| address != EMPTY)
            .collect();
        addresses.sort_unstable();
        addresses
    }

    #[test]
    fn removals_leave_every_other_entry_findable() {
        let empty = Slot {
            address: EMPTY,
            size: 0,
            frames: [0; FRAMES],
        };
        let mut table = vec![empty; SLOTS];
        // Addresses with the same home slot make one long run; removing from its middle must
        // not cut the rest off.
        let colliding: Vec<usize> = (1..=64).map(|n| n * SLOTS * 16).collect();
        assert!(colliding.iter().all(|&a| home(a) == home(colliding[0])));
        let spread: Vec<usize> = (1..=64).map(|n| n * 16 + 8).collect();
        for &address in colliding.iter().chain(&spread) {
            insert(&mut table, address, 8, [0; FRAMES]);
        }
        for &address in colliding.iter().step_by(3).chain(spread.iter().step_by(2)) {
            remove(&mut table, address);
        }
        let mut kept: Vec<usize> = colliding
            .iter()
            .enumerate()
            .filter(|(n, _)| n % 3 != 0)
            .map(|(_, &a)| a)
            .chain(
                spread
                    .iter()
                    .enumerate()
                    .filter(|(n, _)| n % 2 != 0)
                    .map(|(_, &a)| a),
            )
            .collect();
        kept.sort_unstable();
        assert_eq!(slot_addresses(&table), kept);
        for &address in &kept {
            remove(&mut table, address);
        }
        assert_eq!(slot_addresses(&table), Vec::<usize>::new());
    }
}
