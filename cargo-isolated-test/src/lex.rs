//! A lexer just deep enough for attribute-level decisions about Rust source, without a parser.
//!
//! [`mask`] blanks comments and the contents of string and char literals, byte for byte, so that a
//! `#[test]` in a doc comment or a string is never seen, while every offset found in the masked
//! text still points at the same place in the original. [`attributes`] then finds every `#[...]`
//! in the masked text, macro_rules! bodies included (they are token trees like any other code).

use std::ops::Range;

/// `src` with the contents of comments and of string, byte string and char literals replaced by
/// spaces (newlines kept), so that offsets and line numbers in the result hold in `src`.
pub fn mask(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        let ident_before = i > 0 && is_ident(b[i - 1]);
        // What to blank from here, and where the next token may start.
        let (hidden, after) = if c == b'/' && next == Some(b'/') {
            let end = src[i..].find('\n').map_or(b.len(), |n| i + n);
            (i..end, end)
        } else if c == b'/' && next == Some(b'*') {
            // Block comments nest in Rust.
            let end = block_comment_end(src, i);
            (i..end, end)
        } else if let (false, Some(hashes_at)) = (ident_before, raw_string_start(b, i)) {
            raw_string(b, hashes_at)
        } else if c == b'"' {
            string(b, i)
        } else if c == b'\'' {
            char_literal(src, i)
        } else {
            (i..i, i + 1)
        };
        blank(&mut out, hidden);
        i = after;
    }
    // Only whole characters were blanked (comments and literals end on ASCII), so this holds.
    String::from_utf8(out).expect("masking keeps UTF-8")
}

/// Blanks `out[range]` (up to the end of `out`), keeping newlines so line numbers stay true.
fn blank(out: &mut [u8], range: Range<usize>) {
    let end = range.end.min(out.len());
    for c in &mut out[range.start..end] {
        if *c != b'\n' {
            *c = b' ';
        }
    }
}

/// The raw string literal whose hashes (or quote) start at `hashes_at` (r"..", r#".."#, br"..",
/// cr".."): no escapes, it ends at a quote and as many hashes. Its contents, and where the next
/// token may start.
fn raw_string(b: &[u8], hashes_at: usize) -> (Range<usize>, usize) {
    let hashes = b[hashes_at..].iter().take_while(|&&h| h == b'#').count();
    let open = hashes_at + hashes; // the opening quote
    let mut j = open + 1;
    while j < b.len() {
        if b[j] == b'"'
            && b[j + 1..]
                .iter()
                .take(hashes)
                .filter(|&&h| h == b'#')
                .count()
                == hashes
        {
            break;
        }
        j += 1;
    }
    (open + 1..j, j + 1 + hashes)
}

/// The string literal whose opening quote is at `i`: its contents, and where the next token may
/// start.
fn string(b: &[u8], i: usize) -> (Range<usize>, usize) {
    let mut j = i + 1;
    while j < b.len() && b[j] != b'"' {
        j += if b[j] == b'\\' { 2 } else { 1 };
    }
    (i + 1..j, j + 1)
}

/// The char literal ('x', '\n', '\u{1F600}') whose opening quote is at `i`: its contents, and
/// where the next token may start. A lifetime or a label ('a, 'static) has no contents.
fn char_literal(src: &str, i: usize) -> (Range<usize>, usize) {
    let b = src.as_bytes();
    if b.get(i + 1) == Some(&b'\\') {
        let mut j = i + 2;
        while j < b.len() && b[j] != b'\'' && b[j] != b'\n' {
            j += 1;
        }
        return (i + 1..j, j + 1);
    }
    match src[i + 1..].chars().next() {
        Some(ch) if b.get(i + 1 + ch.len_utf8()) == Some(&b'\'') => {
            let after = i + 1 + ch.len_utf8();
            (i + 1..after, after + 1)
        }
        _ => (i..i, i + 1),
    }
}

/// Where the hashes (or the quote) of a raw string literal starting at `i` begin, if one does.
fn raw_string_start(b: &[u8], i: usize) -> Option<usize> {
    let after_prefix = match (b[i], b.get(i + 1)) {
        (b'r', _) => i + 1,
        (b'b' | b'c', Some(b'r')) => i + 2,
        _ => return None,
    };
    let hashes = b[after_prefix..].iter().take_while(|&&h| h == b'#').count();
    (b.get(after_prefix + hashes) == Some(&b'"')).then_some(after_prefix)
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// One outer attribute `#[...]` found in masked text.
#[derive(Debug, Clone)]
pub struct Attr {
    /// From `#` to just after `]`.
    pub span: Range<usize>,
    /// Between `[` and `]`.
    pub inner: Range<usize>,
}

/// Every outer attribute in `masked`, in order. Inner attributes (`#![...]`) are skipped: no test
/// attribute is written that way.
pub fn attributes(masked: &str) -> Vec<Attr> {
    let b = masked.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'#' {
            i += 1;
            continue;
        }
        let mut j = skip_ws(b, i + 1);
        if b.get(j) != Some(&b'[') {
            i += 1;
            continue;
        }
        j += 1;
        let open = j;
        let mut depth = 1;
        while j < b.len() && depth > 0 {
            match b[j] {
                b'[' | b'(' | b'{' => depth += 1,
                b']' | b')' | b'}' => depth -= 1,
                _ => {}
            }
            j += 1;
        }
        if depth == 0 {
            found.push(Attr {
                span: i..j,
                inner: open..j - 1,
            });
        }
        i = open;
    }
    found
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Attributes that stand together on one item: runs of attributes with only whitespace (or
/// masked comments) between them. Each group is a range of indices into `attrs`.
pub fn groups(masked: &str, attrs: &[Attr]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for (k, a) in attrs.iter().enumerate() {
        match out.last_mut() {
            Some(g)
                if masked[attrs[g.end - 1].span.end..a.span.start]
                    .trim()
                    .is_empty() =>
            {
                g.end = k + 1
            }
            _ => out.push(k..k + 1),
        }
    }
    out
}

/// `text` without whitespace: `cfg_attr( miri , test )` and `cfg_attr(miri,test)` compare equal.
pub fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The top-level comma-separated pieces of `text[range]` (brackets nest), as ranges into `text`,
/// trimmed of whitespace.
pub fn split_args(text: &str, range: Range<usize>) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let (mut pieces, mut depth, mut from) = (Vec::new(), 0i32, range.start);
    for j in range.clone() {
        match b[j] {
            b'[' | b'(' | b'{' => depth += 1,
            b']' | b')' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                pieces.push(trim(text, from..j));
                from = j + 1;
            }
            _ => {}
        }
    }
    pieces.push(trim(text, from..range.end));
    pieces.retain(|r| !r.is_empty());
    pieces
}

fn trim(text: &str, r: Range<usize>) -> Range<usize> {
    let s = &text[r.clone()];
    let start = r.start + (s.len() - s.trim_start().len());
    let end = r.end - (s.len() - s.trim_end().len());
    start..end.max(start)
}

/// The offset just past the brace that closes the one at `open` (the end of text if none does).
pub fn matching_brace(masked: &str, open: usize) -> usize {
    let mut depth = 0;
    for (j, c) in masked.bytes().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
    }
    masked.len()
}

/// The offset just past the bracket that closes the one at `open`, counting `()`, `[]` and `{}`
/// alike (the end of text if none does).
pub fn matching_bracket(masked: &str, open: usize) -> usize {
    let mut depth = 0;
    for (j, c) in masked.bytes().enumerate().skip(open) {
        match c {
            b'[' | b'(' | b'{' => depth += 1,
            b']' | b')' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
    }
    masked.len()
}

/// The offset just past the block comment opening at `start` in `src` (they nest).
pub fn block_comment_end(src: &str, start: usize) -> usize {
    let b = src.as_bytes();
    let (mut depth, mut j) = (0, start);
    while j < b.len() {
        if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
            depth += 1;
            j += 2;
        } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
            depth -= 1;
            j += 2;
            if depth == 0 {
                return j;
            }
        } else {
            j += 1;
        }
    }
    b.len()
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].bytes().filter(|&c| c == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_strings_are_blanked_in_place() {
        let src = "let s = \"#[test]\"; // #[test]\n/* #[test] /* nested */ */ #[test] fn a() {}";
        let m = mask(src);
        assert_eq!(m.len(), src.len());
        assert_eq!(m.matches("#[test]").count(), 1);
        assert_eq!(&src[m.find("#[test]").unwrap()..][..7], "#[test]");
    }

    #[test]
    fn raw_strings_chars_and_lifetimes() {
        let src = "r#\"#[test] \"# x\"\"#; let c = '#'; fn f<'a>(x: &'a str) {} #[test]";
        let m = mask(src);
        assert_eq!(m.matches("#[test]").count(), 1);
        assert!(m.contains("<'a>(x: &'a str)"));
        assert!(m.contains("' '"));
    }

    #[test]
    fn attributes_and_groups() {
        let m = "#[test]\n#[should_panic(expected = \"x\")]\nfn a() {}\n#[cfg_attr(miri, ignore)] fn b() {}";
        let attrs = attributes(m);
        assert_eq!(attrs.len(), 3);
        assert_eq!(&m[attrs[0].inner.clone()], "test");
        assert_eq!(groups(m, &attrs), vec![0..2, 2..3]);
        let args = split_args(
            m,
            attrs[2].inner.start + "cfg_attr(".len()..attrs[2].inner.end - 1,
        );
        let args: Vec<&str> = args.into_iter().map(|r| &m[r]).collect();
        assert_eq!(args, ["miri", "ignore"]);
    }
}
