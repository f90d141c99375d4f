//! The LLVM profiler runtime, found at run time: a test's child writes its coverage counters
//! before `_exit`, which skips the runtime's own exit handler. Raw because the runtime's
//! functions are reached through weak symbols, which only assembly can ask for.

/// The LLVM profiler runtime that `-C instrument-coverage` links into a binary, found at run time
/// through weak references: they resolve to the runtime's functions where it is linked, and to
/// null where it is not (no build flag can tell, since `cargo llvm-cov` instruments through a
/// `RUSTC_WRAPPER` that build scripts never see).
#[derive(Clone, Copy)]
pub(crate) struct ProfilerRuntime {
    set_filename: unsafe extern "C" fn(*const libc::c_char),
    write_file: unsafe extern "C" fn() -> libc::c_int,
}

impl ProfilerRuntime {
    /// The runtime, if this binary is instrumented.
    pub(crate) fn linked() -> Option<Self> {
        let (set_filename, write_file) = profiler_addresses();
        if set_filename == 0 || write_file == 0 {
            return None;
        }
        // SAFETY: non-null addresses of the runtime's functions, which have these signatures
        // (compiler-rt's InstrProfiling.h).
        unsafe {
            Some(Self {
                set_filename: std::mem::transmute::<usize, unsafe extern "C" fn(*const libc::c_char)>(
                    set_filename,
                ),
                write_file: std::mem::transmute::<usize, unsafe extern "C" fn() -> libc::c_int>(
                    write_file,
                ),
            })
        }
    }

    /// `__llvm_profile_set_filename`: where the profile goes (`%p`, `%m` expanded).
    pub(crate) fn set_filename(self, pattern: &std::ffi::CStr) {
        // SAFETY: the runtime copies the pattern.
        unsafe { (self.set_filename)(pattern.as_ptr()) }
    }

    /// `__llvm_profile_write_file`: writes the counters so far.
    pub(crate) fn write_file(self) {
        // SAFETY: writing the profile only reads the counters.
        unsafe { (self.write_file)() };
    }
}

/// The addresses of `__llvm_profile_set_filename` and `__llvm_profile_write_file`, 0 where the
/// runtime is not linked. Weak references are made in assembly: Rust has no stable way to ask
/// for one, and a plain `extern` reference would fail to link without the runtime.
fn profiler_addresses() -> (usize, usize) {
    let (set_filename, write_file): (usize, usize);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: two loads from the global offset table, whose entries for undefined weak symbols
    // are 0.
    unsafe {
        std::arch::asm!(
            ".weak __llvm_profile_set_filename",
            ".weak __llvm_profile_write_file",
            "mov {set}, qword ptr [rip + __llvm_profile_set_filename@GOTPCREL]",
            "mov {write}, qword ptr [rip + __llvm_profile_write_file@GOTPCREL]",
            set = out(reg) set_filename,
            write = out(reg) write_file,
            options(nostack, readonly, preserves_flags),
        );
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above.
    unsafe {
        std::arch::asm!(
            ".weak __llvm_profile_set_filename",
            ".weak __llvm_profile_write_file",
            "adrp {set}, :got:__llvm_profile_set_filename",
            "ldr {set}, [{set}, :got_lo12:__llvm_profile_set_filename]",
            "adrp {write}, :got:__llvm_profile_write_file",
            "ldr {write}, [{write}, :got_lo12:__llvm_profile_write_file]",
            set = out(reg) set_filename,
            write = out(reg) write_file,
            options(nostack, readonly, preserves_flags),
        );
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        (set_filename, write_file) = (0, 0);
    }
    (set_filename, write_file)
}
