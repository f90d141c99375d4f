//! The table of the body's live allocations in a tracked run, written from inside the counting
//! allocator: each allocation with its return addresses, forgotten when freed. It lives outside
//! the heap (a fresh `mmap`), so recording never allocates.
//!
//! An open-addressing hash table without tombstones (a removal shifts the entries after it back),
//! so a lookup stays short however many blocks come and go. One thread at a time holds it, and a
//! thread that holds it records nothing: an allocation or free made while the table is held (by
//! the unwinder, or while the sites are read) can never wait for the table.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

use super::mapped::{Mapped, Range};

/// Return addresses kept per allocation: enough to get past the allocator and std's containers
/// to the test's own code.
pub(crate) const FRAMES: usize = 24;
/// Live allocations the table can hold; later ones go unrecorded (and are counted). Its pages
/// are touched only as it fills.
pub(crate) const SLOTS: usize = 1 << 17;
/// Kept free, so that every probe ends at an empty slot.
const MAX_RECORDED: usize = SLOTS - SLOTS / 8;
pub(crate) const EMPTY: usize = 0;

#[derive(Clone, Copy)]
pub(crate) struct Slot {
    pub(crate) address: usize,
    // Read by the scan, which runs on Unix.
    #[cfg_attr(windows, allow(dead_code))]
    pub(crate) size: usize,
    #[cfg_attr(windows, allow(dead_code))]
    pub(crate) frames: [usize; FRAMES],
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
pub(crate) fn with_table(f: impl FnOnce(&mut [Slot])) {
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

/// How many allocations the table holds now, and how many it could not record.
pub(crate) fn counts() -> (usize, u64) {
    (
        RECORDED.load(Ordering::Relaxed) as usize,
        UNRECORDED.load(Ordering::Relaxed),
    )
}

/// Whether call stacks are recorded.
#[cfg(unix)]
pub(crate) fn records_stacks() -> bool {
    RECORD_STACKS.load(Ordering::Relaxed)
}

/// The table's bytes, to be left out of the scan's roots; `None` before [`start`].
pub(crate) fn range() -> Option<Range> {
    let table = TABLE.load(Ordering::Acquire);
    let bytes = SLOTS * std::mem::size_of::<Slot>();
    (!table.is_null()).then(|| (table as usize, table as usize + bytes))
}

/// The table, to be read once recording and tracking are over.
#[cfg(unix)]
pub(crate) fn finished_slots() -> Option<&'static [Slot]> {
    let table = TABLE.load(Ordering::Acquire);
    // SAFETY: the mapping holds SLOTS slots and lives for the rest of the process; recording
    // and tracking are over, so nothing writes it any more.
    (!table.is_null()).then(|| unsafe { std::slice::from_raw_parts(table, SLOTS) })
}

#[cfg(test)]
mod tests {
    use super::*;

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
