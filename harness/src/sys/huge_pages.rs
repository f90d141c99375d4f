//! Fewer page-table entries for a fork to copy: memory every child inherits and none writes,
//! backed by 2 MiB pages, costs a fork one entry per 2 MiB instead of 512.
//!
//! Best effort throughout: the contents never change, and where the kernel cannot (no
//! transparent huge pages, no `MADV_COLLAPSE`), nothing changes at all.

#[cfg(any(target_os = "linux", test))]
const HUGE: usize = 2 << 20;
/// `MADV_COLLAPSE` (Linux 6.1): back the range with huge pages now, not when khugepaged gets to it.
#[cfg(target_os = "linux")]
const MADV_COLLAPSE: libc::c_int = 25;

/// Backs this process's large private anonymous mappings (the heap, big allocations) with huge
/// pages where the kernel can (`MADV_HUGEPAGE`, then `MADV_COLLAPSE` at once): a zygote holding a
/// big setup forks faster.
#[cfg(target_os = "linux")]
pub(crate) fn collapse_into_huge_pages() {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    for line in maps.lines() {
        // `start-end perms offset device inode [path]`
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        let path = fields.nth(3);
        if perms != "rw-p" || !matches!(path, None | Some("[heap]")) {
            continue;
        }
        let Some((start, end)) = parse_range(range).and_then(huge_interior) else {
            continue;
        };
        let (at, length) = (start as *mut libc::c_void, end - start);
        // SAFETY: advice on whole huge pages of a private anonymous mapping of this process:
        // neither call changes what the memory holds.
        unsafe {
            libc::madvise(at, length, libc::MADV_HUGEPAGE);
            libc::madvise(at, length, MADV_COLLAPSE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn collapse_into_huge_pages() {}

/// Moves the data the dynamic loader relocated and then made read-only (a PIE's `.data.rel.ro`
/// and `.got`, `PT_GNU_RELRO`) into anonymous memory backed by huge pages, at the same addresses,
/// read-only still. Each of those pages is a private copy of the file's, so every fork copies an
/// entry per 4 KiB of it: in a suite of 100,000 tests, whose registry lives there, 28 MB and about
/// 1 ms a fork. Only mappings with at least `at_least` bytes of such copies are moved.
///
/// Call it while this process has one thread: another reading the range while it moves would
/// find it unmapped for an instant.
#[cfg(target_os = "linux")]
pub(crate) fn rehome_relocated_data(at_least: usize) {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    for (start, end) in relocated_mappings(&smaps, at_least) {
        if let Some((start, end)) = huge_interior((start, end)) {
            rehome(start, end - start);
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn rehome_relocated_data(_at_least: usize) {}

/// The read-only private file mappings of `smaps` holding at least `at_least` bytes of private
/// (relocated) copies of their pages.
#[cfg(any(target_os = "linux", test))]
fn relocated_mappings(smaps: &str, at_least: usize) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut current = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or_default();
        if let Some(range) = parse_range(first) {
            // `start-end perms offset device inode path`: a file's, read-only and private.
            let perms = fields.next();
            let inode = fields.nth(2);
            current =
                (perms == Some("r--p") && inode.is_some_and(|inode| inode != "0")).then_some(range);
        } else if first == "Anonymous:" {
            let kib: usize = fields.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            if let Some(range) = current.take().filter(|_| kib * 1024 >= at_least) {
                found.push(range);
            }
        }
    }
    found
}

/// `start-end` in hexadecimal.
#[cfg(any(target_os = "linux", test))]
fn parse_range(range: &str) -> Option<(usize, usize)> {
    let (start, end) = range.split_once('-')?;
    let hex = |text| usize::from_str_radix(text, 16).ok();
    Some((hex(start)?, hex(end)?))
}

/// The whole huge pages inside `(start, end)`, if there is one.
#[cfg(any(target_os = "linux", test))]
fn huge_interior((start, end): (usize, usize)) -> Option<(usize, usize)> {
    let (start, end) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
    (end > start).then_some((start, end))
}

/// Replaces `length` bytes at `at` (huge-page aligned) with an anonymous copy backed by huge
/// pages, read-only.
#[cfg(target_os = "linux")]
fn rehome(at: usize, length: usize) {
    use std::ptr::null_mut;
    // SAFETY: a new private anonymous mapping, which nothing else refers to.
    let raw = unsafe {
        libc::mmap(
            null_mut(),
            length + HUGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return;
    }
    let copy = (raw as usize).next_multiple_of(HUGE);
    let after = copy + length;
    // SAFETY: the copy gets `length` bytes on a huge-page boundary inside the new mapping; the
    // parts of it before and after are unmapped, and nothing refers to them. The source is
    // `length` readable bytes of this process (a mapping `/proc/self/smaps` listed), which no
    // thread writes (it is read-only, and this process has one thread); the two do not overlap.
    // `mremap` then puts the copy where the source was, in one step, with the same contents: no
    // reader sees a difference. Should it fail, the source is untouched and the copy unmapped.
    unsafe {
        libc::munmap(raw, copy - raw as usize);
        libc::munmap(
            after as *mut libc::c_void,
            raw as usize + length + HUGE - after,
        );
        let copy = copy as *mut libc::c_void;
        libc::madvise(copy, length, libc::MADV_HUGEPAGE);
        std::ptr::copy_nonoverlapping(at as *const u8, copy.cast::<u8>(), length);
        libc::mprotect(copy, length, libc::PROT_READ);
        let flags = libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED;
        let moved = libc::mremap(copy, length, length, flags, at as *mut libc::c_void);
        if moved == libc::MAP_FAILED {
            libc::munmap(copy, length);
            return;
        }
        libc::madvise(moved, length, MADV_COLLAPSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relocated_mappings_are_the_read_only_private_file_ones_with_copies() {
        let smaps = "\
55d0c0000000-55d0c2000000 r--p 00000000 fd:01 42   /bin/suite
Anonymous:             0 kB
55d0c2e25000-55d0c4864000 r--p 02e23000 fd:01 42   /bin/suite
Size:              27900 kB
Anonymous:         27900 kB
55d0c4864000-55d0c4aa0000 rw-p 02e62000 fd:01 42   /bin/suite
Anonymous:          2400 kB
7f0000000000-7f0000800000 r--p 00000000 00:00 0
Anonymous:          8192 kB
";
        assert_eq!(
            relocated_mappings(smaps, 4 << 20),
            [(0x55d0c2e25000, 0x55d0c4864000)]
        );
        assert_eq!(relocated_mappings(smaps, 64 << 20), []);
        assert_eq!(
            huge_interior((0x55d0c2e25000, 0x55d0c4864000)),
            Some((0x55d0c3000000, 0x55d0c4800000))
        );
        assert_eq!(huge_interior((0x1000, 0x3000)), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_rehomed_range_reads_the_same() {
        // A read-only private mapping of a file, as the loader leaves relocated data.
        let length = 2 * HUGE;
        // SAFETY: a fresh anonymous mapping, filled, then made read-only, then moved in place.
        unsafe {
            let raw = libc::mmap(
                std::ptr::null_mut(),
                length + HUGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(raw, libc::MAP_FAILED);
            let at = (raw as usize).next_multiple_of(HUGE);
            let bytes = std::slice::from_raw_parts_mut(at as *mut u8, length);
            for (i, byte) in bytes.iter_mut().enumerate() {
                *byte = (i % 251) as u8;
            }
            libc::mprotect(at as *mut libc::c_void, length, libc::PROT_READ);
            rehome(at, length);
            let bytes = std::slice::from_raw_parts(at as *const u8, length);
            assert!(bytes.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
            libc::munmap(raw, length + HUGE);
        }
    }
}
