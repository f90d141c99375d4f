//! What a source file holds that matters to isolated-test, and the rewriting of its `#[test]`s.
//!
//! Everything here is a pure function of the file's text (see [`crate::lex`] for why a masked copy
//! is scanned): [`scan`] finds test attributes, the entry macro, `fn main` and `mod` declarations;
//! [`rewrite`] turns libtest's `#[test]` into `#[isolated_test::isolated_test]`.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use crate::lex::{self, Attr};

/// The attribute every `#[test]` becomes.
pub const ISOLATED: &str = "isolated_test::isolated_test";
/// The entry macro a test root ends with; a library's is behind `#[cfg(test)]`.
pub const ENTRY: &str = "isolated_test::main!();";

/// Other crates' test attributes: under `harness = false` the tests they make would not run, and
/// isolated-test cannot take them over one for one, so a target holding one is left alone.
/// Any path ending in `::test` (tokio, async-std, test-log, sqlx...) counts too.
const FOREIGN: &[&str] = &[
    "rstest",
    "test_case",
    "test_matrix",
    "quickcheck",
    "serial",
    "parallel",
    "file_serial",
    "file_parallel",
    "wasm_bindgen_test",
    "proptest",
    "googletest",
];

/// One attribute (or one `cfg_attr` argument) of interest, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// libtest's `#[test]`, alone or as a `cfg_attr` argument.
    Test,
    /// `#[bench]`: benchmarks stay with libtest.
    Bench,
    /// `#[isolated_test]` in any of its spellings.
    Isolated,
    /// Another crate's test attribute, as written (whitespace squashed).
    Foreign(String),
}

/// A finding: its kind, its 1-based line and the bytes to replace to rewrite it.
#[derive(Debug, Clone)]
pub struct Found {
    pub kind: Kind,
    pub line: usize,
    /// The whole attribute for `#[test]`, the argument alone inside a `cfg_attr`.
    pub span: Range<usize>,
    /// Set for a bare `#[test]` (span is then the whole `#[...]`).
    pub bare: bool,
    /// Whether the attributes standing with it include `#[cfg(test)]`.
    pub has_cfg_test: bool,
    /// Index of its attribute group: findings of one item share it.
    pub group: usize,
    /// Where its group's line starts, and the group's first attribute, for a `#[cfg(test)]`.
    pub attr_start: usize,
}

/// A `mod name;` declaration, with its `#[path = "..."]` if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModDecl {
    pub name: String,
    pub path: Option<String>,
}

/// A `#[global_allocator]` attribute and the static it stands on.
#[derive(Debug, Clone)]
pub struct GlobalAllocator {
    pub line: usize,
    /// The attribute, `#` to `]`.
    pub span: Range<usize>,
    /// The static's name, when it follows the attribute's group.
    pub name: Option<String>,
    /// Outside every block (at a crate root, reachable as `&NAME` from its end).
    pub top_level: bool,
    /// Another attribute of its group is a `cfg` or `cfg_attr`: the static may not be there.
    pub cfg: bool,
}

/// What one file holds.
#[derive(Debug, Default)]
pub struct Scan {
    pub found: Vec<Found>,
    /// Line of `isolated_test::main!`, if the file invokes it.
    pub entry: Option<usize>,
    /// Line of a `fn main` outside every block (a target root with it is a custom harness; one
    /// inside a `mod` or a function is not the crate's entry point).
    pub fn_main: Option<usize>,
    /// The file's leading inner `#![cfg(...)]`s, by line and predicate (as written): at a
    /// target's root each can cut the whole crate away.
    pub crate_cfgs: Vec<(usize, String)>,
    /// Line of the first fenced code block in a doc comment: a doc test, rustdoc's to run.
    pub doc_test: Option<usize>,
    pub mods: Vec<ModDecl>,
    /// A `#[global_allocator]`, if the file declares one.
    pub global_allocator: Option<GlobalAllocator>,
    /// The bodies of `#[cfg(test)] mod name { ... }`: their items need no `#[cfg(test)]` of their own.
    pub cfg_test_mods: Vec<Range<usize>>,
    /// Lines in the file (the last line number, for findings about the end of a file).
    pub lines: usize,
}

impl Scan {
    pub fn of(&self, kind: &Kind) -> impl Iterator<Item = &Found> {
        let kind = kind.clone();
        self.found.iter().filter(move |f| f.kind == kind)
    }
}

static ENTRY_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bisolated_test\s*::\s*main\s*!").unwrap());
static FN_MAIN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bfn\s+main\s*\(").unwrap());
static FEATURE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"^feature="([^"]*)"$"#).unwrap());
static MOD_DECL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(mod)\s+(?:r#)?([A-Za-z_][A-Za-z0-9_]*)\s*;").unwrap());
static CFG_MOD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(?:pub\s*(?:\([^)]*\))?\s*)?mod\s+\w+\s*\{").unwrap());
static PATH_ATTR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^\s*path\s*=\s*"([^"]*)"\s*$"#).unwrap());

/// Classifies one attribute path (with any arguments), squashed of whitespace.
fn classify(squashed: &str) -> Option<Kind> {
    let path = squashed.split(['(', '=']).next().unwrap_or_default();
    let path = path.strip_prefix("::").unwrap_or(path);
    match path {
        "test" => Some(Kind::Test),
        "bench" => Some(Kind::Bench),
        "isolated_test" => Some(Kind::Isolated),
        _ if path.starts_with("isolated_test::") => Some(Kind::Isolated),
        _ => {
            let last = path.rsplit("::").next().unwrap_or(path);
            (last == "test" || FOREIGN.contains(&last)).then(|| Kind::Foreign(squashed.into()))
        }
    }
}

/// Scans `src` (one file's text).
pub fn scan(src: &str) -> Scan {
    let masked = lex::mask(src);
    let attrs = lex::attributes(&masked);
    let mut out = Scan {
        lines: src.lines().count().max(1),
        ..Scan::default()
    };
    for (g, group) in lex::groups(&masked, &attrs).into_iter().enumerate() {
        let items = &attrs[group.clone()];
        let has_cfg_test = items.iter().any(|a| {
            let s = lex::squash(&masked[a.inner.clone()]);
            s == "cfg(test)" || s.starts_with("cfg(all(test,")
        });
        if has_cfg_test {
            let after = attrs[group.end - 1].span.end;
            if let Some(m) = CFG_MOD.find(&masked[after..]) {
                let open = after + m.end() - 1;
                out.cfg_test_mods
                    .push(open..lex::matching_brace(&masked, open));
            }
        }
        let squashed: Vec<String> = items
            .iter()
            .map(|a| lex::squash(&masked[a.inner.clone()]))
            .collect();
        if let Some(k) = squashed.iter().position(|s| s == "global_allocator") {
            let after = attrs[group.end - 1].span.end;
            let span = items[k].span.clone();
            out.global_allocator = Some(GlobalAllocator {
                line: lex::line_of(src, span.start),
                name: STATIC_ITEM
                    .captures(&masked[after..])
                    .map(|c| c[1].to_string()),
                top_level: top_level(&masked, [span.start].into_iter()).is_some(),
                cfg: squashed
                    .iter()
                    .any(|s| s.starts_with("cfg(") || s.starts_with("cfg_attr(")),
                span,
            });
        }
        for a in items {
            for (kind, span, bare) in kinds(&masked, a) {
                out.found.push(Found {
                    kind,
                    line: lex::line_of(src, span.start),
                    span,
                    bare,
                    has_cfg_test,
                    group: g,
                    attr_start: a.span.start,
                });
            }
        }
    }
    out.entry = ENTRY_RE.find(&masked).map(|m| lex::line_of(src, m.start()));
    out.fn_main = top_level(&masked, FN_MAIN.find_iter(&masked).map(|m| m.start()))
        .map(|at| lex::line_of(src, at));
    out.crate_cfgs = inner_attributes(src, &masked)
        .1
        .into_iter()
        .filter_map(|(at, inner)| {
            let pred = lex::squash(&src[inner]);
            let pred = pred.strip_prefix("cfg(")?.strip_suffix(')')?.to_string();
            Some((lex::line_of(src, at), pred))
        })
        .collect();
    out.doc_test = src.lines().position(is_doc_fence).map(|i| i + 1);
    out.mods = mods(src, &masked, &attrs);
    out
}

/// The findings in one attribute: itself, or the arguments of a `cfg_attr`.
fn kinds(masked: &str, a: &Attr) -> Vec<(Kind, Range<usize>, bool)> {
    let text = &masked[a.inner.clone()];
    let squashed = lex::squash(text);
    if squashed.starts_with("cfg_attr(") {
        let open = a.inner.start + text.find('(').unwrap_or(0) + 1;
        let close = a.inner.start + text.rfind(')').unwrap_or(text.len());
        if open > close {
            return Vec::new();
        }
        // The first argument is the predicate; the others are attributes.
        return lex::split_args(masked, open..close)
            .into_iter()
            .skip(1)
            .filter_map(|r| classify(&lex::squash(&masked[r.clone()])).map(|k| (k, r, false)))
            .collect();
    }
    match classify(&squashed) {
        Some(Kind::Test) => vec![(Kind::Test, a.span.clone(), true)],
        Some(k) => vec![(k, a.span.clone(), false)],
        None => Vec::new(),
    }
}

/// The first of `offsets` (ascending) that stands outside every `{...}` block of `masked`.
fn top_level(masked: &str, offsets: impl Iterator<Item = usize>) -> Option<usize> {
    let (mut depth, mut from) = (0i64, 0);
    for at in offsets {
        for c in masked[from..at].bytes() {
            match c {
                b'{' => depth += 1,
                b'}' => depth -= 1,
                _ => {}
            }
        }
        from = at;
        if depth <= 0 {
            return Some(at);
        }
    }
    None
}

/// The features a `cfg` predicate asks for, if it asks for nothing else: `feature = "x"` or
/// `all(feature = "a", feature = "b")` (squashed of whitespace), as cargo's `required-features`
/// can stand for it.
pub fn features_of(pred: &str) -> Option<Vec<String>> {
    let one = |p: &str| FEATURE.captures(p).map(|c| c[1].to_string());
    if let Some(f) = one(pred) {
        return Some(vec![f]);
    }
    let all = pred.strip_prefix("all(")?.strip_suffix(')')?;
    let features = all
        .split(',')
        .filter(|p| !p.is_empty())
        .map(one)
        .collect::<Option<Vec<_>>>()?;
    (!features.is_empty()).then_some(features)
}

/// Whether a line opens a fenced code block in a doc comment.
fn is_doc_fence(line: &str) -> bool {
    let t = line.trim_start();
    let body = t.strip_prefix("///").or_else(|| t.strip_prefix("//!"));
    body.is_some_and(|b| !t.starts_with("////") && b.trim_start().starts_with("```"))
}

/// The `mod name;` declarations of a file, each with the `#[path]` among the attributes before it.
fn mods(src: &str, masked: &str, attrs: &[Attr]) -> Vec<ModDecl> {
    MOD_DECL
        .captures_iter(masked)
        .map(|c| {
            let mut end = strip_visibility(&masked[..c.get(1).unwrap().start()]).len();
            let mut path = None;
            for a in attrs
                .iter()
                .rev()
                .filter(|a| a.span.end <= c.get(1).unwrap().start())
            {
                if !masked[a.span.end..end].trim().is_empty() {
                    break;
                }
                if let Some(m) = PATH_ATTR.captures(&src[a.inner.clone()]) {
                    path = Some(m[1].to_string());
                }
                end = a.span.start;
            }
            ModDecl {
                name: c[2].to_string(),
                path,
            }
        })
        .collect()
}

/// `text` less trailing whitespace and a trailing `pub` or `pub(...)`.
fn strip_visibility(text: &str) -> &str {
    let t = text.trim_end();
    if let Some(p) = t.rfind("pub") {
        let rest = t[p + 3..].trim_start();
        if rest.is_empty() || (rest.starts_with('(') && rest.ends_with(')')) {
            return t[..p].trim_end();
        }
    }
    t
}

/// `src` with every libtest `#[test]` made an isolated test, and how many were. Findings in
/// `skip_groups` (items that also carry another crate's test attribute) are left as they are.
/// `in_src`: the file belongs to `src/`, where `#[test]` also implied `#[cfg(test)]`, which the
/// new attribute does not, so `#[cfg(test)]` is added to each item that lacks it.
pub fn rewrite(src: &str, scan: &Scan, in_src: bool) -> (String, usize) {
    let foreign: Vec<usize> = scan
        .found
        .iter()
        .filter(|f| matches!(f.kind, Kind::Foreign(_)))
        .map(|f| f.group)
        .collect();
    // (offset, bytes to remove, text to insert), applied from the end so offsets stay true.
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut cfg_added: Vec<usize> = Vec::new();
    for f in scan.of(&Kind::Test) {
        if foreign.contains(&f.group) {
            continue;
        }
        let new = if f.bare {
            format!("#[{ISOLATED}]")
        } else {
            ISOLATED.to_string()
        };
        edits.push((f.span.start, f.span.len(), new));
        let in_cfg_test_mod = scan.cfg_test_mods.iter().any(|m| m.contains(&f.span.start));
        if in_src && !f.has_cfg_test && !in_cfg_test_mod && !cfg_added.contains(&f.group) {
            cfg_added.push(f.group);
            let line_start = src[..f.attr_start].rfind('\n').map_or(0, |n| n + 1);
            let indent = &src[line_start..f.attr_start];
            let cfg = if indent.trim().is_empty() {
                format!("#[cfg(test)]\n{indent}")
            } else {
                "#[cfg(test)] ".to_string()
            };
            edits.push((f.attr_start, 0, cfg));
        }
    }
    // At one offset the insertion (0 bytes removed) sorts first, so, applied from the end, the
    // replacement is made before the insertion lands in front of it.
    edits.sort_by_key(|e| (e.0, e.1 != 0));
    let mut out = src.to_string();
    let mut count = 0;
    for (at, remove, text) in edits.into_iter().rev() {
        if remove > 0 {
            count += 1;
        }
        out.replace_range(at..at + remove, &text);
    }
    (out, count)
}

/// `src` without its `#[global_allocator]` attribute (`found`), which `main!` now wraps; in a
/// library, whose other builds still need it, made `#[cfg_attr(not(test), global_allocator)]`.
pub fn drop_global_allocator(src: &str, found: &GlobalAllocator, lib: bool) -> String {
    let mut out = src.to_string();
    if lib {
        out.replace_range(
            found.span.clone(),
            "#[cfg_attr(not(test), global_allocator)]",
        );
        return out;
    }
    // Its line goes with it when it stands alone there.
    let line_start = src[..found.span.start].rfind('\n').map_or(0, |n| n + 1);
    let rest = &src[found.span.end..];
    let line_end = rest.find('\n').map(|n| found.span.end + n + 1);
    match line_end {
        Some(end)
            if src[line_start..found.span.start].trim().is_empty()
                && src[found.span.end..end].trim().is_empty() =>
        {
            out.replace_range(line_start..end, "")
        }
        _ => out.replace_range(found.span.clone(), ""),
    }
    out
}

/// `src` ending with the entry macro (behind `#[cfg(test)]` for a library), after a blank line;
/// `allocator`: the static whose allocator it counts through.
pub fn add_entry(src: &str, lib: bool, allocator: Option<&str>) -> String {
    let mut out = src.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.trim().is_empty() {
        out.push('\n');
    }
    if lib {
        out.push_str("#[cfg(test)]\n");
    }
    match allocator {
        Some(name) => out.push_str(&format!("isolated_test::main!(allocator = &{name});")),
        None => out.push_str(ENTRY),
    }
    out.push('\n');
    out
}

static STATIC_ITEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:pub\s*(?:\([^)]*\))?\s*)?static\s+([A-Za-z_][A-Za-z0-9_]*)\s*:").unwrap()
});

static INLINE_MOD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bmod\s+(?:r#)?([A-Za-z_][A-Za-z0-9_]*)\s*\{").unwrap());

/// The import that makes a `#[test]` written by another crate's macro (expanded where it is
/// called, so resolved there) name isolated-test's attribute rather than the prelude's.
pub const SHADOW: &str = "#[allow(unused_imports)]\nuse isolated_test::test;\n";

/// `src` with [`SHADOW`] at the top of the module `path` (inline `mod name { ... }` blocks, from
/// the file's top), or of the deepest of them found; after its inner attributes, behind
/// `#[cfg(test)]` in `src/`. `None` if it is there already.
pub fn add_shadow(src: &str, path: &[&str], in_src: bool) -> Option<String> {
    let masked = lex::mask(src);
    let mut at = inner_attributes(src, &masked).0;
    let (mut lo, mut hi, mut indent) = (0, masked.len(), String::new());
    for name in path {
        let depth_zero = |start: usize| {
            masked[lo..start]
                .bytes()
                .map(|c| match c {
                    b'{' => 1,
                    b'}' => -1,
                    _ => 0,
                })
                .sum::<i64>()
                == 0
        };
        let Some(m) = INLINE_MOD
            .captures_iter(&masked[lo..hi])
            .find(|c| &c[1] == *name && depth_zero(lo + c.get(0).unwrap().start()))
        else {
            break;
        };
        let whole = m.get(0).unwrap();
        let open = lo + whole.end() - 1;
        let close = lex::matching_brace(&masked, open).saturating_sub(1);
        let line_start = src[..lo + whole.start()].rfind('\n').map_or(0, |n| n + 1);
        let own = &src[line_start..lo + whole.start()];
        indent = own[..own.len() - own.trim_start().len()].to_string() + "    ";
        (lo, hi) = (open + 1, close.max(open + 1));
        let inner = inner_attributes(&src[lo..hi], &masked[lo..hi]).0;
        at = if inner > 0 {
            lo + inner
        } else {
            masked[lo..hi].find('\n').map_or(lo, |n| lo + n + 1)
        };
    }
    let mut text = String::new();
    if in_src {
        text += &format!("{indent}#[cfg(test)]\n");
    }
    for line in SHADOW.lines() {
        text += &format!("{indent}{line}\n");
    }
    if src[at..].trim_start().starts_with(text.trim_start()) {
        return None;
    }
    let mut out = src.to_string();
    if at > 0 && !out[..at].ends_with('\n') {
        text.insert(0, '\n');
    }
    out.insert_str(at, &text);
    Some(out)
}

/// Whether a crate root is `#![no_std]`: never, always, or when a `cfg_attr` predicate holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NoStd {
    Never,
    Always,
    When(String),
}

static EXTERN_CRATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bextern\s+crate\s+(core|std|isolated_test)\s*;").unwrap());

/// Where the items of a crate root may start: just past the line ending its last inner attribute
/// or inner doc comment (`#![...]`, `//!`, `/*!`), found among the blank lines and comments that
/// open the file; 0 if it has none. Also whether the root is `#![no_std]`.
fn root_prelude(src: &str, masked: &str) -> (usize, NoStd) {
    let (end, attrs) = inner_attributes(src, masked);
    let mut no_std = NoStd::Never;
    for (_, inner) in attrs {
        let text = lex::squash(&masked[inner.clone()]);
        if text == "no_std" {
            no_std = NoStd::Always;
        } else if text.starts_with("cfg_attr(") && no_std == NoStd::Never {
            let args = inner.start + masked[inner.clone()].find('(').unwrap_or(0) + 1;
            let shut = inner.start + masked[inner.clone()].rfind(')').unwrap_or(0);
            let pieces = lex::split_args(masked, args..shut.max(args));
            if pieces.len() == 2 && masked[pieces[1].clone()].trim() == "no_std" {
                no_std = NoStd::When(src[pieces[0].clone()].to_string());
            }
        }
    }
    (end, no_std)
}

/// The inner attributes (`#![...]`) that open a file, among blank lines and comments: where the
/// items may start (just past the line ending the last of them or of the inner doc comments, 0 if
/// none), and each one's start with the range between its brackets.
fn inner_attributes(src: &str, masked: &str) -> (usize, Vec<(usize, Range<usize>)>) {
    let b = masked.as_bytes();
    let (mut i, mut end, mut attrs) = (0, 0, Vec::new());
    loop {
        // Blank space and comments (masked to blanks): inner doc comments count as attributes.
        while i < b.len() && b[i].is_ascii_whitespace() {
            let rest = &src[i..];
            if rest.starts_with("//") {
                i = rest.find('\n').map_or(src.len(), |n| i + n);
            } else if rest.starts_with("/*") {
                i = lex::block_comment_end(src, i);
            } else {
                i += 1;
                continue;
            }
            if rest.starts_with("//!") || rest.starts_with("/*!") {
                end = i;
            }
        }
        if !masked[i..].starts_with("#!") {
            break;
        }
        let open = skip_ws(b, i + 2);
        if b.get(open) != Some(&b'[') {
            break;
        }
        let close = lex::matching_bracket(masked, open);
        attrs.push((i, open + 1..close.saturating_sub(1)));
        i = close;
        end = close;
    }
    let line_end = src[end..].find('\n').map_or(src.len(), |n| end + n + 1);
    (if end == 0 { 0 } else { line_end }, attrs)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// `src`, a 2015-edition target root, with the `extern crate` items the rewritten code needs,
/// at the top after its inner attributes; `None` if it has them all. There a path in a module
/// other than the root is resolved from the root, and the expansions of `#[isolated_test]` and
/// `isolated_test::main!` name `::isolated_test`, `::core` and `::std`. A library's items are
/// behind `#[cfg(test)]`. `core` is the prelude's crate in a `#![no_std]` root (`std` elsewhere),
/// so only the other one is added (both, each behind its cfg, under `cfg_attr(..., no_std)`).
///
/// From the 2018 edition on, paths start from the extern prelude everywhere, and only `std` is
/// missing, from a `#![no_std]` root (`edition_2015` false): then `extern crate std;` alone.
pub fn add_extern_crates(src: &str, lib: bool, edition_2015: bool) -> Option<String> {
    let masked = lex::mask(src);
    let mut have: Vec<&str> = EXTERN_CRATE
        .captures_iter(&masked)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    if !edition_2015 {
        have.extend(["isolated_test", "core"]);
    }
    let (at, no_std) = root_prelude(src, &masked);
    let mut items: Vec<(Option<String>, &str)> = Vec::new();
    if !have.contains(&"isolated_test") {
        items.push((None, "isolated_test"));
    }
    let (core, std) = (!have.contains(&"core"), !have.contains(&"std"));
    match no_std {
        NoStd::Never if core => items.push((None, "core")),
        NoStd::Always if std => items.push((None, "std")),
        NoStd::When(p) => {
            if core {
                items.push((Some(format!("#[cfg(not({p}))]\n")), "core"));
            }
            if std {
                items.push((Some(format!("#[cfg({p})]\n")), "std"));
            }
        }
        _ => {}
    }
    if items.is_empty() {
        return None;
    }
    items.sort_by_key(|(_, name)| *name);
    let mut block = String::new();
    for (cfg, name) in items {
        if lib {
            block.push_str("#[cfg(test)]\n");
        }
        block.push_str(&cfg.unwrap_or_default());
        block.push_str(&format!("extern crate {name};\n"));
    }
    let rest = &src[at..];
    let mut out = src[..at].to_string();
    if at > 0 && !out.ends_with("\n\n") {
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&block);
    if !rest.is_empty() && !rest.starts_with('\n') {
        out.push('\n');
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(src: &str, in_src: bool) -> String {
        rewrite(src, &scan(src), in_src).0
    }

    #[test]
    fn a_test_attribute_becomes_isolated() {
        assert_eq!(
            rw("#[test]\nfn a() {}\n", false),
            "#[isolated_test::isolated_test]\nfn a() {}\n"
        );
        assert_eq!(
            rw("  #[ test ] fn a() {}", false),
            "  #[isolated_test::isolated_test] fn a() {}"
        );
    }

    #[test]
    fn in_src_the_cfg_test_that_test_implied_is_added() {
        assert_eq!(
            rw("mod t {\n    #[test]\n    #[should_panic]\n    fn a() {}\n}\n", true),
            "mod t {\n    #[cfg(test)]\n    #[isolated_test::isolated_test]\n    #[should_panic]\n    fn a() {}\n}\n"
        );
        assert_eq!(
            rw("#[cfg(test)]\n#[test]\nfn a() {}\n", true),
            "#[cfg(test)]\n#[isolated_test::isolated_test]\nfn a() {}\n"
        );
        assert_eq!(
            rw("x(); #[test] fn a() {}", true),
            "x(); #[cfg(test)] #[isolated_test::isolated_test] fn a() {}"
        );
    }

    #[test]
    fn items_of_a_cfg_test_module_need_no_cfg_test() {
        let src = "#[cfg(test)]\nmod tests {\n    #[test]\n    fn a() {}\n}\n#[test]\nfn b() {}\n";
        assert_eq!(
            rw(src, true),
            "#[cfg(test)]\nmod tests {\n    #[isolated_test::isolated_test]\n    fn a() {}\n}\n#[cfg(test)]\n#[isolated_test::isolated_test]\nfn b() {}\n"
        );
    }

    #[test]
    fn cfg_attr_and_macro_rules_forms() {
        assert_eq!(
            rw("#[cfg_attr(not(miri), test)]\nfn a() {}", false),
            "#[cfg_attr(not(miri), isolated_test::isolated_test)]\nfn a() {}"
        );
        assert_eq!(
            rw("#[cfg_attr(not(miri), ignore)]\nfn a() {}", false),
            "#[cfg_attr(not(miri), ignore)]\nfn a() {}"
        );
        let m = "macro_rules! t {\n    ($n:ident) => {\n        #[test]\n        fn $n() {}\n    };\n}\n";
        assert_eq!(
            rw(m, false),
            m.replace("#[test]", "#[isolated_test::isolated_test]")
        );
    }

    #[test]
    fn comments_strings_and_foreign_items_are_left() {
        let src = "// #[test]\nconst S: &str = \"#[test]\";\n#[test]\n#[serial]\nfn a() {}\n";
        assert_eq!(rw(src, false), src);
        let s = scan(src);
        assert_eq!(s.of(&Kind::Foreign("serial".into())).count(), 1);
        assert_eq!(s.of(&Kind::Test).map(|f| f.line).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn classifies_attributes() {
        assert_eq!(
            classify("tokio::test(flavor=\"x\")"),
            Some(Kind::Foreign("tokio::test(flavor=\"x\")".into()))
        );
        assert_eq!(
            classify("isolated_test(timeout=\"2s\")"),
            Some(Kind::Isolated)
        );
        assert_eq!(classify("isolated_test::test"), Some(Kind::Isolated));
        assert_eq!(
            classify("test_case(1,2)"),
            Some(Kind::Foreign("test_case(1,2)".into()))
        );
        assert_eq!(classify("should_panic"), None);
        assert_eq!(classify("bench"), Some(Kind::Bench));
    }

    #[test]
    fn finds_entry_main_doc_tests_and_mods() {
        let src = "//! ```\n//! x\n//! ```\n#[path = \"other.rs\"]\nmod a;\npub(crate) mod b;\nmod c { }\nfn main() {}\nisolated_test::main!();\n";
        let s = scan(src);
        assert_eq!(
            (s.doc_test, s.fn_main, s.entry),
            (Some(1), Some(8), Some(9))
        );
        assert_eq!(
            s.mods,
            [
                ModDecl {
                    name: "a".into(),
                    path: Some("other.rs".into())
                },
                ModDecl {
                    name: "b".into(),
                    path: None
                }
            ]
        );
    }

    #[test]
    fn fn_main_counts_only_outside_every_block() {
        assert_eq!(scan("mod m {\n    fn main() {}\n}\n").fn_main, None);
        assert_eq!(
            scan("mod m { #[test] fn main() {} }\nfn main() {}\n").fn_main,
            Some(2)
        );
        assert_eq!(scan("fn f() { fn main() {} }").fn_main, None);
    }

    #[test]
    fn crate_cfgs_and_the_features_they_ask_for() {
        let s = scan("//! Docs.\n#![cfg(feature = \"std\")]\n#![no_std]\n#![cfg(all(feature = \"a\", feature=\"b\"))]\nmod m { #![cfg(x)] }\n");
        assert_eq!(
            s.crate_cfgs,
            [
                (2, "feature=\"std\"".to_string()),
                (4, "all(feature=\"a\",feature=\"b\")".to_string())
            ]
        );
        assert_eq!(features_of(&s.crate_cfgs[0].1), Some(vec!["std".into()]));
        assert_eq!(
            features_of(&s.crate_cfgs[1].1),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(features_of("unix"), None);
        assert_eq!(features_of("all(feature=\"a\",unix)"), None);
        assert_eq!(features_of("any(feature=\"a\",feature=\"b\")"), None);
    }

    #[test]
    fn the_shadowing_import_goes_into_the_deepest_module_found() {
        let src = "//! Docs.\n#![allow(x)]\nfn a() {}\nmod t {\n    #![allow(y)]\n    mod u {\n        m!();\n    }\n}\n";
        assert_eq!(
            add_shadow(src, &[], false).unwrap(),
            "//! Docs.\n#![allow(x)]\n#[allow(unused_imports)]\nuse isolated_test::test;\nfn a() {}\nmod t {\n    #![allow(y)]\n    mod u {\n        m!();\n    }\n}\n"
        );
        let deep = add_shadow(src, &["t", "u", "generated"], true).unwrap();
        assert_eq!(
            deep,
            "//! Docs.\n#![allow(x)]\nfn a() {}\nmod t {\n    #![allow(y)]\n    mod u {\n        #[cfg(test)]\n        #[allow(unused_imports)]\n        use isolated_test::test;\n        m!();\n    }\n}\n"
        );
        assert_eq!(add_shadow(&deep, &["t", "u"], true), None);
        assert_eq!(
            add_shadow("mod t {\n}\nmod u {}\n", &["u"], false).unwrap(),
            "mod t {\n}\nmod u {\n    #[allow(unused_imports)]\n    use isolated_test::test;\n}\n"
        );
    }

    #[test]
    fn a_global_allocator_is_found_and_its_attribute_dropped() {
        let src = "use x::Y;\n\n#[global_allocator]\npub static GLOBAL: Y = Y;\nmod m { #[cfg(a)] #[global_allocator] static B: Y = Y; }\n";
        let found = scan(src).global_allocator.unwrap();
        assert_eq!(
            (
                found.line,
                found.name.as_deref(),
                found.top_level,
                found.cfg
            ),
            (5, Some("B"), false, true)
        );
        let src = "use x::Y;\n\n#[global_allocator]\npub static GLOBAL: Y = Y;\n";
        let found = scan(src).global_allocator.unwrap();
        assert_eq!(
            (
                found.line,
                found.name.as_deref(),
                found.top_level,
                found.cfg
            ),
            (3, Some("GLOBAL"), true, false)
        );
        assert_eq!(
            drop_global_allocator(src, &found, false),
            "use x::Y;\n\npub static GLOBAL: Y = Y;\n"
        );
        assert_eq!(
            drop_global_allocator(src, &found, true),
            "use x::Y;\n\n#[cfg_attr(not(test), global_allocator)]\npub static GLOBAL: Y = Y;\n"
        );
        assert_eq!(
            add_entry(src, false, Some("GLOBAL")),
            format!("{src}\nisolated_test::main!(allocator = &GLOBAL);\n")
        );
    }

    #[test]
    fn entry_macro_goes_at_the_end() {
        assert_eq!(
            add_entry("fn a() {}\n", false, None),
            "fn a() {}\n\nisolated_test::main!();\n"
        );
        assert_eq!(
            add_entry("fn a() {}", true, None),
            "fn a() {}\n\n#[cfg(test)]\nisolated_test::main!();\n"
        );
    }

    #[test]
    fn a_2015_root_gets_its_extern_crates_after_its_inner_attributes() {
        assert_eq!(
            add_extern_crates("//! Docs.\n#![deny(missing_docs)]\n\nfn a() {}\n", false, true).unwrap(),
            "//! Docs.\n#![deny(missing_docs)]\n\nextern crate core;\nextern crate isolated_test;\n\nfn a() {}\n"
        );
        assert_eq!(
            add_extern_crates("fn a() {}\n", true, true).unwrap(),
            "#[cfg(test)]\nextern crate core;\n#[cfg(test)]\nextern crate isolated_test;\n\nfn a() {}\n"
        );
    }

    #[test]
    fn a_no_std_root_gets_std_and_one_with_them_all_is_left() {
        assert_eq!(
            add_extern_crates("#![no_std]\nfn a() {}\n", false, true).unwrap(),
            "#![no_std]\n\nextern crate isolated_test;\nextern crate std;\n\nfn a() {}\n"
        );
        assert_eq!(
            add_extern_crates("#![cfg_attr(not(test), no_std)]\n", false, true).unwrap(),
            "#![cfg_attr(not(test), no_std)]\n\n#[cfg(not(not(test)))]\nextern crate core;\nextern crate isolated_test;\n#[cfg(not(test))]\nextern crate std;\n"
        );
        let all = "extern crate core;\nextern crate isolated_test;\nfn a() {}\n";
        assert_eq!(add_extern_crates(all, false, true), None);
        // 2018 on: std alone, and only where the root is no_std.
        assert_eq!(add_extern_crates("fn a() {}\n", false, false), None);
        assert_eq!(
            add_extern_crates("#![no_std]\nfn a() {}\n", false, false).unwrap(),
            "#![no_std]\n\nextern crate std;\n\nfn a() {}\n"
        );
    }
}
