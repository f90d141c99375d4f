//! The spin lock a tracked run takes inside the allocator (its table, its heap): it spins a
//! little, then yields the processor. A test may run more allocating threads than there are
//! cores; were the holder preempted, pure spinning would burn every waiter's time slice before
//! it ran again (eight threads on two cores: three times an untracked run's time).

use std::sync::atomic::{AtomicBool, Ordering};

/// Spins this many times before yielding: a holder that runs lets go within them.
const SPINS: u32 = 64;

/// Takes `lock`. Allocates nothing (`sched_yield` on Unix, `SwitchToThread` on Windows).
pub(crate) fn lock(lock: &AtomicBool) {
    let mut spins = 0;
    while lock
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        if spins < SPINS {
            spins += 1;
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

pub(crate) fn unlock(lock: &AtomicBool) {
    lock.store(false, Ordering::Release);
}
