//! The table of the body's live allocations in a tracked run, written from inside the counting
//! allocator: each allocation with its return addresses, forgotten when freed. It lives outside
//! the heap (fresh `mmap`s), so recording never allocates.
//!
//! An open-addressing hash table without tombstones (a removal shifts the entries after it back),
//! so a lookup stays short however many blocks come and go. Its entries are an address and a size,
//! 16 bytes, so a probe reads few cache lines and the table touches few pages (2 MiB at most);
//! the call stacks, where recorded, sit apart, slot for slot. One thread at a time holds it, and a
//! thread that holds it records nothing: an allocation or free made while the table is held (by
//! the unwinder, or while the sites are read) can never wait for the table.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

use super::mapped::{Mapped, Range};
use super::spin;

/// Return addresses kept per allocation: enough to get past the allocator and std's containers
/// to the test's own code.
pub(crate) const FRAMES: usize = 24;
/// Live allocations the table can hold; later ones go unrecorded (and are counted). Its pages
/// are touched only as it fills.
pub(crate) const SLOTS: usize = 1 << 17;
/// Kept free, so that every probe ends at an empty slot.
const MAX_RECORDED: usize = SLOTS - SLOTS / 8;
pub(crate) const EMPTY: usize = 0;

/// One recorded allocation.
#[derive(Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) address: usize,
    // Read by the scan, which runs on Unix.
    #[cfg_attr(windows, allow(dead_code))]
    pub(crate) size: usize,
}

/// The return addresses of an allocation's call stack, innermost first, zeroes after the last.
pub(crate) type Stack = [usize; FRAMES];

static ENTRIES: AtomicPtr<Entry> = AtomicPtr::new(std::ptr::null_mut());
/// The call stacks, slot for slot with `ENTRIES`; null where none are recorded.
static STACKS: AtomicPtr<Stack> = AtomicPtr::new(std::ptr::null_mut());
/// A spin lock over the table: allocations may come from several threads of the test.
static LOCKED: AtomicBool = AtomicBool::new(false);
static RECORDED: AtomicU64 = AtomicU64::new(0);
/// Allocations not recorded because the table was full.
static UNRECORDED: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set while this thread records or holds the table: the unwinder's own allocations, and
    /// anything allocated or freed while the table is held, are not recorded (a `const`
    /// thread-local with no destructor: usable from inside the allocator, at any time).
    static BUSY: Cell<bool> = const { Cell::new(false) };
}

/// The table, held by one thread: its entries and, where they are recorded, their call stacks.
pub(crate) struct Table<'a> {
    pub(crate) entries: &'a mut [Entry],
    stacks: Option<&'a mut [Stack]>,
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
    // Zeroed pages are empty slots.
    let Ok(entries) = Mapped::<Entry>::zeroed(SLOTS) else {
        return false;
    };
    if stacks {
        let Ok(stacks) = Mapped::<Stack>::zeroed(SLOTS) else {
            return false;
        };
        STACKS.store(stacks.leak(), Ordering::Release);
    }
    ENTRIES.store(entries.leak(), Ordering::Release);
    true
}

/// The table as it stands; `None` before [`start`].
///
/// # Safety
/// The caller holds the table (its lock), or recording and tracking are over; and no other
/// reference to it lives.
unsafe fn table<'a>() -> Option<Table<'a>> {
    let entries = ENTRIES.load(Ordering::Acquire);
    if entries.is_null() {
        return None;
    }
    let stacks = STACKS.load(Ordering::Acquire);
    // SAFETY: each mapping holds SLOTS values and lives for the rest of the process; the caller
    // guarantees this is the only reference.
    unsafe {
        Some(Table {
            entries: std::slice::from_raw_parts_mut(entries, SLOTS),
            stacks: (!stacks.is_null()).then(|| std::slice::from_raw_parts_mut(stacks, SLOTS)),
        })
    }
}

/// Runs `f` on the table with this thread marked busy; does nothing if this thread is busy
/// already (it holds the table) or there is no table. Must not allocate: the allocator calls it.
pub(crate) fn with_table(f: impl FnOnce(&mut Table<'_>)) {
    if ENTRIES.load(Ordering::Acquire).is_null() || BUSY.with(Cell::get) {
        return;
    }
    BUSY.with(|busy| busy.set(true));
    spin::lock(&LOCKED);
    // SAFETY: the lock gives this thread the only reference.
    if let Some(mut table) = unsafe { table() } {
        f(&mut table);
    }
    spin::unlock(&LOCKED);
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
    let mut stack = [0usize; FRAMES];
    if records_stacks() {
        BUSY.with(|busy| busy.set(true));
        let mut count = 0;
        // SAFETY: unwinding this thread's own stack; libgcc's unwinder does not allocate, and
        // `BUSY` keeps anything it might allocate from being recorded in turn.
        unsafe {
            crate::stack::walk_unsynchronized(|address| {
                stack[count] = address as usize;
                count += 1;
                count < FRAMES
            });
        }
        BUSY.with(|busy| busy.set(false));
    }
    with_table(|table| table.insert(Entry { address, size }, &stack));
}

/// Forgets a freed allocation, from inside the counting allocator.
pub(crate) fn record_free(address: usize) {
    with_table(|table| table.remove(address));
}

impl Table<'_> {
    fn set(&mut self, index: usize, entry: Entry, stack: &Stack) {
        self.entries[index] = entry;
        if let Some(stacks) = self.stacks.as_deref_mut() {
            stacks[index] = *stack;
        }
    }

    fn insert(&mut self, entry: Entry, stack: &Stack) {
        let mut index = home(entry.address);
        loop {
            let found = self.entries[index].address;
            if found == entry.address {
                // A block freed unseen (while its thread held the table): this is its successor.
                return self.set(index, entry, stack);
            }
            if found == EMPTY {
                if RECORDED.load(Ordering::Relaxed) as usize >= MAX_RECORDED {
                    UNRECORDED.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                RECORDED.fetch_add(1, Ordering::Relaxed);
                return self.set(index, entry, stack);
            }
            index = (index + 1) % SLOTS;
        }
    }

    fn remove(&mut self, address: usize) {
        let mut hole = home(address);
        loop {
            match self.entries[hole].address {
                EMPTY => return,
                found if found == address => break,
                _ => hole = (hole + 1) % SLOTS,
            }
        }
        RECORDED.fetch_sub(1, Ordering::Relaxed);
        // Shift back every later entry of the run that the hole would otherwise cut off from
        // its home slot.
        let mut next = (hole + 1) % SLOTS;
        while self.entries[next].address != EMPTY {
            let wanted = home(self.entries[next].address);
            let distance = |from: usize, to: usize| (to + SLOTS - from) % SLOTS;
            if distance(wanted, next) >= distance(hole, next) {
                self.entries[hole] = self.entries[next];
                if let Some(stacks) = self.stacks.as_deref_mut() {
                    stacks[hole] = stacks[next];
                }
                hole = next;
            }
            next = (next + 1) % SLOTS;
        }
        self.entries[hole].address = EMPTY;
    }

    /// The call stack recorded with slot `index`'s allocation: zeroes where none was.
    #[cfg_attr(windows, allow(dead_code))]
    pub(crate) fn stack(&self, index: usize) -> Stack {
        self.stacks
            .as_deref()
            .map_or([0; FRAMES], |stacks| stacks[index])
    }
}

/// How many allocations the table holds now, and how many it could not record.
pub(crate) fn counts() -> (usize, u64) {
    (
        RECORDED.load(Ordering::Relaxed) as usize,
        UNRECORDED.load(Ordering::Relaxed),
    )
}

/// Whether call stacks are recorded.
pub(crate) fn records_stacks() -> bool {
    !STACKS.load(Ordering::Relaxed).is_null()
}

/// The table's memory, to be left out of the scan's roots: its entries, and its call stacks
/// (an empty range where none are recorded); `None` before [`start`].
pub(crate) fn ranges() -> Option<[Range; 2]> {
    let entries = ENTRIES.load(Ordering::Acquire);
    let stacks = STACKS.load(Ordering::Acquire);
    let range = |start: usize, size: usize| match start {
        0 => (0, 0),
        start => (start, start + SLOTS * size),
    };
    (!entries.is_null()).then(|| {
        [
            range(entries as usize, std::mem::size_of::<Entry>()),
            range(stacks as usize, std::mem::size_of::<Stack>()),
        ]
    })
}

/// The table, to be read once recording and tracking are over.
#[cfg(unix)]
pub(crate) fn finished() -> Option<Table<'static>> {
    // SAFETY: recording and tracking are over, so nothing writes the table any more; the one
    // caller reads it once.
    unsafe { table() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The addresses the table holds, each checked against the call stack recorded with it
    /// (whose first frame is the address, here).
    fn addresses(table: &Table<'_>) -> Vec<usize> {
        let mut addresses: Vec<usize> = (0..SLOTS)
            .filter(|&index| table.entries[index].address != EMPTY)
            .inspect(|&index| assert_eq!(table.stack(index)[0], table.entries[index].address))
            .map(|index| table.entries[index].address)
            .collect();
        addresses.sort_unstable();
        addresses
    }

    #[test]
    fn removals_leave_every_other_entry_findable_with_its_stack() {
        let mut entries = vec![
            Entry {
                address: EMPTY,
                size: 0
            };
            SLOTS
        ];
        let mut stacks = vec![[0; FRAMES]; SLOTS];
        let mut table = Table {
            entries: &mut entries,
            stacks: Some(&mut stacks),
        };
        // Addresses with the same home slot make one long run; removing from its middle must
        // not cut the rest off.
        let colliding: Vec<usize> = (1..=64).map(|n| n * SLOTS * 16).collect();
        assert!(colliding.iter().all(|&a| home(a) == home(colliding[0])));
        let spread: Vec<usize> = (1..=64).map(|n| n * 16 + 8).collect();
        for &address in colliding.iter().chain(&spread) {
            table.insert(Entry { address, size: 8 }, &[address; FRAMES]);
        }
        for &address in colliding.iter().step_by(3).chain(spread.iter().step_by(2)) {
            table.remove(address);
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
        assert_eq!(addresses(&table), kept);
        for &address in &kept {
            table.remove(address);
        }
        assert_eq!(addresses(&table), Vec::<usize>::new());
    }
}
