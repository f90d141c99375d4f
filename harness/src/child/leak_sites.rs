//! Where a leaking test's still-live blocks were allocated, and which of them nothing reaches.
//!
//! Only in a second run of a test that failed for a leak: the counting allocator records each
//! allocation the body makes in the [`table`], with its return addresses. What is left when the
//! body returns is told apart by the [`scan`] into lost and still reachable; the call stacks of
//! the largest sites are resolved here, in the child, and sent as text.

use std::collections::HashMap;

use super::no_alloc::mapped::Mapped;
use super::no_alloc::scan::{self, Block, PreBody, ScanBuffers};
use super::no_alloc::table::{self, Slot, EMPTY, FRAMES};
use crate::wire::{LeakSite, LeakTally, TrackedLeaks};

/// Sites a failure lists, and the test's own frames shown for each.
const SITES_SHOWN: usize = 5;
const FRAMES_SHOWN: usize = 3;

/// The mappings before the body began, every one a root of the scan. Call before the body, and
/// before its heap is first measured: the list is heap the body did not make.
pub(crate) fn pre_body() -> PreBody {
    PreBody::from_maps(&std::fs::read_to_string("/proc/self/maps").unwrap_or_default())
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
/// tracking over (`counting::stop_tracking`: no free waits on the table's lock any more); allocates
/// only once the scan is done.
pub(crate) fn tracked_leaks(
    pre_body: &PreBody,
    stack_floor: usize,
    reachable_sites: bool,
) -> TrackedLeaks {
    let Some(table_range) = table::range() else {
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
    let excluded = [
        super::no_alloc::tracking_heap::region(),
        table_range,
        scan.recorded.range(),
        scan.blocks.range(),
        scan.reachable.range(),
        scan.work.range(),
        text,
        mappings,
        tids,
        staging,
    ];
    let scanned = scan::mark_reachable(
        &scan.blocks.as_mut_slice()[..count],
        &mut scan.reachable.as_mut_slice()[..count],
        &mut scan.work.as_mut_slice()[..count],
        pre_body,
        &mut scan.buffers,
        &excluded,
        stack_floor,
    );
    // The world runs again: from here on, allocating is fine.
    let slots = table::finished_slots().unwrap_or_default();
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

    /// Copies the table's blocks into `recorded` and `blocks`, sorted by address; returns how
    /// many. Allocates nothing.
    fn take_recorded(&mut self) -> usize {
        let mut count = 0;
        table::with_table(|slots| {
            let recorded = self.recorded.as_mut_slice();
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
        let recorded = &mut self.recorded.as_mut_slice()[..count];
        recorded.sort_unstable_by_key(|recorded| recorded.block.start);
        let blocks = &mut self.blocks.as_mut_slice()[..count];
        for (block, recorded) in blocks.iter_mut().zip(recorded.iter()) {
            *block = recorded.block;
        }
        count
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
    if !sites || !table::records_stacks() {
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
}
