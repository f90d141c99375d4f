//! Frames as a user reads them, in either process: the harness shows where a timed-out test was
//! stuck, a tracked child where leaked blocks came from.

/// One frame of a backtrace, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    /// The demangled function name, without its hash.
    pub(crate) function: String,
    /// `file:line:column`, where the debug info says.
    pub(crate) location: Option<String>,
}

/// A path as a user reads it: relative to the working directory, or from `library/` for std.
pub(crate) fn shorten(path: &std::path::Path) -> String {
    if let Ok(cwd) = std::env::current_dir() {
        if let Ok(relative) = path.strip_prefix(&cwd) {
            return relative.display().to_string();
        }
    }
    let text = path.display().to_string();
    match text.find("/library/") {
        Some(at) if text.starts_with("/rustc/") => text[at + 1..].to_owned(),
        _ => text,
    }
}

/// The frames of the test's own code in a backtrace the stuck-signal handler took: after the
/// handler and the signal's trampoline, up to the body `#[isolated_test]` wraps.
pub(crate) fn test_frames(frames: &[Frame]) -> &[Frame] {
    let after_handler = frames
        .iter()
        .position(|frame| frame.function.ends_with("on_stuck"))
        .map_or(0, |at| at + 1);
    let mut frames = &frames[after_handler..];
    // The signal's trampoline: named where libc's symbols say, a bare address where not.
    if frames.first().is_some_and(|frame| {
        frame.function.contains("__restore_rt") || frame.function.starts_with("0x")
    }) {
        frames = &frames[1..];
    }
    let end = frames
        .iter()
        .position(|frame| frame.function.ends_with("__isolated_test_body"))
        .unwrap_or(frames.len());
    &frames[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str) -> Frame {
        Frame {
            function: function.to_owned(),
            location: None,
        }
    }

    #[test]
    fn the_test_frames_lie_between_the_trampoline_and_the_body() {
        let frames = [
            frame("backtrace::backtrace::trace_unsynchronized"),
            frame("isolated_test::child::no_alloc::stuck::on_stuck"),
            frame("0x7f8982d44050"),
            frame("std::thread::sleep"),
            frame("suite::hangs"),
            frame("suite::hangs::_::__isolated_test_body"),
            frame("std::panicking::catch_unwind"),
        ];
        let shown: Vec<&str> = test_frames(&frames)
            .iter()
            .map(|frame| frame.function.as_str())
            .collect();
        assert_eq!(shown, ["std::thread::sleep", "suite::hangs"]);
    }
}
