//! How a Windows process that crashed ends: with the exception's status as its exit code
//! (`0xC0000005`), where a Unix process is killed by a signal. Named here, so that a crash reads
//! as one, not as an exit status.

/// The exit code the harness kills a job with: it reads its own timeout or interruption from
/// what it did, never from this code.
pub(crate) const KILLED_BY_HARNESS: u32 = 0xC000_013A;

/// What an exit code that is an exception's status means, if it is one of those a test meets.
pub(crate) fn exception_name(code: i32) -> Option<&'static str> {
    Some(match code as u32 {
        0xC000_0005 => "access violation",
        0xC000_001D => "illegal instruction",
        0xC000_0094 => "integer division by zero",
        0xC000_0095 => "integer overflow",
        0xC000_00FD => "stack overflow",
        0xC000_0409 => "fail-fast: abort",
        0xC000_0374 => "heap corruption",
        0xC000_013A => "terminated (Ctrl-C)",
        0x8000_0003 => "breakpoint",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crashes_a_test_meets_are_named() {
        assert_eq!(
            exception_name(0xC000_0005u32 as i32),
            Some("access violation")
        );
        assert_eq!(
            exception_name(0xC000_0409u32 as i32),
            Some("fail-fast: abort")
        );
        assert_eq!(
            exception_name(0xC000_00FDu32 as i32),
            Some("stack overflow")
        );
        assert_eq!(exception_name(101), None);
    }
}
