//! Ending this process, as `sys::signals` does on Unix. Windows has no signals to die by.

/// Ends this process at once with `status`, running no exit handler or destructor. Allocates
/// nothing.
pub(crate) fn exit_now(status: i32) -> ! {
    crate::sys::windows::handles::exit_now(status as u32)
}

/// Ends this process as an interruption by `signal` would: with 128 and its number, as a shell
/// reports one.
pub(crate) fn die_by(signal: i32) -> ! {
    let _ = std::io::Write::flush(&mut std::io::stdout());
    std::process::exit(128 + signal)
}
