//! Memory of the harness's own outside the heap: zeroed pages straight from the kernel, as a
//! private anonymous mapping.

/// `bytes` of zeroed, readable and writable memory, reserving no swap where `lazily` (pages are
/// had as they are touched); null where the system has none. Allocates nothing of the heap.
pub(crate) fn map_zeroed(bytes: usize, lazily: bool) -> *mut u8 {
    // FreeBSD has no `MAP_NORESERVE`: it reserves no swap for a mapping in any case.
    #[cfg(not(target_os = "freebsd"))]
    let no_reserve = if lazily { libc::MAP_NORESERVE } else { 0 };
    #[cfg(target_os = "freebsd")]
    let no_reserve = {
        let _ = lazily;
        0
    };
    // SAFETY: a fresh private anonymous mapping; nothing else refers to it.
    let start = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | no_reserve,
            -1,
            0,
        )
    };
    if start == libc::MAP_FAILED {
        return std::ptr::null_mut();
    }
    start.cast()
}

/// Gives back `bytes` from `start`, which [`map_zeroed`] returned.
///
/// # Safety
/// Nothing uses that memory again.
pub(crate) unsafe fn unmap(start: *mut u8, bytes: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe { libc::munmap(start.cast(), bytes) };
}

/// Gives the pages of `[start, start + bytes)` back to the kernel, keeping the range mapped: it
/// reads as zeroes after. Allocates nothing.
///
/// # Safety
/// Nothing may need what that range holds.
pub(crate) unsafe fn discard(start: *mut u8, bytes: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe { libc::madvise(start.cast(), bytes, libc::MADV_DONTNEED) };
}
