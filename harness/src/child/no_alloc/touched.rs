//! Which pages of this process's memory were ever touched: in memory or swapped out, as
//! `/proc/self/pagemap` says. A page never touched reads as zeroes, and reading it costs a page
//! fault: the scan skips such pages of a huge root, and the table of a tracked run (2 MiB,
//! mostly never written) is read only where it was written. Allocates nothing.

use crate::sys::{self, RawFd};

const PAGE: usize = 4096;
/// Pages whose entries are read at once.
const WINDOW: usize = 512;
/// An entry's bits: the page is in memory, or swapped out.
const PRESENT: u64 = 1 << 63;
const SWAPPED: u64 = 1 << 62;

/// `/proc/self/pagemap`, open; `None` where it cannot be opened (not Linux, or no `/proc`).
pub(crate) struct Pagemap(RawFd);

impl Pagemap {
    pub(crate) fn open() -> Option<Self> {
        if !cfg!(any(target_os = "linux", target_os = "android")) {
            return None;
        }
        sys::raw_io::open_read_only(c"/proc/self/pagemap").map(Self)
    }

    /// Calls `touched` with each run of touched pages in `[start, end)`, clipped to it, in
    /// address order. `Err(at)` if the pagemap stopped answering at `at`: from there on, the
    /// caller reads everything.
    pub(crate) fn touched_runs(
        &self,
        start: usize,
        end: usize,
        mut touched: impl FnMut(usize, usize),
    ) -> Result<(), usize> {
        let mut page = start / PAGE;
        let last = end.div_ceil(PAGE);
        let mut entries = [0u64; WINDOW];
        // The run of touched pages seen last and not yet handed over, as a page range.
        let mut run: Option<(usize, usize)> = None;
        let mut hand_over = |(first, past): (usize, usize)| {
            touched((first * PAGE).max(start), (past * PAGE).min(end));
        };
        while page < last {
            let count = (last - page).min(WINDOW);
            // SAFETY: the first `count` entries as bytes: any bytes are a valid `u64`.
            let bytes = unsafe {
                std::slice::from_raw_parts_mut(entries.as_mut_ptr().cast::<u8>(), count * 8)
            };
            if sys::raw_io::read_file_at(self.0, (page * 8) as u64, bytes) != bytes.len() {
                if let Some(run) = run {
                    hand_over(run);
                }
                return Err((page * PAGE).max(start));
            }
            for (index, &entry) in entries[..count].iter().enumerate() {
                let at = page + index;
                if entry & (PRESENT | SWAPPED) == 0 {
                    continue;
                }
                run = match run {
                    Some((first, past)) if past == at => Some((first, at + 1)),
                    Some(ended) => {
                        hand_over(ended);
                        Some((at, at + 1))
                    }
                    None => Some((at, at + 1)),
                };
            }
            page += count;
        }
        if let Some(run) = run {
            hand_over(run);
        }
        Ok(())
    }
}

impl Drop for Pagemap {
    fn drop(&mut self) {
        sys::descriptors::close_raw(self.0);
    }
}

/// Calls `each` with the index of every item of `items` whose first byte is on a touched page
/// (where the pagemap can tell; every index where it cannot). An item whose first byte is on a
/// page never touched is all zeroes there.
pub(crate) fn touched_items<T>(items: &[T], mut each: impl FnMut(usize)) {
    let size = std::mem::size_of::<T>().max(1);
    let base = items.as_ptr() as usize;
    let end = base + std::mem::size_of_val(items);
    // The items whose first byte is in `[from, to)`.
    let mut items_in = |from: usize, to: usize| {
        let first = (from - base).div_ceil(size);
        let past = (to - base).div_ceil(size).min(items.len());
        (first..past).for_each(&mut each);
    };
    let resumed = match Pagemap::open() {
        Some(pagemap) => match pagemap.touched_runs(base, end, &mut items_in) {
            Ok(()) => return,
            Err(at) => at,
        },
        None => base,
    };
    items_in(resumed, end);
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::super::mapped::Mapped;
    use super::*;

    /// An item that straddles pages.
    #[derive(Clone, Copy)]
    struct Item([usize; 26]);

    #[test]
    fn only_items_on_written_pages_are_visited() {
        let mut items = Mapped::<Item>::zeroed(20_000).expect("a zeroed mapping");
        let items = items.as_mut_slice();
        for index in [3, 9_000, 19_999] {
            items[index].0[0] = index + 1;
        }
        let mut visited = Vec::new();
        touched_items(items, |index| visited.push(index));
        for index in [3, 9_000, 19_999] {
            assert!(visited.contains(&index), "{index} was not visited");
        }
        // Three written pages hold at most 20 items each whose first byte is there.
        assert!(visited.len() <= 3 * 20, "{} items visited", visited.len());
        assert!(visited.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn runs_are_clipped_to_the_range_asked() {
        let mut bytes = Mapped::<u8>::zeroed(5 * PAGE).expect("a zeroed mapping");
        let bytes = bytes.as_mut_slice();
        bytes[PAGE + 10] = 1;
        bytes[2 * PAGE + 10] = 1;
        let start = bytes.as_ptr() as usize;
        let pagemap = Pagemap::open().expect("/proc/self/pagemap opens");
        let mut runs = Vec::new();
        let read = pagemap.touched_runs(start + PAGE + 100, start + 4 * PAGE, |from, to| {
            runs.push((from - start, to - start))
        });
        assert_eq!(read, Ok(()));
        assert_eq!(runs, [(PAGE + 100, 3 * PAGE)]);
    }
}
