//! A panic's backtrace, named in the harness instead of in each child.
//!
//! With `RUST_BACKTRACE=1` std's panic hook names every frame of a panic's backtrace, loading
//! the binary's debug info the first time: once per process. libtest pays that once a run; a
//! forked child would pay it for each panicking test (0.15-0.34 s on a 60 MB debug binary, where
//! libtest's later panics take a millisecond). So where the harness captures a forked child's
//! stderr, the child's hook writes std's header itself, and in place of the backtrace a marker
//! line with the frames' return addresses ([`marker_line`]). The harness's symboliser, which
//! loads the debug info once a run, names them, and [`render_short`] writes the backtrace as
//! std would have, byte for byte, where the marker was.
//!
//! Off elsewhere: under `--nocapture` (nothing reads the stream before the user does), under the
//! exec backend (the child's addresses are not the symboliser's), off Linux, and without the
//! `symbols` feature (nothing could name the frames).

#[cfg(feature = "symbols")]
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[cfg(feature = "symbols")]
use backtrace::{BacktraceFmt, BytesOrWideString, PrintFmt, SymbolName};

/// What starts a marker line; the run's key follows, so that no test's own output is taken for
/// one.
const MARKER_START: &str = "isolated-test: unnamed backtrace ";

/// std prints at most this many frames of a short backtrace (its `MAX_NB_FRAMES`, counted over
/// every frame, hidden or not).
pub(crate) const MOST_FRAMES: usize = 100;

/// The run's key, in every marker; 0 while markers are off.
static KEY: AtomicU64 = AtomicU64::new(0);

/// Turns markers on for the children forked from now on. Call in the harness, before the first
/// fork, where it captures their stderr.
#[cfg(unix)]
pub(crate) fn turn_on() {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    KEY.store(hasher.finish() | 1, Relaxed);
}

/// Turns markers off in this process and those it forks from now on: for a child whose stderr
/// the harness does not read (an isolated call's, which `isolate` captures itself).
#[cfg(unix)]
pub(crate) fn turn_off() {
    KEY.store(0, Relaxed);
}

/// The run's key, where markers are on.
pub(crate) fn key() -> Option<u64> {
    Some(KEY.load(Relaxed)).filter(|&key| key != 0)
}

/// The line that stands for a backtrace of `addresses` (return addresses, innermost first) taken
/// in `cwd`: std writes paths under the working directory relative to it.
pub(crate) fn marker_line(key: u64, addresses: &[u64], cwd: Option<&str>) -> String {
    let addresses: Vec<String> = addresses.iter().map(|ip| format!("{ip:x}")).collect();
    // A working directory with a line break in it is not said: its paths are written whole.
    let cwd = cwd.filter(|cwd| !cwd.contains('\n')).unwrap_or("");
    format!("{MARKER_START}{key:x} {} {cwd}\n", addresses.join(","))
}

/// A marker line, read back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Marker {
    pub(crate) addresses: Vec<u64>,
    pub(crate) cwd: Option<String>,
}

/// The marker `line` (without its line break) is, if it is one of this run's.
pub(crate) fn parse_marker(line: &[u8], key: u64) -> Option<Marker> {
    let rest = line.strip_prefix(MARKER_START.as_bytes())?;
    let rest = std::str::from_utf8(rest).ok()?;
    let (their_key, rest) = rest.split_once(' ')?;
    if u64::from_str_radix(their_key, 16).ok()? != key {
        return None;
    }
    let (addresses, cwd) = rest.split_once(' ')?;
    let addresses = addresses
        .split(',')
        .filter(|address| !address.is_empty())
        .map(|address| u64::from_str_radix(address, 16).ok())
        .collect::<Option<Vec<u64>>>()?;
    Some(Marker {
        addresses,
        cwd: (!cwd.is_empty()).then(|| cwd.to_owned()),
    })
}

/// Whether `bytes` may hold a marker: the cheap test before any line is read.
pub(crate) fn may_hold_marker(bytes: &[u8]) -> bool {
    bytes
        .windows(MARKER_START.len())
        .any(|window| window == MARKER_START.as_bytes())
}

/// `bytes` with each of this run's marker lines replaced by `render`'s text for it; `None` where
/// there is none. A marker's line is whole or it is left as it is.
pub(crate) fn replace_markers(
    bytes: &[u8],
    key: u64,
    mut render: impl FnMut(&Marker) -> String,
) -> Option<Vec<u8>> {
    if !may_hold_marker(bytes) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut replaced = false;
    for line in bytes.split_inclusive(|&byte| byte == b'\n') {
        match line
            .strip_suffix(b"\n")
            .and_then(|line| parse_marker(line, key))
        {
            Some(marker) => {
                out.extend_from_slice(render(&marker).as_bytes());
                replaced = true;
            }
            None => out.extend_from_slice(line),
        }
    }
    replaced.then_some(out)
}

/// The addresses every marker in `bytes` names, each once.
pub(crate) fn marked_addresses(bytes: &[u8], key: u64) -> Vec<u64> {
    if !may_hold_marker(bytes) {
        return Vec::new();
    }
    let mut addresses: Vec<u64> = bytes
        .split_inclusive(|&byte| byte == b'\n')
        .filter_map(|line| parse_marker(line.strip_suffix(b"\n")?, key))
        .flat_map(|marker| marker.addresses)
        .collect();
    addresses.sort_unstable();
    addresses.dedup();
    addresses
}

/// One symbol at an address, as the symboliser found it: an address of inlined calls has several,
/// the innermost first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RawSymbol {
    /// As the binary has it (mangled): std's own demangling is applied when written.
    pub(crate) name: Option<Vec<u8>>,
    pub(crate) file: Option<String>,
    pub(crate) line: Option<u32>,
    pub(crate) column: Option<u32>,
}

impl RawSymbol {
    /// One line of the symboliser's answer: tab-separated, empty fields for what is unknown.
    pub(crate) fn to_line(&self, address: u64) -> String {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(['\t', '\n'], " ");
        format!(
            "{address:x}\t{}\t{}\t{}\t{}",
            self.name.as_deref().map(text).unwrap_or_default(),
            self.file
                .as_deref()
                .map(str::as_bytes)
                .map(text)
                .unwrap_or_default(),
            self.line.map(|line| line.to_string()).unwrap_or_default(),
            self.column
                .map(|column| column.to_string())
                .unwrap_or_default(),
        )
    }

    /// A line [`to_line`](Self::to_line) wrote: the address and its symbol.
    pub(crate) fn from_line(line: &str) -> Option<(u64, Self)> {
        let mut fields = line.split('\t');
        let address = u64::from_str_radix(fields.next()?, 16).ok()?;
        let mut field = || fields.next().filter(|field| !field.is_empty());
        let name = field().map(|name| name.as_bytes().to_vec());
        let file = field().map(str::to_owned);
        let line = field().and_then(|line| line.parse().ok());
        let column = field().and_then(|column| column.parse().ok());
        Some((
            address,
            Self {
                name,
                file,
                line,
                column,
            },
        ))
    }
}

/// The backtrace std's hook writes with `RUST_BACKTRACE=1` for `addresses`, each address's
/// symbols by `symbols_of` (none where it could not be named): the frames from the one after
/// `__rust_end_short_backtrace` to the one before `__rust_begin_short_backtrace`, paths under
/// `cwd` relative to it, and std's closing note.
#[cfg(feature = "symbols")]
pub(crate) fn render_short<'s>(
    addresses: &[u64],
    symbols_of: impl Fn(u64) -> &'s [RawSymbol],
    cwd: Option<&str>,
) -> String {
    ShortBacktrace {
        addresses,
        symbols_of: &symbols_of,
        cwd,
    }
    .to_string()
}

/// Without the `symbols` feature no marker is ever written ([`turn_on`] is never called), so
/// none is rendered.
#[cfg(not(feature = "symbols"))]
pub(crate) fn render_short<'s>(
    _addresses: &[u64],
    _symbols_of: impl Fn(u64) -> &'s [RawSymbol],
    _cwd: Option<&str>,
) -> String {
    unreachable!("a panic's backtrace marker without the `symbols` feature")
}

#[cfg(feature = "symbols")]
struct ShortBacktrace<'a, 's> {
    addresses: &'a [u64],
    symbols_of: &'a dyn Fn(u64) -> &'s [RawSymbol],
    cwd: Option<&'a str>,
}

#[cfg(feature = "symbols")]
impl fmt::Display for ShortBacktrace<'_, '_> {
    // std's `sys::backtrace::_print_fmt` in its short style, step for step, over frames already
    // taken; the frame and symbol lines are the `backtrace` crate's, which is std's own.
    fn fmt(&self, fmt: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Owned: the path printer must live as long as the formatter.
        let cwd = self.cwd.map(str::to_owned);
        let mut print_path = move |fmt: &mut fmt::Formatter<'_>, path: BytesOrWideString<'_>| {
            write_path(fmt, path, cwd.as_deref())
        };
        writeln!(fmt, "stack backtrace:")?;
        let mut frames = BacktraceFmt::new(fmt, PrintFmt::Short, &mut print_path);
        frames.add_context()?;
        let mut print = false;
        let mut omitted: usize = 0;
        let mut first_omit = true;
        for (index, &address) in self.addresses.iter().enumerate() {
            if index > MOST_FRAMES {
                break;
            }
            let ip = std::ptr::without_provenance_mut(address as usize);
            let symbols = (self.symbols_of)(address);
            for symbol in symbols {
                let name = symbol.name.as_deref().map(SymbolName::new);
                if let Some(name) = name.as_ref().and_then(SymbolName::as_str) {
                    if name.contains("__rust_end_short_backtrace") {
                        print = true;
                        continue;
                    }
                    if print && name.contains("__rust_begin_short_backtrace") {
                        print = false;
                        continue;
                    }
                    if !print {
                        omitted += 1;
                    }
                }
                if print {
                    if omitted > 0 {
                        if !first_omit {
                            let plural = if omitted > 1 { "s" } else { "" };
                            writeln!(
                                frames.formatter(),
                                "      [... omitted {omitted} frame{plural} ...]"
                            )?;
                        }
                        first_omit = false;
                        omitted = 0;
                    }
                    let file = symbol
                        .file
                        .as_deref()
                        .map(|file| BytesOrWideString::Bytes(file.as_bytes()));
                    frames.frame().print_raw_with_column(
                        ip,
                        name,
                        file,
                        symbol.line,
                        symbol.column,
                    )?;
                }
            }
            if symbols.is_empty() && print {
                frames.frame().print_raw(ip, None, None, None)?;
            }
        }
        frames.finish()?;
        writeln!(
            fmt,
            "note: Some details are omitted, \
             run with `RUST_BACKTRACE=full` for a verbose backtrace."
        )
    }
}

/// std's `output_filename` in its short style: an absolute path under the working directory
/// is written from `./`.
#[cfg(feature = "symbols")]
fn write_path(
    fmt: &mut fmt::Formatter<'_>,
    path: BytesOrWideString<'_>,
    cwd: Option<&str>,
) -> fmt::Result {
    let path = path.into_path_buf();
    if path.is_absolute() {
        if let Some(relative) = cwd.and_then(|cwd| path.strip_prefix(cwd).ok()) {
            if let Some(relative) = relative.to_str() {
                return write!(fmt, ".{}{relative}", std::path::MAIN_SEPARATOR);
            }
        }
    }
    fmt::Display::fmt(&path.display(), fmt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbol(name: &str, file: Option<&str>, line: Option<u32>) -> RawSymbol {
        RawSymbol {
            name: Some(name.as_bytes().to_vec()),
            file: file.map(str::to_owned),
            line,
            column: line.map(|_| 5),
        }
    }

    #[test]
    fn a_marker_line_reads_back_with_its_key_only() {
        let line = marker_line(0xabc, &[0x10, 0x2f], Some("/home/u/my crate"));
        assert!(line.ends_with('\n'));
        let line = line.trim_end_matches('\n').as_bytes();
        assert_eq!(
            parse_marker(line, 0xabc),
            Some(Marker {
                addresses: vec![0x10, 0x2f],
                cwd: Some("/home/u/my crate".to_owned()),
            })
        );
        assert_eq!(parse_marker(line, 0xabd), None);
        let no_cwd = marker_line(1, &[0x10], None);
        assert_eq!(
            parse_marker(no_cwd.trim_end().as_bytes(), 1).and_then(|marker| marker.cwd),
            None
        );
    }

    #[test]
    fn markers_are_replaced_in_place_and_other_lines_kept() {
        let text = format!(
            "before\n{}{}after",
            marker_line(7, &[1, 2], None),
            marker_line(8, &[3], None)
        );
        let replaced = replace_markers(text.as_bytes(), 7, |marker| {
            format!("frames {:?}\n", marker.addresses)
        })
        .unwrap();
        let expected = format!("before\nframes [1, 2]\n{}after", marker_line(8, &[3], None));
        assert_eq!(String::from_utf8(replaced).unwrap(), expected);
        assert_eq!(
            replace_markers(b"nothing here\n", 7, |_| String::new()),
            None
        );
        assert_eq!(marked_addresses(text.as_bytes(), 7), [1, 2]);
    }

    #[test]
    fn a_symbol_line_reads_back() {
        let full = symbol(
            "_ZN4core9panicking9panic_fmt17h0E",
            Some("/a/b.rs"),
            Some(3),
        );
        assert_eq!(
            RawSymbol::from_line(&full.to_line(0x1f)),
            Some((0x1f, full))
        );
        let bare = RawSymbol::default();
        assert_eq!(
            RawSymbol::from_line(&bare.to_line(0x20)),
            Some((0x20, bare))
        );
    }

    // Unix paths: an absolute one under the working directory is written from `./`. (Markers are
    // on only on Linux, with the `symbols` feature.)
    #[cfg(all(unix, feature = "symbols"))]
    #[test]
    fn a_short_backtrace_is_the_frames_between_the_markers_in_stds_layout() {
        let table = [
            vec![symbol("isolated_test::child::hooks::hook", None, None)],
            vec![symbol(
                "std::sys::backtrace::__rust_end_short_backtrace",
                None,
                None,
            )],
            vec![symbol(
                "__rustc::rust_begin_unwind",
                Some("/rustc/x/library/std/src/panicking.rs"),
                Some(689),
            )],
            vec![],
            vec![
                symbol("suite::inner", Some("/home/u/c/src/lib.rs"), Some(4)),
                symbol("suite::outer", Some("/home/u/c/src/lib.rs"), Some(9)),
            ],
            vec![symbol(
                "std::sys::backtrace::__rust_begin_short_backtrace",
                None,
                None,
            )],
            vec![symbol("std::rt::lang_start", None, None)],
        ];
        let addresses: Vec<u64> = (1..=table.len() as u64).collect();
        let text = render_short(
            &addresses,
            |address| &table[address as usize - 1],
            Some("/home/u/c"),
        );
        assert_eq!(
            text,
            "stack backtrace:\n\
             \x20  0: __rustc::rust_begin_unwind\n\
             \x20            at /rustc/x/library/std/src/panicking.rs:689:5\n\
             \x20  1: <unknown>\n\
             \x20  2: suite::inner\n\
             \x20            at ./src/lib.rs:4:5\n\
             \x20  3: suite::outer\n\
             \x20            at ./src/lib.rs:9:5\n\
             note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.\n"
        );
    }
}
