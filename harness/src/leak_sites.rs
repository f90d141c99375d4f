//! Where a leaking test's still-live blocks were allocated.
//!
//! Only in a second run of a test that failed for a leak: the counting allocator records each
//! allocation the body makes, with its return addresses, in a table outside the heap (a fresh
//! `mmap`, so recording never allocates), and forgets it when it is freed. What is left when the
//! body returns is the leak; its call stacks are resolved in the child and sent as text.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use serde::{Deserialize, Serialize};

/// Return addresses kept per allocation: enough to get past the allocator and std's containers
/// to the test's own code.
const FRAMES: usize = 24;
/// Live allocations the table can hold; later ones go unrecorded.
const SLOTS: usize = 1 << 15;
const EMPTY: usize = 0;
const GONE: usize = 1;
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

thread_local! {
    /// Set while this thread records, so that the unwinder's own needs are not recorded.
    static BUSY: Cell<bool> = const { Cell::new(false) };
}

/// One place the leaked blocks came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LeakSite {
    pub(crate) bytes: u64,
    pub(crate) blocks: u64,
    /// The first frames of the test's own code, innermost first: `function at file:line:col`.
    pub(crate) frames: Vec<String>,
}

/// Maps the table; `false` if it could not be. Call in the child, just before the body; the
/// counting allocator records from then on.
pub(crate) fn start() -> bool {
    let bytes = SLOTS * std::mem::size_of::<Slot>();
    // SAFETY: a fresh private anonymous mapping; zeroed pages are empty slots.
    let table = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if table == libc::MAP_FAILED {
        return false;
    }
    TABLE.store(table.cast(), Ordering::Release);
    true
}

fn with_table(f: impl FnOnce(&mut [Slot])) {
    let table = TABLE.load(Ordering::Acquire);
    if table.is_null() {
        return;
    }
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
}

fn home(address: usize) -> usize {
    (address >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) % SLOTS
}

/// Records a new allocation, from inside the counting allocator.
pub(crate) fn record_alloc(address: usize, size: usize) {
    if BUSY.with(Cell::get) {
        return;
    }
    BUSY.with(|busy| busy.set(true));
    let mut frames = [0usize; FRAMES];
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
    with_table(|table| {
        let start = home(address);
        for step in 0..SLOTS {
            let slot = &mut table[(start + step) % SLOTS];
            if slot.address == EMPTY || slot.address == GONE {
                *slot = Slot {
                    address,
                    size,
                    frames,
                };
                return;
            }
        }
    });
    BUSY.with(|busy| busy.set(false));
}

/// Forgets a freed allocation, from inside the counting allocator.
pub(crate) fn record_free(address: usize) {
    if BUSY.with(Cell::get) {
        return;
    }
    with_table(|table| {
        let start = home(address);
        for step in 0..SLOTS {
            let slot = &mut table[(start + step) % SLOTS];
            if slot.address == address {
                slot.address = GONE;
                return;
            }
            if slot.address == EMPTY {
                return;
            }
        }
    });
}

/// The sites of the allocations still recorded, largest first, resolved to the test's own
/// frames. Call after the body, recording over; allocates freely.
pub(crate) fn sites() -> Vec<LeakSite> {
    let mut by_stack: HashMap<[usize; FRAMES], (u64, u64)> = HashMap::new();
    with_table(|table| {
        for slot in table.iter().filter(|slot| slot.address > GONE) {
            let entry = by_stack.entry(slot.frames).or_default();
            entry.0 += slot.size as u64;
            entry.1 += 1;
        }
    });
    let mut stacks: Vec<_> = by_stack.into_iter().collect();
    stacks.sort_by_key(|(_, (bytes, _))| std::cmp::Reverse(*bytes));
    stacks.truncate(SITES_SHOWN * 4);
    let mut sites: Vec<LeakSite> = Vec::new();
    for (stack, (bytes, blocks)) in stacks {
        let frames = own_frames(&stack);
        match sites.iter_mut().find(|site| site.frames == frames) {
            Some(site) => {
                site.bytes += bytes;
                site.blocks += blocks;
            }
            None => sites.push(LeakSite {
                bytes,
                blocks,
                frames,
            }),
        }
    }
    sites.sort_by_key(|site| std::cmp::Reverse(site.bytes));
    sites.truncate(SITES_SHOWN);
    sites
}

/// The first frames of a stack that belong to the test, not to the allocator, std, a
/// dependency or us; none past the test's body.
fn own_frames(stack: &[usize]) -> Vec<String> {
    let mut frames = Vec::new();
    let mut past_body = false;
    for &address in stack.iter().take_while(|&&address| address != 0) {
        let call = address.saturating_sub(1) as *mut std::ffi::c_void;
        backtrace::resolve(call, |symbol| {
            let function = symbol
                .name()
                .map_or_else(String::new, |name| format!("{name:#}"));
            past_body |= function.ends_with("__isolated_test_body");
            let file = symbol.filename().map(crate::symbols::shorten);
            if past_body || frames.len() >= FRAMES_SHOWN || is_machinery(&function, file.as_deref())
            {
                return;
            }
            let location = match (file, symbol.lineno(), symbol.colno()) {
                (Some(file), Some(line), Some(column)) => format!(" at {file}:{line}:{column}"),
                (Some(file), Some(line), None) => format!(" at {file}:{line}"),
                _ => String::new(),
            };
            frames.push(format!("{function}{location}"));
        });
        if past_body || frames.len() >= FRAMES_SHOWN {
            break;
        }
    }
    frames
}

/// Frames of code that allocates on a test's behalf: never where a leak is. Known by name, or by
/// a source file in std or in a dependency's download.
fn is_machinery(function: &str, file: Option<&str>) -> bool {
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
    const FILES: &[&str] = &["library/", "/rustc/", "/.cargo/registry/", "/.cargo/git/"];
    function.is_empty()
        || NAMES.iter().any(|prefix| function.starts_with(prefix))
        || file.is_some_and(|file| {
            FILES
                .iter()
                .any(|part| file.starts_with(part) || file.contains(part))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocator_std_and_dependency_frames_are_machinery() {
        assert!(is_machinery("alloc::alloc::alloc", None));
        assert!(is_machinery(
            "<alloc::vec::Vec<T> as core::clone::Clone>::clone",
            None
        ));
        assert!(is_machinery("isolated_test::alloc::count_alloc", None));
        let from_elem = "<u8 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem";
        assert!(is_machinery(
            from_elem,
            Some("library/alloc/src/vec/spec_from_elem.rs")
        ));
        let dependency = "/home/u/.cargo/registry/src/index.crates.io-x/hashbrown-0.15/src/raw.rs";
        assert!(is_machinery(
            "hashbrown::raw::RawTable::reserve",
            Some(dependency)
        ));
        assert!(!is_machinery("suite::leaks_a_box", Some("tests/suite.rs")));
        let own_impl = "<suite::Cache as core::default::Default>::default";
        assert!(!is_machinery(own_impl, Some("tests/suite.rs")));
    }
}
