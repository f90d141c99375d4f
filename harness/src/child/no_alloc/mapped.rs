//! Memory of the harness's own in the child, outside the heap: the tracker's table and the scan's
//! buffers.

use std::io;

use crate::sys;

/// A byte range `[start, end)`.
pub(crate) type Range = (usize, usize);

/// Memory of the harness's own, outside the heap and never a root: a mapping of its own,
/// zeroed, unmapped when dropped.
pub(crate) struct Mapped<T: Copy> {
    start: *mut T,
    len: usize,
}

impl<T: Copy> Mapped<T> {
    /// Room for `len` values of `T`, all bytes zero (so `T` must be valid all-zero).
    pub(crate) fn zeroed(len: usize) -> io::Result<Self> {
        let bytes = (len.max(1) * std::mem::size_of::<T>()).max(1);
        let start = sys::memory::map_zeroed(bytes, false);
        if start.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            start: start.cast(),
            len,
        })
    }

    /// The bytes it covers, to be left out of the roots.
    pub(crate) fn range(&self) -> Range {
        let start = self.start as usize;
        (start, start + self.len * std::mem::size_of::<T>())
    }

    /// Keeps the mapping for the rest of the process, and returns where it starts.
    pub(crate) fn leak(self) -> *mut T {
        let start = self.start;
        std::mem::forget(self);
        start
    }

    /// Read by the scan, which runs on Unix.
    #[cfg(unix)]
    pub(crate) fn as_slice(&self) -> &[T] {
        // SAFETY: the mapping holds `len` values, zeroed, and lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.start, self.len) }
    }

    /// Read by the scan, which runs on Unix.
    #[cfg(unix)]
    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        // SAFETY: the mapping holds `len` values, zeroed, and lives as long as `self`.
        unsafe { std::slice::from_raw_parts_mut(self.start, self.len) }
    }
}

impl<T: Copy> Drop for Mapped<T> {
    fn drop(&mut self) {
        let (start, end) = self.range();
        // SAFETY: unmaps exactly the mapping made in `zeroed`, which nothing uses any more.
        unsafe { sys::memory::unmap(start as *mut u8, (end - start).max(1)) };
    }
}
