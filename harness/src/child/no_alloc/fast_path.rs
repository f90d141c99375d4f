//! The counting allocator's common case, written once in assembly: no limit, no recording, a
//! block `malloc` can give (alignment at most 16 and at most the size). It counts exactly what
//! the general path counts and calls the C library's `malloc` and `free`, as `System` does.
//!
//! Why assembly: the allocator runs at the user's opt-level, 0 in a debug test build, where each
//! Rust step is a call and each value a trip through the stack; an allocation-heavy test ran at
//! twice in-process libtest's time. A naked function's code is the same at every opt-level.
//!
//! Each entry returns null or false when the case is not the common one, having done nothing:
//! the caller then takes the general path. Elsewhere than on x86-64 Linux they always do.

use std::alloc::Layout;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
use std::mem::offset_of;

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
use super::counter::SplitCounter;
use super::counter::{Counters, COUNTERS};

/// Which of a `Layout`'s two words holds its size (the other holds its alignment), found by
/// looking at one when compiling: its getters are calls at opt-level 0, its words are free.
const SIZE_WORD: usize = {
    // SAFETY: 1 is a valid size for the power of two 2; a `Layout` is two words, both plain
    // integers (the size and the alignment), so reading it as two words is reading them.
    let words: [usize; 2] = unsafe { std::mem::transmute(Layout::from_size_align_unchecked(1, 2)) };
    assert!(
        words[0] + words[1] == 3,
        "a Layout is its size and alignment"
    );
    if words[0] == 1 {
        0
    } else {
        1
    }
};

/// `layout`'s size and alignment, without calls.
#[inline(always)]
fn size_and_align(layout: Layout) -> (usize, usize) {
    // SAFETY: as in `SIZE_WORD`.
    let words: [usize; 2] = unsafe { std::mem::transmute(layout) };
    (words[SIZE_WORD], words[1 - SIZE_WORD])
}

/// A block for `layout` from `malloc`, counted; null when the case is not the common one (then
/// nothing was allocated or counted) or `malloc` failed.
///
/// # Safety
/// As `GlobalAlloc::alloc`, for an allocator whose blocks come from `malloc` (`System`).
#[inline(always)]
pub(crate) unsafe fn alloc(layout: Layout) -> *mut u8 {
    let (size, align) = size_and_align(layout);
    // SAFETY: the caller's contract; `COUNTERS` are the allocator's.
    unsafe { malloc_counted(size, align, &COUNTERS) }
}

/// Counts the freeing of `block` and gives it to `free`: true. False when the case is not the
/// common one: then nothing was counted or freed.
///
/// # Safety
/// As `GlobalAlloc::dealloc`, for an allocator that gives every block back with `free`
/// (`System`).
#[inline(always)]
pub(crate) unsafe fn dealloc(block: *mut u8, layout: Layout) -> bool {
    let (size, _) = size_and_align(layout);
    // SAFETY: the caller's contract; `COUNTERS` are the allocator's.
    unsafe { free_counted(block, size, &COUNTERS) != 0 }
}

/// The largest alignment `malloc` guarantees on x86-64 (`System`'s `MIN_ALIGN`).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
const MALLOC_ALIGNMENT: usize = 16;

/// Where the assembly finds each field, in bytes from the counters' start.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod at {
    use super::{offset_of, Counters, SplitCounter};

    pub(super) const MODE: usize = offset_of!(Counters, mode);
    pub(super) const UNLOCKED_THREAD: usize = offset_of!(Counters, unlocked_thread);
    pub(super) const PEAK: usize = offset_of!(Counters, peak_bytes);
    const LIVE: usize = offset_of!(Counters, live_bytes);
    pub(super) const LIVE_UNLOCKED: usize = LIVE + SplitCounter::UNLOCKED_SHARE;
    pub(super) const LIVE_OTHERS: usize = LIVE + SplitCounter::OTHERS_SHARE;
    const ALLOCATED: usize = offset_of!(Counters, allocated_blocks);
    pub(super) const ALLOCATED_UNLOCKED: usize = ALLOCATED + SplitCounter::UNLOCKED_SHARE;
    pub(super) const ALLOCATED_OTHERS: usize = ALLOCATED + SplitCounter::OTHERS_SHARE;
    const FREED: usize = offset_of!(Counters, freed_blocks);
    pub(super) const FREED_UNLOCKED: usize = FREED + SplitCounter::UNLOCKED_SHARE;
    pub(super) const FREED_OTHERS: usize = FREED + SplitCounter::OTHERS_SHARE;
}

/// [`alloc`] of `size` bytes aligned to `align`, counted in `counters`.
///
/// # Safety
/// As [`alloc`] with a layout of `size` and `align`; `counters` is the allocator's.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[unsafe(naked)]
unsafe extern "C" fn malloc_counted(size: usize, align: usize, counters: &Counters) -> *mut u8 {
    // rdi = size, rsi = align, rdx = counters. On entry rsp is 8 past a 16-byte boundary.
    core::arch::naked_asm!(
        ".cfi_startproc",
        "cmp byte ptr [rdx + {mode}], 0",
        "jne 9f",
        "cmp rsi, {malloc_alignment}",
        "ja 9f",
        "cmp rsi, rdi",
        "ja 9f",
        // Keep size and counters across the call; three words keep rsp 16-byte aligned.
        "push rdi",
        ".cfi_adjust_cfa_offset 8",
        "push rdx",
        ".cfi_adjust_cfa_offset 8",
        "sub rsp, 8",
        ".cfi_adjust_cfa_offset 8",
        "call {malloc}",
        "add rsp, 8",
        ".cfi_adjust_cfa_offset -8",
        "pop rdx",
        ".cfi_adjust_cfa_offset -8",
        "pop rdi",
        ".cfi_adjust_cfa_offset -8",
        "test rax, rax",
        "jz 9f",
        // One thread adds its share without a lock (see `counter`); others add atomically.
        "mov rcx, qword ptr fs:[0]",
        "cmp rcx, qword ptr [rdx + {unlocked_thread}]",
        "jne 2f",
        "add qword ptr [rdx + {live_unlocked}], rdi",
        "add qword ptr [rdx + {allocated_unlocked}], 1",
        "jmp 3f",
        "2:",
        "lock add qword ptr [rdx + {live_others}], rdi",
        "lock add qword ptr [rdx + {allocated_others}], 1",
        "3:",
        // The peak: fetch_max of the live bytes, only when they pass it.
        "mov rcx, qword ptr [rdx + {live_unlocked}]",
        "add rcx, qword ptr [rdx + {live_others}]",
        "mov rsi, rax",
        "mov rax, qword ptr [rdx + {peak}]",
        "4:",
        "cmp rcx, rax",
        "jle 5f",
        "lock cmpxchg qword ptr [rdx + {peak}], rcx",
        "jne 4b",
        "5:",
        "mov rax, rsi",
        "ret",
        "9:",
        "xor eax, eax",
        "ret",
        ".cfi_endproc",
        mode = const at::MODE,
        unlocked_thread = const at::UNLOCKED_THREAD,
        live_unlocked = const at::LIVE_UNLOCKED,
        live_others = const at::LIVE_OTHERS,
        allocated_unlocked = const at::ALLOCATED_UNLOCKED,
        allocated_others = const at::ALLOCATED_OTHERS,
        peak = const at::PEAK,
        malloc_alignment = const MALLOC_ALIGNMENT,
        malloc = sym libc::malloc,
    )
}

/// [`dealloc`] of a block of `size` bytes, counted in `counters`: 1 for true.
///
/// # Safety
/// As [`dealloc`]; `counters` is the allocator's.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[unsafe(naked)]
unsafe extern "C" fn free_counted(block: *mut u8, size: usize, counters: &Counters) -> u8 {
    // rdi = block, rsi = size, rdx = counters. On entry rsp is 8 past a 16-byte boundary.
    core::arch::naked_asm!(
        ".cfi_startproc",
        "cmp byte ptr [rdx + {mode}], 0",
        "jne 9f",
        "mov rcx, qword ptr fs:[0]",
        "cmp rcx, qword ptr [rdx + {unlocked_thread}]",
        "jne 2f",
        "sub qword ptr [rdx + {live_unlocked}], rsi",
        "add qword ptr [rdx + {freed_unlocked}], 1",
        "jmp 3f",
        "2:",
        "lock sub qword ptr [rdx + {live_others}], rsi",
        "lock add qword ptr [rdx + {freed_others}], 1",
        "3:",
        "sub rsp, 8",
        ".cfi_adjust_cfa_offset 8",
        "call {free}",
        "add rsp, 8",
        ".cfi_adjust_cfa_offset -8",
        "mov eax, 1",
        "ret",
        "9:",
        "xor eax, eax",
        "ret",
        ".cfi_endproc",
        mode = const at::MODE,
        unlocked_thread = const at::UNLOCKED_THREAD,
        live_unlocked = const at::LIVE_UNLOCKED,
        live_others = const at::LIVE_OTHERS,
        freed_unlocked = const at::FREED_UNLOCKED,
        freed_others = const at::FREED_OTHERS,
        free = sym libc::free,
    )
}

/// Elsewhere: never the common case.
///
/// # Safety
/// None needed; `unsafe` as on x86-64 Linux.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
unsafe extern "C" fn malloc_counted(_: usize, _: usize, _: &Counters) -> *mut u8 {
    std::ptr::null_mut()
}

/// Elsewhere: never the common case.
///
/// # Safety
/// None needed; `unsafe` as on x86-64 Linux.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
unsafe extern "C" fn free_counted(_: *mut u8, _: usize, _: &Counters) -> u8 {
    0
}

#[cfg(all(test, target_arch = "x86_64", target_os = "linux"))]
mod tests {
    use std::alloc::{GlobalAlloc, System};
    use std::sync::atomic::Ordering::Relaxed;

    use super::*;

    /// Live bytes, allocated blocks, freed blocks.
    fn counts() -> (i64, i64, i64) {
        (
            COUNTERS.live_bytes.total(),
            COUNTERS.allocated_blocks.total(),
            COUNTERS.freed_blocks.total(),
        )
    }

    fn since(before: (i64, i64, i64)) -> (i64, i64, i64) {
        let now = counts();
        (now.0 - before.0, now.1 - before.1, now.2 - before.2)
    }

    // One test: the counters and the mode are process-wide.
    #[test]
    fn counts_the_common_case_exactly_and_declines_the_rest_untouched() {
        let layout = Layout::from_size_align(24, 8).unwrap();
        assert_eq!(size_and_align(layout), (24, 8));
        let before = counts();
        COUNTERS.peak_bytes.store(i64::MIN, Relaxed);

        // SAFETY: a valid layout of non-zero size; the block goes back with `dealloc` below.
        let block = unsafe { alloc(layout) };
        assert!(!block.is_null());
        assert_eq!(since(before), (24, 1, 0));
        assert_eq!(COUNTERS.peak_bytes.load(Relaxed), counts().0);
        // SAFETY: `block` came from `alloc` with `layout`.
        assert!(unsafe { dealloc(block, layout) });
        assert_eq!(since(before), (0, 1, 1));

        // An alignment beyond malloc's, and a size below the alignment: the general path's.
        for declined in [(64, 32), (8, 16)] {
            let layout = Layout::from_size_align(declined.0, declined.1).unwrap();
            // SAFETY: a valid layout of non-zero size; nothing is allocated.
            assert!(unsafe { alloc(layout) }.is_null());
        }
        assert_eq!(since(before), (0, 1, 1));

        // Any mode bit (a limit, a tracked run): the general path's, for both.
        COUNTERS.mode.store(1, Relaxed);
        // SAFETY: a valid layout; declined, so nothing is allocated.
        assert!(unsafe { alloc(layout) }.is_null());
        // SAFETY: a live block of `System`'s, freed below when declined.
        let block = unsafe { System.alloc(layout) };
        // SAFETY: as above.
        assert!(!unsafe { dealloc(block, layout) });
        COUNTERS.mode.store(0, Relaxed);
        assert_eq!(since(before), (0, 1, 1));
        // SAFETY: `block` is still live, from `System` with `layout`.
        unsafe { System.dealloc(block, layout) };

        // Another thread than the main one counts into the same totals.
        std::thread::spawn(move || {
            // SAFETY: as for the first block.
            let block = unsafe { alloc(layout) };
            assert!(!block.is_null());
            // SAFETY: as for the first block.
            assert!(unsafe { dealloc(block, layout) });
        })
        .join()
        .unwrap();
        assert_eq!(since(before), (0, 2, 2));
    }
}
