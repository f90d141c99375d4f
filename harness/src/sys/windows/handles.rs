//! Handles by value: made inheritable for one child's start, written to and closed where nothing
//! may allocate (the child's result channel), and ending this process at once.

use std::io;
use std::os::windows::io::{AsRawHandle, RawHandle};

use windows_sys::Win32::Foundation::{
    CloseHandle, SetHandleInformation, HANDLE, HANDLE_FLAG_INHERIT,
};
use windows_sys::Win32::Storage::FileSystem::WriteFile;
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetCurrentThreadId, TerminateProcess,
};

/// A handle as a number: how a child is told which inherited handle is what.
pub(crate) fn value_of(handle: &impl AsRawHandle) -> u64 {
    handle.as_raw_handle() as usize as u64
}

/// Whether a child started from now on inherits `handle`. The harness starts children from
/// one thread, so a handle made inheritable just for one start reaches that child alone.
pub(crate) fn set_inheritable(handle: &impl AsRawHandle, inherit: bool) -> io::Result<()> {
    set_inheritable_by_value(value_of(handle), inherit)
}

/// [`set_inheritable`] on a handle by its value; a handle that is not open makes it fail, and
/// nothing else.
pub(crate) fn set_inheritable_by_value(value: u64, inherit: bool) -> io::Result<()> {
    let flags = if inherit { HANDLE_FLAG_INHERIT } else { 0 };
    // SAFETY: the call changes the handle's flags only.
    let done = unsafe { SetHandleInformation(raw(value), HANDLE_FLAG_INHERIT, flags) };
    if done == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn raw(value: u64) -> HANDLE {
    value as usize as RawHandle
}

/// Writes all of `bytes` to the handle `value`. Allocates nothing.
pub(crate) fn write_all(value: u64, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        let chunk = bytes.len().min(u32::MAX as usize) as u32;
        let mut written = 0u32;
        // SAFETY: `bytes` is live for `chunk` bytes; `written` is ours; a handle that is not
        // open makes the call fail, and nothing else.
        let done = unsafe {
            WriteFile(
                raw(value),
                bytes.as_ptr(),
                chunk,
                &mut written,
                std::ptr::null_mut(),
            )
        };
        if done == 0 {
            return Err(io::Error::last_os_error());
        }
        bytes = &bytes[written as usize..];
    }
    Ok(())
}

/// Closes the handle `value`, which nothing else owns. Allocates nothing.
pub(crate) fn close(value: u64) {
    // SAFETY: the caller owns the handle and never uses it again.
    unsafe { CloseHandle(raw(value)) };
}

/// Ends this process at once with `code`, running no exit handler or destructor. Allocates
/// nothing.
pub(crate) fn exit_now(code: u32) -> ! {
    // SAFETY: the pseudo handle of this process; terminating it does not return.
    unsafe { TerminateProcess(GetCurrentProcess(), code) };
    std::process::abort()
}

/// The system's id of the calling thread. Allocates nothing.
pub(crate) fn current_thread_id() -> u64 {
    // SAFETY: no preconditions.
    u64::from(unsafe { GetCurrentThreadId() })
}

/// Makes a crash of this process end it with the exception's status at once: no error dialog,
/// no debugger started (Wine starts one for an unhandled exception otherwise, whatever the error
/// mode), so that the harness reads the exception from the exit code.
pub(crate) fn crash_without_dialog() {
    use windows_sys::Win32::System::Diagnostics::Debug::{
        SetErrorMode, SetUnhandledExceptionFilter, SEM_FAILCRITICALERRORS, SEM_NOGPFAULTERRORBOX,
    };
    // SAFETY: sets this process's error mode and its last-chance filter, which only ends the
    // process.
    unsafe {
        SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
        SetUnhandledExceptionFilter(Some(end_with_exception));
    }
}

/// The last-chance filter: ends the process with the exception's status as its exit code.
unsafe extern "system" fn end_with_exception(
    info: *const windows_sys::Win32::System::Diagnostics::Debug::EXCEPTION_POINTERS,
) -> i32 {
    // SAFETY: the system passes a live record of the exception it could not hand to anyone.
    let code = unsafe { info.as_ref().and_then(|info| info.ExceptionRecord.as_ref()) }
        .map_or(1, |record| record.ExceptionCode as u32);
    exit_now(code)
}
