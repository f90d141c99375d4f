//! The seeds' scenario: a third-party function that leaks on every call, called 1,000 times
//! through `isolated_test::isolate`. Each call runs in a forked child, so the leaks die with the
//! children and the caller's heap stays where it was.
//!
//! `cargo run -p isolated-test-examples --example leaky_calls`

use isolated_test::isolate;

/// A library function that keeps a kilobyte it never frees, every time it is called.
fn leaky_compute(n: u64) -> u64 {
    let scratch: &'static mut [u64] = Box::leak(vec![n; 128].into_boxed_slice());
    scratch.iter().sum::<u64>() / 128 * 2
}

/// The bytes the C library's heap holds in use (glibc's `mallinfo2`).
fn live_heap() -> usize {
    // SAFETY: `mallinfo2` only reads the allocator's statistics.
    unsafe { libc::mallinfo2() }.uordblks
}

fn main() {
    // The first call sets up what std keeps for good (stdout's buffer, say): measure after it.
    let mut total = isolate(|| leaky_compute(0)).expect("the call returns its value");
    let before = live_heap();
    for n in 1..1_000 {
        total += isolate(|| leaky_compute(n)).expect("the call returns its value");
    }
    let after = live_heap();
    println!("sum of 1000 results: {total}");
    println!("live heap before: {before} bytes");
    println!("live heap after:  {after} bytes");
    assert_eq!(before, after, "the caller's heap grew");
    println!("the caller's heap is where it was: the 1000 leaks died with their children");
}
