//! The one door to the `backtrace` crate, there with the `symbols` feature (on by default):
//! walking this thread's stack, and naming an address.
//!
//! Without the feature a walk finds no frame and an address no symbol, so the frames the harness
//! reports are not had: a leak is reported without its call site, a timeout without where the
//! test was, and std's own hook writes a panic's backtrace (see `panic_backtrace`).

/// One symbol of an address, as the debug info has it (an inlined call is one of several).
#[derive(Debug)]
pub(crate) struct Symbol {
    /// The mangled name's bytes.
    pub(crate) name: Option<Vec<u8>>,
    /// The name demangled without its hash, as `{:#}` writes it.
    pub(crate) demangled: Option<String>,
    pub(crate) file: Option<std::path::PathBuf>,
    pub(crate) line: Option<u32>,
    pub(crate) column: Option<u32>,
}

/// Calls `each` with this thread's return addresses, innermost first, while it returns true.
pub(crate) fn walk(mut each: impl FnMut(u64) -> bool) {
    #[cfg(feature = "symbols")]
    backtrace::trace(|frame| each(frame.ip() as usize as u64));
    #[cfg(not(feature = "symbols"))]
    let _ = &mut each;
}

/// [`walk`], taking no lock: for a signal handler or the allocator. libgcc's unwinder allocates
/// nothing.
///
/// # Safety
/// As `backtrace::trace_unsynchronized`: no other thread of this process may walk its stack with
/// the `backtrace` crate meanwhile.
pub(crate) unsafe fn walk_unsynchronized(mut each: impl FnMut(u64) -> bool) {
    // SAFETY: guaranteed by the caller.
    #[cfg(feature = "symbols")]
    unsafe {
        backtrace::trace_unsynchronized(|frame| each(frame.ip() as usize as u64))
    };
    #[cfg(not(feature = "symbols"))]
    let _ = &mut each;
}

/// Calls `each` with the symbols of `address`, the innermost inlined call first; none where it
/// cannot be named. `address` is looked up as it is: the caller steps back from a return address
/// where it wants the call.
pub(crate) fn resolve(address: u64, mut each: impl FnMut(Symbol)) {
    #[cfg(feature = "symbols")]
    backtrace::resolve(
        std::ptr::without_provenance_mut(address as usize),
        |symbol| {
            each(Symbol {
                name: symbol.name().map(|name| name.as_bytes().to_vec()),
                demangled: symbol.name().map(|name| format!("{name:#}")),
                file: symbol.filename_raw().map(|file| file.into_path_buf()),
                line: symbol.lineno(),
                column: symbol.colno(),
            })
        },
    );
    #[cfg(not(feature = "symbols"))]
    let _ = (address, &mut each);
}
