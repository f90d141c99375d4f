//! Every outcome isolated-test reports, each as a user sees it. Half of these fail on purpose.
//!
//! Run: `cargo test -p isolated-test-examples --test demo`

use isolated_test::isolated_test;

#[isolated_test]
fn passes() {
    assert_eq!(1 + 1, 2);
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

#[isolated_test(timeout = "500ms")]
fn hangs() {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

#[isolated_test]
fn leaks() {
    std::mem::forget(vec![0u8; 1024]);
}

#[isolated_test(leak_limit = 4096)]
fn leaks_under_its_limit() {
    std::mem::forget(vec![0u8; 1024]);
}

#[isolated_test(allow_leaks)]
fn leaks_allowed() {
    std::mem::forget(vec![0u8; 1024]);
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
