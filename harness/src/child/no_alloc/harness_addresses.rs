//! Return addresses as the harness reads them. The harness names the frames a child sends (where
//! a timed-out test was stuck, where leaked blocks came from) with its own debug info, at its own
//! addresses. A forked child's addresses are the harness's: it has the same mappings. A
//! re-executed child's are not: the loader placed the same executable and libraries elsewhere.
//! Such a child shifts each address in an object the harness has too by the distance between the
//! two copies, and leaves out an address elsewhere, which the harness could not name.
//! [`as_harness`] reads atomics only: it runs in a signal handler.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// The most objects (the executable, its shared libraries) whose addresses are shifted.
const MOST_OBJECTS: usize = 32;

/// Per object of this process that the harness has too: its span `[start, end)` and what to add
/// to an address in it to make it the harness's. Written once, before the test starts.
static OBJECTS: [[AtomicU64; 3]; MOST_OBJECTS] =
    [const { [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)] }; MOST_OBJECTS];
/// How many of `OBJECTS` hold one; `usize::MAX` in a forked child, which shifts nothing.
static OBJECT_COUNT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// One loaded object: its name as the dynamic loader gives it (empty for the executable), its
/// load bias, and its loaded segments' span.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct LoadedObject {
    pub(crate) name: String,
    pub(crate) bias: u64,
    pub(crate) span: (u64, u64),
}

/// In a re-executed child: its addresses are to be shifted to the harness's, whose objects are
/// `harness`.
pub(crate) fn translate_for(harness: &[LoadedObject]) {
    let mut count = 0;
    for own in loaded_objects() {
        let Some(theirs) = harness.iter().find(|object| object.name == own.name) else {
            continue;
        };
        if count == MOST_OBJECTS {
            break;
        }
        let [start, end, shift] = &OBJECTS[count];
        start.store(own.span.0, Relaxed);
        end.store(own.span.1, Relaxed);
        shift.store(theirs.bias.wrapping_sub(own.bias), Relaxed);
        count += 1;
    }
    OBJECT_COUNT.store(count, Relaxed);
}

/// The harness's address for `address`, or `None` where it has none.
#[cfg(unix)]
pub(crate) fn as_harness(address: u64) -> Option<u64> {
    let count = OBJECT_COUNT.load(Relaxed);
    if count == usize::MAX {
        return Some(address);
    }
    OBJECTS[..count.min(MOST_OBJECTS)]
        .iter()
        .find(|[start, end, _]| (start.load(Relaxed)..end.load(Relaxed)).contains(&address))
        .map(|[_, _, shift]| address.wrapping_add(shift.load(Relaxed)))
}

/// Keeps the first `count` of `frames` as the harness's addresses, in order, the ones it has none
/// for left out; returns how many are kept. For the stuck frames, which only Linux sends.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn translate_in_place(frames: &mut [u64], count: usize) -> usize {
    let mut kept = 0;
    for at in 0..count.min(frames.len()) {
        if let Some(address) = as_harness(frames[at]) {
            frames[kept] = address;
            kept += 1;
        }
    }
    kept
}

/// The objects loaded in this process, as the dynamic loader lists them. Allocates: called in
/// the harness, and in a child before its test starts.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
pub(crate) fn loaded_objects() -> Vec<LoadedObject> {
    let mut objects: Vec<LoadedObject> = Vec::new();
    // SAFETY: the callback only reads the headers `dl_iterate_phdr` hands it, during the call,
    // and pushes to `objects` through the pointer passed as its data.
    unsafe {
        libc::dl_iterate_phdr(
            Some(list_object),
            &mut objects as *mut Vec<LoadedObject> as *mut libc::c_void,
        )
    };
    objects
}

/// Where `dl_iterate_phdr` is not had, none: a re-executed child's frames go unnamed.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
pub(crate) fn loaded_objects() -> Vec<LoadedObject> {
    Vec::new()
}

/// `dl_iterate_phdr`'s callback: each object's name, bias and the span of its loaded segments
/// go to `data`.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
unsafe extern "C" fn list_object(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut libc::c_void,
) -> libc::c_int {
    // SAFETY: `dl_iterate_phdr` passes a valid `info`, and `data` is the `Vec` that
    // `loaded_objects` passed.
    let (info, objects) = unsafe { (&*info, &mut *(data as *mut Vec<LoadedObject>)) };
    let name = match info.dlpi_name.is_null() {
        true => String::new(),
        // SAFETY: a non-null `dlpi_name` is a C string the loader keeps.
        false => unsafe { std::ffi::CStr::from_ptr(info.dlpi_name) }
            .to_string_lossy()
            .into_owned(),
    };
    // SAFETY: `dlpi_phdr` points to `dlpi_phnum` program headers.
    let headers = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
    let bias = info.dlpi_addr as usize;
    let mut span: Option<(u64, u64)> = None;
    for header in headers
        .iter()
        .filter(|header| header.p_type == libc::PT_LOAD)
    {
        let start = (bias + header.p_vaddr as usize) as u64;
        let end = start + header.p_memsz as usize as u64;
        let (low, high) = span.unwrap_or((start, end));
        span = Some((low.min(start), high.max(end)));
    }
    if let Some(span) = span {
        objects.push(LoadedObject {
            name,
            bias: bias as u64,
            span,
        });
    }
    0
}

#[cfg(all(
    test,
    any(target_os = "linux", target_os = "android", target_os = "freebsd")
))]
mod tests {
    use super::*;

    #[test]
    fn the_executable_comes_first_and_holds_this_code() {
        let objects = loaded_objects();
        let executable = &objects[0];
        assert_eq!(executable.name, "");
        let here = the_executable_comes_first_and_holds_this_code as fn() as usize as u64;
        assert!((executable.span.0..executable.span.1).contains(&here));
        assert!(objects.iter().any(|object| object.name.contains("libc")));
    }

    #[test]
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn a_forked_child_shifts_nothing() {
        assert_eq!(as_harness(0x1234), Some(0x1234));
        let mut frames = [1, 2, 3, 0];
        assert_eq!(translate_in_place(&mut frames, 3), 3);
        assert_eq!(frames, [1, 2, 3, 0]);
    }
}
