//! The child's code that must never allocate: it runs inside the global allocator, in a signal
//! handler, or while the test's other threads are stopped (one may hold the C library's heap
//! lock). Nothing here calls `Box`, `Vec` or `String`, takes a lock that allocating code takes,
//! or panics; memory it needs is a static, on its stack, or mapped with `mmap` ([`mapped`]).

pub(crate) mod channel;
pub(crate) mod counter;
pub(crate) mod counting;
pub(crate) mod fast_path;
pub(crate) mod forward;
pub(crate) mod held;
pub(crate) mod mapped;
pub(crate) mod scan;
pub(crate) mod stop;
pub(crate) mod stuck;
pub(crate) mod table;
pub(crate) mod tracking_heap;
