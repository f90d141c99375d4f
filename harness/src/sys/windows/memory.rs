//! Memory of the harness's own outside the heap (the allocation tracker's table), as `mmap`
//! gives it on Unix: zeroed pages straight from the system.

use windows_sys::Win32::System::Memory::{
    VirtualAlloc, VirtualFree, MEM_COMMIT, MEM_RELEASE, MEM_RESERVE, PAGE_READWRITE,
};

/// `bytes` of zeroed, readable and writable memory; null where the system has none. Allocates
/// nothing of the heap. Committed at once: Windows charges what is committed, not what is touched,
/// so `lazily` changes nothing here.
pub(crate) fn map_zeroed(bytes: usize, _lazily: bool) -> *mut u8 {
    // SAFETY: a new private range; nothing else refers to it.
    unsafe {
        VirtualAlloc(
            std::ptr::null(),
            bytes,
            MEM_RESERVE | MEM_COMMIT,
            PAGE_READWRITE,
        )
    }
    .cast()
}

/// Gives back memory [`map_zeroed`] returned, all of it (`_bytes` is Unix's business).
///
/// # Safety
/// `start` came from [`map_zeroed`], and nothing uses its memory again.
pub(crate) unsafe fn unmap(start: *mut u8, _bytes: usize) {
    // SAFETY: guaranteed by the caller; MEM_RELEASE takes the size of the whole reservation.
    unsafe { VirtualFree(start.cast(), 0, MEM_RELEASE) };
}

/// Keeps the pages: the tracking heap, the one caller, does not run on Windows.
///
/// # Safety
/// None needed: nothing is done.
pub(crate) unsafe fn discard(_start: *mut u8, _bytes: usize) {}
