//! The child's code that must never allocate: it runs inside the global allocator, in a signal
//! handler, or while the test's other threads are stopped (one may hold the C library's heap
//! lock). Nothing here calls `Box`, `Vec` or `String`, takes a lock that allocating code takes,
//! or panics; memory it needs is a static, on its stack, or mapped with `mmap` ([`mapped`]).
//!
//! On Windows, `stop` and `stuck` have twins in `windows/`, and no scan runs (see
//! `child::leak_sites`).
//!
//! Its system calls stay raw `libc` where nix's would not fit: the signals it sends are real-time
//! ones, which nix's `Signal` cannot name; its descriptors are numbers a test may close, which
//! nix's `BorrowedFd`-taking calls assume open; its memory reads and maps work on raw addresses.

pub(crate) mod channel;
pub(crate) mod counter;
pub(crate) mod counting;
pub(crate) mod counting_system;
pub(crate) mod fast_path;
pub(crate) mod forward;
pub(crate) mod harness_addresses;
#[cfg(unix)]
pub(crate) mod held;
pub(crate) mod mapped;
#[cfg(unix)]
pub(crate) mod scan;
pub(crate) mod spin;
#[cfg(unix)]
pub(crate) mod stop;
#[cfg(windows)]
#[path = "windows/stop.rs"]
pub(crate) mod stop;
#[cfg(unix)]
pub(crate) mod stuck;
#[cfg(windows)]
#[path = "windows/stuck.rs"]
pub(crate) mod stuck;
pub(crate) mod table;
#[cfg(unix)]
pub(crate) mod touched;
pub(crate) mod tracking_heap;
