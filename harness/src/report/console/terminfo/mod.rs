//! libtest's colours, byte for byte: libtest colours its words through the terminfo entry of
//! `$TERM` (`setaf` before a word, `sgr0` after it), found where libtest looks and read as libtest
//! reads it. Where it finds no entry (`TERM` unset, or a terminal the database does not know),
//! libtest writes no colour at all, whatever `--color` says; a terminal without colours (`vt100`)
//! still gets the reset after each word.

use std::path::{Path, PathBuf};

use crate::env::Env;
use expand::expand;

mod expand;

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

#[cfg(test)]
mod tests {
    use super::*;

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
