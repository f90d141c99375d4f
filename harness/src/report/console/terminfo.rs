//! libtest's colours, byte for byte: libtest colours its words through the terminfo entry of
//! `$TERM` (`setaf` before a word, `sgr0` after it), found where libtest looks and read as libtest
//! reads it. Where it finds no entry (`TERM` unset, or a terminal the database does not know),
//! libtest writes no colour at all, whatever `--color` says; a terminal without colours (`vt100`)
//! still gets the reset after each word.

use std::path::{Path, PathBuf};

use crate::config::Env;

/// libtest's colours, as terminfo numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Colour {
    Red = 1,
    Green = 2,
    Yellow = 3,
}

/// What libtest writes around a coloured word on this terminal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Palette {
    /// `setaf` expanded for red, green and yellow: empty where the terminal has fewer colours or
    /// no `setaf`.
    set: [String; 3],
    /// `sgr0` (else `sgr`, else `op`) expanded: empty where the terminal has none.
    reset: String,
    /// The terminal's `colors`, where it also has `setaf` and `setab`; 0 otherwise.
    colours: u32,
}

impl Palette {
    /// The palette of `$TERM`'s terminfo entry; `None` where libtest finds none.
    pub(crate) fn from_env(env: Env) -> Option<Self> {
        let term = env("TERM")?;
        let entry = dbpath(&term, env)
            .and_then(|path| std::fs::read(path).ok())
            .and_then(|bytes| Entry::parse(&bytes));
        match entry {
            Some(entry) => Some(Self::of(&entry)),
            // libtest's stand-in for the terminal of MSYS2's mintty.
            None if env("MSYSCON").as_deref() == Some("mintty.exe") => {
                Some(Self::of(&Entry::mintty()))
            }
            None => None,
        }
    }

    fn of(entry: &Entry) -> Self {
        let string = |index: usize| entry.strings.get(index).and_then(Option::as_ref);
        let colours = match (string(SETAF), string(SETAB)) {
            (Some(_), Some(_)) => entry.colours.unwrap_or(0),
            _ => 0,
        };
        let set = |colour: Colour| match string(SETAF) {
            Some(setaf) if colours > colour as u32 => {
                expand(setaf, colour as i32).unwrap_or_default()
            }
            _ => String::new(),
        };
        let reset = [SGR0, SGR, OP]
            .into_iter()
            .find_map(string)
            .and_then(|reset| expand(reset, 0))
            .unwrap_or_default();
        Self {
            set: [Colour::Red, Colour::Green, Colour::Yellow].map(set),
            reset,
            colours,
        }
    }

    /// `text` as libtest writes a coloured word.
    pub(crate) fn paint(&self, text: &str, colour: Colour) -> String {
        format!("{}{text}{}", self.set[colour as usize - 1], self.reset)
    }

    /// Whether the terminal takes colours: isolated-test's own text is coloured only then.
    pub(crate) fn has_colours(&self) -> bool {
        self.colours > 0
    }
}

/// `text` in `colour` where libtest's words are coloured (`palette`), as they are otherwise.
pub(crate) fn paint(text: &str, colour: Colour, palette: Option<&Palette>) -> String {
    match palette {
        Some(palette) => palette.paint(text, colour),
        None => text.to_owned(),
    }
}

/// Where `term`'s entry is: under `$TERMINFO`, then each of `$TERMINFO_DIRS` (an empty one is
/// `/usr/share/terminfo`) or, without it, `~/.terminfo` and the system's folders, in libtest's
/// order; in each, under the name's first letter or that letter in hex.
fn dbpath(term: &str, env: Env) -> Option<PathBuf> {
    let first = term.chars().next()?;
    let mut folders: Vec<PathBuf> = env("TERMINFO").map(PathBuf::from).into_iter().collect();
    match env("TERMINFO_DIRS") {
        Some(dirs) => folders.extend(dirs.split(':').map(|dir| match dir {
            "" => PathBuf::from("/usr/share/terminfo"),
            dir => PathBuf::from(dir),
        })),
        None => {
            let home = env("HOME").filter(|home| !home.is_empty());
            folders.extend(home.map(|home| Path::new(&home).join(".terminfo")));
            folders.extend(
                [
                    "/etc/terminfo",
                    "/lib/terminfo",
                    "/usr/share/terminfo",
                    "/boot/system/data/terminfo",
                ]
                .map(PathBuf::from),
            );
        }
    }
    folders
        .into_iter()
        .filter(|folder| folder.exists())
        .flat_map(|folder| {
            [first.to_string(), format!("{:x}", first as u32)]
                .map(|sub| folder.join(sub).join(term))
        })
        .find(|path| path.exists())
}

/// The capabilities of term(5)'s compiled format read here, by index.
const COLORS: usize = 13;
const SGR0: usize = 39;
const SGR: usize = 131;
const OP: usize = 297;
const SETAF: usize = 359;
const SETAB: usize = 360;

/// How many booleans, numbers and strings libtest knows; an entry with more is refused.
const BOOLEANS: usize = 44;
const NUMBERS: usize = 39;
const STRINGS: usize = 414;

/// What is read of a compiled terminfo entry.
struct Entry {
    colours: Option<u32>,
    /// Every string capability, by index: `None` where absent, empty where cancelled.
    strings: Vec<Option<Vec<u8>>>,
}

impl Entry {
    /// A compiled entry (legacy or 32-bit numbers), checked as libtest checks it: `None` where
    /// libtest would refuse the file.
    fn parse(bytes: &[u8]) -> Option<Self> {
        let mut at = Reader(bytes);
        let extended = match at.u16()? {
            0o432 => false,
            0o1036 => true,
            _ => return None,
        };
        let mut count = || match at.u16()? as i16 {
            -1 => Some(0),
            n if n >= 0 => Some(n as usize),
            _ => None,
        };
        let (names, booleans, numbers, strings, table) =
            (count()?, count()?, count()?, count()?, count()?);
        if names == 0 || booleans > BOOLEANS || numbers > NUMBERS || strings > STRINGS {
            return None;
        }
        std::str::from_utf8(at.take(names - 1)?).ok()?;
        if at.take(1)? != [0] {
            return None;
        }
        at.take(booleans + (names + booleans) % 2)?;
        let mut colours = None;
        for index in 0..numbers {
            let number = if extended {
                at.u32()?
            } else {
                at.u16()?.into()
            };
            if index == COLORS && number != 0xFFFF {
                colours = Some(number);
            }
        }
        let offsets: Vec<u16> = (0..strings).map(|_| at.u16()).collect::<Option<_>>()?;
        // A short table is read as far as it goes, and fails only where a string is looked up.
        let table = &at.0[..table.min(at.0.len())];
        let strings = offsets
            .into_iter()
            .map(|offset| match offset {
                0xFFFF => Some(None),
                0xFFFE => Some(Some(Vec::new())),
                offset => {
                    let rest = table.get(offset as usize..)?;
                    let end = rest.iter().position(|&byte| byte == 0)?;
                    Some(Some(rest[..end].to_vec()))
                }
            })
            .collect::<Option<_>>()?;
        Some(Self { colours, strings })
    }

    /// libtest's built-in entry for mintty: eight colours, but no `setab`.
    fn mintty() -> Self {
        let mut strings = vec![None; STRINGS];
        strings[SGR0] = Some(b"\x1b[0m".to_vec());
        strings[SETAF] = Some(b"\x1b[3%p1%dm".to_vec());
        Self {
            colours: Some(8),
            strings,
        }
    }
}

/// Little-endian fields, front to back.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.0.split_at_checked(length)?;
        self.0 = rest;
        Some(taken)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
}

/// A parameterised terminfo string expanded as libtest expands it, with `first` as `%p1` (every
/// other parameter 0); `None` where libtest reports an error.
fn expand(capability: &[u8], first: i32) -> Option<String> {
    let mut machine = Machine {
        params: [first, 0, 0, 0, 0, 0, 0, 0, 0],
        stack: Vec::new(),
        variables: [0; 52],
        output: Vec::new(),
    };
    machine.run(capability)?;
    Some(String::from_utf8_lossy(&machine.output).into_owned())
}

/// terminfo's stack machine (term(5), "Parameterized Strings").
struct Machine {
    params: [i32; 9],
    stack: Vec<i32>,
    /// `%Pa`..`%Pz`, then `%PA`..`%PZ`.
    variables: [i32; 52],
    output: Vec<u8>,
}

impl Machine {
    fn run(&mut self, code: &[u8]) -> Option<()> {
        let mut at = 0;
        while let Some(&byte) = code.get(at) {
            at += 1;
            if byte != b'%' {
                self.output.push(byte);
                continue;
            }
            let Some(&op) = code.get(at) else { break };
            at += 1;
            at = self.escape(op, code, at)?;
        }
        Some(())
    }

    /// Runs the escape `%OP` whose operands start at `at`; returns where the next byte is.
    fn escape(&mut self, op: u8, code: &[u8], mut at: usize) -> Option<usize> {
        match op {
            b'%' => self.output.push(b'%'),
            b'c' => {
                let value = self.stack.pop()?;
                self.output.push(if value == 0 { 128 } else { value as u8 });
            }
            // An operand cut off by the end of the string ends it quietly, as in libtest.
            b'p' | b'P' | b'g' | b'\'' if at == code.len() => {}
            b'p' => {
                let digit = (code[at] as char).to_digit(10)? as usize;
                self.stack.push(*self.params.get(digit.checked_sub(1)?)?);
                at += 1;
            }
            b'P' | b'g' => {
                let slot = variable(code[at])?;
                if op == b'P' {
                    self.variables[slot] = self.stack.pop()?;
                } else {
                    self.stack.push(self.variables[slot]);
                }
                at += 1;
            }
            b'\'' => {
                self.stack.push(code[at] as i32);
                if code.get(at + 1).is_some_and(|&close| close != b'\'') {
                    return None;
                }
                at += 2;
            }
            b'{' => {
                let mut value: i32 = 0;
                loop {
                    let Some(&byte) = code.get(at) else {
                        return Some(at);
                    };
                    at += 1;
                    match byte {
                        b'}' => break,
                        b'0'..=b'9' => {
                            value = value.checked_mul(10)?.checked_add((byte - b'0') as i32)?
                        }
                        _ => return None,
                    }
                }
                self.stack.push(value);
            }
            b'+' | b'-' | b'*' | b'/' | b'm' | b'&' | b'|' | b'^' | b'=' | b'<' | b'>' | b'A'
            | b'O' => {
                let (y, x) = (self.stack.pop()?, self.stack.pop()?);
                self.stack.push(binary(op, x, y)?);
            }
            b'!' => {
                let x = self.stack.pop()?;
                self.stack.push((x <= 0) as i32);
            }
            b'~' => {
                let x = self.stack.pop()?;
                self.stack.push(!x);
            }
            b'i' => {
                self.params[0] = self.params[0].wrapping_add(1);
                self.params[1] = self.params[1].wrapping_add(1);
            }
            b'?' | b';' => {}
            b't' => {
                if self.stack.pop()? == 0 {
                    at = skip(code, at, true);
                }
            }
            b'e' => at = skip(code, at, false),
            b'l' | b's' => return None,
            b'd' | b'o' | b'x' | b'X' => {
                let value = self.stack.pop()?;
                self.output.extend(Format::default().apply(value, op));
            }
            b':' | b'#' | b' ' | b'.' | b'0'..=b'9' => {
                let (format, conversion, next) = Format::read(op, code, at)?;
                if conversion != 0 {
                    let value = self.stack.pop()?;
                    if conversion == b's' {
                        return None;
                    }
                    self.output.extend(format.apply(value, conversion));
                }
                at = next;
            }
            _ => return None,
        }
        Some(at)
    }
}

/// `%Pa`'s slot.
fn variable(name: u8) -> Option<usize> {
    match name {
        b'a'..=b'z' => Some((name - b'a') as usize),
        b'A'..=b'Z' => Some(26 + (name - b'A') as usize),
        _ => None,
    }
}

fn binary(op: u8, x: i32, y: i32) -> Option<i32> {
    Some(match op {
        b'+' => x.wrapping_add(y),
        b'-' => x.wrapping_sub(y),
        b'*' => x.wrapping_mul(y),
        b'/' => x.checked_div(y)?,
        b'm' => x.checked_rem(y)?,
        b'&' => x & y,
        b'|' => x | y,
        b'^' => x ^ y,
        b'=' => (x == y) as i32,
        b'<' => (x < y) as i32,
        b'>' => (x > y) as i32,
        b'A' => (x > 0 && y > 0) as i32,
        _ => (x > 0 || y > 0) as i32,
    })
}

/// Past the branch not taken: from a false `%t` to its `%e` or `%;` (`to_else`), or from a
/// `%e` to its `%;`, stepping over nested `%?`s; returns where to go on.
fn skip(code: &[u8], mut at: usize, to_else: bool) -> usize {
    let mut depth = 0;
    while at < code.len() {
        let byte = code[at];
        at += 1;
        if byte != b'%' {
            continue;
        }
        let Some(&op) = code.get(at) else { break };
        at += 1;
        match op {
            b';' if depth == 0 => break,
            b';' => depth -= 1,
            b'e' if depth == 0 && to_else => break,
            b'?' => depth += 1,
            _ => {}
        }
    }
    at
}

/// Which part of a format its digits are.
#[derive(Clone, Copy)]
enum Part {
    Flags,
    Width,
    Precision,
}

/// printf's flags, width and precision, as terminfo takes them.
#[derive(Clone, Copy, Default)]
struct Format {
    width: usize,
    precision: usize,
    alternate: bool,
    left: bool,
    sign: bool,
    space: bool,
}

impl Format {
    /// The flags after `%` (the first of them `first`), up to the conversion; returns them,
    /// the conversion and where the next byte is. `None` where libtest refuses them; where the
    /// string ends first, the conversion is `0` and nothing is written.
    fn read(first: u8, code: &[u8], mut at: usize) -> Option<(Self, u8, usize)> {
        let mut format = Self::default();
        let mut part = Part::Flags;
        match first {
            b'#' => format.alternate = true,
            b' ' => format.space = true,
            b'.' => part = Part::Precision,
            b'0'..=b'9' => (format.width, part) = ((first - b'0') as usize, Part::Width),
            _ => {}
        }
        while let Some(&byte) = code.get(at) {
            at += 1;
            match (part, byte) {
                (_, b'd' | b'o' | b'x' | b'X' | b's') => return Some((format, byte, at)),
                (Part::Flags, b'#') => format.alternate = true,
                (Part::Flags, b'-') => format.left = true,
                (Part::Flags, b'+') => format.sign = true,
                (Part::Flags, b' ') => format.space = true,
                (Part::Flags, b'0'..=b'9') => {
                    (format.width, part) = ((byte - b'0') as usize, Part::Width)
                }
                (Part::Flags | Part::Width, b'.') => part = Part::Precision,
                (Part::Width, b'0'..=b'9') => format.width = grow(format.width, byte)?,
                (Part::Precision, b'0'..=b'9') => format.precision = grow(format.precision, byte)?,
                _ => return None,
            }
        }
        Some((format, 0, at))
    }

    fn apply(self, value: i32, conversion: u8) -> Vec<u8> {
        let precision = self.precision;
        let text = match conversion {
            b'd' if self.sign => format!("{value:+0precision$}"),
            b'd' if value < 0 => format!("{value:0width$}", width = precision + 1),
            b'd' if self.space => format!(" {value:0precision$}"),
            b'd' => format!("{value:0precision$}"),
            b'o' if self.alternate => {
                format!("0{value:0width$o}", width = precision.saturating_sub(1))
            }
            b'o' => format!("{value:0precision$o}"),
            b'x' if self.alternate && value != 0 => format!("0x{value:0precision$x}"),
            b'x' => format!("{value:0precision$x}"),
            _ if self.alternate && value != 0 => format!("0X{value:0precision$X}"),
            _ => format!("{value:0precision$X}"),
        };
        let padding = " ".repeat(self.width.saturating_sub(text.len()));
        match self.left {
            true => text + &padding,
            false => padding + &text,
        }
        .into_bytes()
    }
}

fn grow(value: usize, digit: u8) -> Option<usize> {
    value.checked_mul(10)?.checked_add((digit - b'0') as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    const XTERM_256_SETAF: &[u8] =
        b"\x1b[%?%p1%{8}%<%t3%p1%d%e%p1%{16}%<%t9%p1%{8}%-%d%e38;5;%p1%d%;m";

    #[test]
    fn setaf_expands_as_terminfo_says() {
        assert_eq!(expand(b"\x1b[3%p1%dm", 2).unwrap(), "\x1b[32m");
        assert_eq!(expand(XTERM_256_SETAF, 1).unwrap(), "\x1b[31m");
        assert_eq!(expand(XTERM_256_SETAF, 12).unwrap(), "\x1b[94m");
        assert_eq!(expand(XTERM_256_SETAF, 200).unwrap(), "\x1b[38;5;200m");
        assert_eq!(expand(b"\x1b[m\x0f$<2>", 0).unwrap(), "\x1b[m\x0f$<2>");
    }

    #[test]
    fn the_stack_machine_computes_branches_and_formats() {
        assert_eq!(expand(b"%p1%{3}%*%d", 7).unwrap(), "21");
        assert_eq!(expand(b"%?%p1%t1%e%p2%t2%e3%;", 0).unwrap(), "3");
        assert_eq!(expand(b"%?%p1%t%?%p2%tA%;B%;C", 1).unwrap(), "BC");
        assert_eq!(expand(b"%p1%Pa%ga%ga%+%d", 4).unwrap(), "8");
        assert_eq!(expand(b"%'A'%c%%", 0).unwrap(), "A%");
        // A leading 0 is a width digit, not C's zero flag, in libtest's reading.
        assert_eq!(
            expand(b"%p1%:-4d|%p1%03d|%p1%#x", 10).unwrap(),
            "10  | 10|0xa"
        );
        assert_eq!(expand(b"%i%p1%d;%p2%d", 4).unwrap(), "5;1");
        assert_eq!(expand(b"%p1%s", 4), None);
        assert_eq!(expand(b"%d", 4), None);
        assert_eq!(expand(b"%z", 4), None);
        assert_eq!(expand(b"%::d", 4), None);
        assert_eq!(expand(b"ab%p", 4).unwrap(), "ab");
        assert_eq!(expand(b"%p1%.3d", 4).unwrap(), "004");
    }

    /// A compiled entry, legacy format, with `colors` and the given strings.
    fn compiled(colours: Option<u16>, strings: &[(usize, &[u8])]) -> Vec<u8> {
        let names = b"test|a terminal\0";
        let count = strings
            .iter()
            .map(|(index, _)| index + 1)
            .max()
            .unwrap_or(0);
        let mut table = Vec::new();
        let mut offsets = vec![0xFFFFu16; count];
        for (index, text) in strings {
            offsets[*index] = table.len() as u16;
            table.extend_from_slice(text);
            table.push(0);
        }
        let mut bytes = Vec::new();
        for field in [0o432, names.len(), 1, COLORS + 1, count, table.len()] {
            bytes.extend((field as u16).to_le_bytes());
        }
        bytes.extend(names);
        bytes.push(1);
        if (names.len() + 1) % 2 == 1 {
            bytes.push(0);
        }
        for index in 0..=COLORS {
            let number = if index == COLORS { colours } else { None };
            bytes.extend(number.unwrap_or(0xFFFF).to_le_bytes());
        }
        for offset in offsets {
            bytes.extend(offset.to_le_bytes());
        }
        bytes.extend(table);
        bytes
    }

    #[test]
    fn an_entry_gives_libtests_bytes() {
        let xterm = compiled(
            Some(8),
            &[
                (SGR0, b"\x1b(B\x1b[m"),
                (SETAF, b"\x1b[3%p1%dm"),
                (SETAB, b"\x1b[4%p1%dm"),
            ],
        );
        let palette = Palette::of(&Entry::parse(&xterm).unwrap());
        assert_eq!(palette.paint("ok", Colour::Green), "\x1b[32mok\x1b(B\x1b[m");
        assert!(palette.has_colours());
        // No colours, but a reset all the same, as vt100 gets.
        let vt100 = compiled(None, &[(SGR0, b"\x1b[m\x0f$<2>")]);
        let palette = Palette::of(&Entry::parse(&vt100).unwrap());
        assert_eq!(palette.paint("ok", Colour::Green), "ok\x1b[m\x0f$<2>");
        assert!(!palette.has_colours());
        // `setaf` without `setab`: no colour.
        let half = compiled(Some(8), &[(SGR0, b"R"), (SETAF, b"S")]);
        let palette = Palette::of(&Entry::parse(&half).unwrap());
        assert_eq!(palette.paint("ok", Colour::Red), "okR");
    }

    #[test]
    fn a_broken_entry_is_refused() {
        let good = compiled(Some(8), &[(SGR0, b"R")]);
        assert!(Entry::parse(&good).is_some());
        assert!(Entry::parse(&good[..good.len() - 1]).is_none(), "no NUL");
        let mut magic = good.clone();
        magic[0] = 0;
        assert!(Entry::parse(&magic).is_none());
        assert!(Entry::parse(&good[..20]).is_none());
    }

    #[test]
    fn no_term_no_palette() {
        assert_eq!(Palette::from_env(&|_: &str| None), None);
        let unknown = |name: &str| (name == "TERM").then(|| "no-such-terminal-here".to_owned());
        assert_eq!(Palette::from_env(&unknown), None);
        let mintty = |name: &str| match name {
            "TERM" => Some("no-such-terminal-here".to_owned()),
            "MSYSCON" => Some("mintty.exe".to_owned()),
            _ => None,
        };
        let palette = Palette::from_env(&mintty).unwrap();
        assert_eq!(palette.paint("ok", Colour::Green), "ok\x1b[0m");
    }
}
