//! Every outcome isolated-test reports, each as a user sees it: 28 tests, of which 11 pass, 16 fail
//! on purpose and 1 is ignored. Crashes, early exits, hangs (with where they were stuck), leaks,
//! death tests (`signal`, `exit_code`, `stderr`), memory limits (`memory_limit`, `max_peak`) and a
//! flaky test that passes on a retry.
//!
//! Run: `cargo test -p isolated-test-examples --test demo`

use isolated_test::isolated_test;

#[isolated_test]
fn passes() {
    assert_eq!(["isolated", "test"].join("-"), "isolated-test");
}

#[isolated_test]
fn returns_ok() -> Result<(), String> {
    Ok(())
}

#[isolated_test]
fn returns_err() -> Result<(), String> {
    Err("the disk is full".to_owned())
}

#[isolated_test]
fn panics() {
    println!("about to check the answer");
    assert_eq!(6 * 7, 43, "the answer is wrong");
}

#[isolated_test]
#[should_panic(expected = "boom")]
fn should_panic_and_does() {
    panic!("boom")
}

#[should_panic(expected = "boom")]
#[isolated_test]
fn should_panic_but_returns() {}

#[isolated_test]
#[should_panic(expected = "boom")]
fn should_panic_with_another_message() {
    panic!("bang")
}

#[isolated_test]
fn segfaults() {
    // SAFETY: none; this test crashes on purpose.
    unsafe { std::ptr::null_mut::<u8>().write_volatile(1) };
}

#[isolated_test]
fn aborts() {
    std::process::abort();
}

#[isolated_test]
fn overflows_its_stack() {
    #[allow(unconditional_recursion)]
    fn recurse(depth: u64) -> u64 {
        let frame = std::hint::black_box([depth; 64]);
        recurse(depth + 1) + frame[0]
    }
    recurse(0);
}

#[isolated_test]
fn exits_zero() {
    std::process::exit(0);
}

#[isolated_test]
fn exits_three() {
    std::process::exit(3);
}

/// A death test: it passes only if its child is killed by SIGSEGV.
#[isolated_test(signal = "SIGSEGV")]
fn should_segfault_and_does() {
    // SAFETY: none; this test crashes on purpose.
    unsafe { std::ptr::null_mut::<u8>().write_volatile(1) };
}

/// Dies, but by another signal: it fails, naming both.
#[isolated_test(signal = "SIGSEGV")]
fn should_segfault_but_aborts() {
    std::process::abort();
}

/// Passes only if the child exits with exactly this status before the body finishes.
#[isolated_test(exit_code = 3)]
fn should_exit_three_and_does() {
    std::process::exit(3);
}

/// The death must come with a message on stderr that matches the regex.
#[isolated_test(signal = "SIGABRT", stderr = r"^invariant broken: \d+ items")]
fn should_abort_saying_why() {
    eprintln!("invariant broken: 3 items in an empty list");
    std::process::abort();
}

#[isolated_test]
fn sends_no_result() {
    // SAFETY: closes the descriptors above stderr, the result channel among them.
    unsafe { libc::close_range(3, u32::MAX, 0) };
}

#[isolated_test]
fn sends_garbage() {
    // Writes into every pipe this process may write to above stderr: the result channel is one.
    for fd in 3..64 {
        // SAFETY: F_GETFL and write on a descriptor number only fail if it is not open.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFL);
            if flags >= 0 && flags & libc::O_ACCMODE == libc::O_WRONLY {
                libc::write(fd, b"garbage".as_ptr().cast(), 7);
            }
        }
    }
}

/// Spins until a flag is set; nothing sets it.
#[inline(never)]
fn wait_until_ready(ready: &std::sync::atomic::AtomicBool) {
    while !ready.load(std::sync::atomic::Ordering::Acquire) {}
}

/// Killed at its timeout; the failure shows where it was stuck.
#[isolated_test(timeout = "500ms")]
fn hangs() {
    let ready = std::sync::atomic::AtomicBool::new(false);
    wait_until_ready(&ready);
}

/// Lost: nothing points at the buffer any more.
#[isolated_test]
fn leaks() {
    std::mem::forget(vec![0u8; 1024]);
}

static CACHE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// Still reachable from a static: not a leak.
#[isolated_test]
fn keeps_a_cache_in_a_static() {
    CACHE.get_or_init(|| vec![0u8; 1024]);
}

#[isolated_test(leak_limit = 4096)]
fn leaks_under_its_limit() {
    std::mem::forget(vec![0u8; 1024]);
}

#[isolated_test(allow_leaks)]
fn leaks_allowed() {
    std::mem::forget(vec![0u8; 1024]);
}

/// The 32 MiB allocation is refused inside the allocator, and the test fails.
#[isolated_test(memory_limit = "16MiB")]
fn exceeds_its_memory_limit() {
    let big = vec![0u8; 32 << 20];
    std::hint::black_box(big);
}

/// Freed again before the end, but its heap peaked at 16 MiB.
#[isolated_test(max_peak = "8MiB")]
fn peaks_over_its_max_peak() {
    let big = vec![0u8; 16 << 20];
    std::hint::black_box(big);
}

/// Fails its first attempt and passes its second: ok, with a FLAKY note after the summary.
#[isolated_test(retries = 2)]
fn fails_once() {
    // Counts attempts in a file named after this run's harness, the parent of every attempt.
    let path = std::env::temp_dir().join(format!(
        "isolated-test-demo-flaky-{}",
        std::os::unix::process::parent_id()
    ));
    let attempt = std::fs::read_to_string(&path).map_or(0, |text| text.parse().unwrap()) + 1;
    std::fs::write(&path, attempt.to_string()).unwrap();
    assert!(attempt >= 2, "the first attempt fails");
    std::fs::remove_file(&path).unwrap();
}

#[isolated_test]
#[ignore = "needs a database"]
fn ignored() {}

mod inner {
    use isolated_test::isolated_test;

    #[isolated_test]
    fn prints_and_passes() {
        println!("this output is shown only with --show-output");
    }
}

isolated_test::main!();
