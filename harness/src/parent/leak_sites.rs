//! Naming where a tracked run's blocks came from. The child sends each site's call stack as
//! return addresses; the harness's symboliser, its debug info loaded once a run, names them, and
//! only the test's own frames are kept: the first few, none past the test's body or the start of
//! the thread that allocated. Sites that come to the same frames are one site.

use std::cmp::Reverse;

use crate::outcome::{LeakSite, LeakTally, RecordedSite, TrackedLeaks};
use crate::symbols::Frame;

/// Sites a failure lists, and the test's own frames shown for each.
const SITES_SHOWN: usize = 5;
const FRAMES_SHOWN: usize = 3;

/// Names the sites of both kinds of block, with `resolve` (a return address's frames, inlined
/// calls each a frame of their own; none if it could not be named). Each stack is named from its
/// innermost address out, only as far as the frames kept need.
pub(crate) fn name_sites(
    leaks: TrackedLeaks<RecordedSite>,
    mut resolve: impl FnMut(u64) -> Vec<Frame>,
) -> TrackedLeaks {
    TrackedLeaks {
        lost: name_tally(leaks.lost, &mut resolve),
        reachable: name_tally(leaks.reachable, &mut resolve),
        unrecorded: leaks.unrecorded,
        unscanned: leaks.unscanned,
        held_descriptors: leaks.held_descriptors,
    }
}

fn name_tally(
    tally: LeakTally<RecordedSite>,
    resolve: &mut impl FnMut(u64) -> Vec<Frame>,
) -> LeakTally {
    let mut named: Vec<LeakSite> = Vec::new();
    for site in tally.sites {
        let mut own = OwnFrames::default();
        for &address in &site.stack {
            if !resolve(address).iter().all(|frame| own.take(frame)) {
                break;
            }
        }
        let frames = own.into_frames();
        match named.iter_mut().find(|known| known.frames == frames) {
            Some(known) => {
                known.bytes += site.bytes;
                known.blocks += site.blocks;
            }
            None => named.push(LeakSite {
                bytes: site.bytes,
                blocks: site.blocks,
                frames,
            }),
        }
    }
    named.sort_by_key(|site| Reverse(site.bytes));
    named.truncate(SITES_SHOWN);
    LeakTally {
        bytes: tally.bytes,
        blocks: tally.blocks,
        sites: named,
    }
}

/// The first frames of a stack that belong to the test, not to the allocator, std, a
/// dependency or us; none past the test's body, or past the start of the thread that allocated.
/// Where the test has no frame on the stack (a dependency's own thread allocated), the
/// dependency's first frames instead.
#[derive(Default)]
struct OwnFrames {
    own: Vec<String>,
    dependency: Vec<String>,
}

impl OwnFrames {
    /// Takes the next frame out; false once no frame further out can be kept.
    fn take(&mut self, frame: &Frame) -> bool {
        let function = frame.function.as_str();
        // A block allocated on a thread the test spawned: its closure's frames came before.
        if function.ends_with("__isolated_test_body") || is_thread_start(function) {
            return false;
        }
        let location = frame.location.as_deref();
        let kept = match kind_of(function, location) {
            FrameKind::Machinery => return true,
            FrameKind::Dependency if self.dependency.len() >= FRAMES_SHOWN => return true,
            FrameKind::Dependency => &mut self.dependency,
            FrameKind::Own => &mut self.own,
        };
        kept.push(match location {
            Some(location) => format!("{function} at {}", without_download_prefix(location)),
            None => function.to_owned(),
        });
        self.own.len() < FRAMES_SHOWN
    }

    fn into_frames(self) -> Vec<String> {
        if self.own.is_empty() {
            self.dependency
        } else {
            self.own
        }
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

/// Known by name, or by a source file (`location` starts with it) in std or in a dependency's
/// download. A frame the symboliser could not name (`<unknown>`, or a bare `0x` address) is
/// nobody's.
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
    let unnamed = function.is_empty() || function == "<unknown>" || function.starts_with("0x");
    let by_name = unnamed || NAMES.iter().any(|prefix| function.starts_with(prefix));
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

    fn frame(function: &str, location: Option<&str>) -> Frame {
        Frame {
            function: function.to_owned(),
            location: location.map(str::to_owned),
        }
    }

    /// Two stacks through different machinery to the same lines of the test are one site; a
    /// stack is cut at the test's body and at the start of a thread; unnamed frames are skipped.
    #[test]
    fn sites_are_named_by_the_tests_own_frames_and_merged() {
        let alloc = frame(
            "alloc::alloc::alloc",
            Some("library/alloc/src/alloc.rs:94:9"),
        );
        let leaker = frame("suite::leak_80", Some("tests/suite.rs:7:34"));
        let caller = frame("suite::leaks", Some("tests/suite.rs:12:9"));
        let body = frame(
            "suite::leaks::_::__isolated_test_body",
            Some("tests/suite.rs:10:1"),
        );
        let below = frame("suite::main", Some("tests/suite.rs:99:1"));
        let in_thread = frame("suite::spawns::{{closure}}", Some("tests/suite.rs:20:48"));
        let thread_start = frame(
            "std::sys::pal::unix::thread::Thread::new::thread_start",
            None,
        );
        // Each site's stack names these frames by their place here.
        let table = [
            alloc,
            leaker,
            caller,
            body,
            below,
            frame("0x7f00", None),
            frame("<unknown>", None),
            in_thread,
            thread_start,
        ];
        let site = |bytes, stack: &[u64]| RecordedSite {
            bytes,
            blocks: 1,
            stack: stack.to_vec(),
        };
        let mut leaks = TrackedLeaks::default();
        leaks.lost.sites = vec![
            site(80, &[0, 1, 2, 3, 4]),
            site(64, &[5, 1, 2, 3, 4]),
            site(200, &[6, 0, 7, 8, 4]),
        ];
        let mut resolved = Vec::new();
        let leaks = name_sites(leaks, |address| {
            resolved.push(address);
            vec![table[address as usize].clone()]
        });
        // Nothing past the test's body or a thread's start is named.
        assert_eq!(resolved, [0, 1, 2, 3, 5, 1, 2, 3, 6, 0, 7, 8]);
        let named: Vec<(u64, u64, Vec<&str>)> = (leaks.lost.sites.iter())
            .map(|site| {
                let frames = site.frames.iter().map(String::as_str).collect();
                (site.bytes, site.blocks, frames)
            })
            .collect();
        assert_eq!(
            named,
            [
                (
                    200,
                    1,
                    vec!["suite::spawns::{{closure}} at tests/suite.rs:20:48"]
                ),
                (
                    144,
                    2,
                    vec![
                        "suite::leak_80 at tests/suite.rs:7:34",
                        "suite::leaks at tests/suite.rs:12:9"
                    ]
                ),
            ]
        );
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
