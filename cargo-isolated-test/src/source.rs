//! What a source file holds that matters to isolated-test, and the rewriting of its `#[test]`s.
//!
//! Everything here is a pure function of the file's text (see [`crate::lex`] for why a masked copy
//! is scanned): [`scan`] finds test attributes, the entry macro, `fn main` and `mod` declarations;
//! [`edit::rewrite`] turns libtest's `#[test]` into `#[isolated_test::isolated_test]`, and the
//! rest of [`edit`] makes the other changes adopt makes to a file.

pub mod edit;

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use crate::lex::{self, Attr};

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
    /// inside a `mod` or a function is not the crate's entry point), less a `#[test] fn main`.
    pub fn_main: Option<usize>,
    /// Line of a `#[test] fn main` outside every block: under libtest a test named `main`, not
    /// an entry point, but at a root it would clash with the `fn main` that `main!` writes.
    pub test_main: Option<usize>,
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
/// An item that is `fn main`, from its start: its qualifiers, then `fn main(` (group 1).
static FN_MAIN_ITEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^\s*(?:pub\s*(?:\([^)]*\))?\s*)?(?:(?:const|async|unsafe|extern\s*(?:"[^"]*")?)\s+)*(fn\s+main\s*\()"#,
    )
    .unwrap()
});
static FEATURE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"^feature="([^"]*)"$"#).unwrap());
static MOD_DECL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(mod)\s+(?:r#)?([A-Za-z_][A-Za-z0-9_]*)\s*;").unwrap());
static CFG_MOD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(?:pub\s*(?:\([^)]*\))?\s*)?mod\s+\w+\s*\{").unwrap());
static PATH_ATTR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^\s*path\s*=\s*"([^"]*)"\s*$"#).unwrap());
static STATIC_ITEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:pub\s*(?:\([^)]*\))?\s*)?static\s+([A-Za-z_][A-Za-z0-9_]*)\s*:").unwrap()
});

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
    // Where each `fn main` under a `#[test]` starts: a test, not an entry point.
    let mut test_mains = Vec::new();
    for (g, group) in lex::groups(&masked, &attrs).into_iter().enumerate() {
        let items = &attrs[group.clone()];
        // Where the item the group stands on starts.
        let after = attrs[group.end - 1].span.end;
        let has_cfg_test = items.iter().any(|a| {
            let s = lex::squash(&masked[a.inner.clone()]);
            s == "cfg(test)" || s.starts_with("cfg(all(test,")
        });
        if has_cfg_test {
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
            let span = items[k].span.clone();
            out.global_allocator = Some(global_allocator(src, &masked, span, after, &squashed));
        }
        let found = out.found.len();
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
        if out.found[found..].iter().any(|f| f.kind == Kind::Test) {
            test_mains.extend(
                FN_MAIN_ITEM
                    .captures(&masked[after..])
                    .map(|c| after + c.get(1).unwrap().start()),
            );
        }
    }
    out.entry = ENTRY_RE.find(&masked).map(|m| lex::line_of(src, m.start()));
    let mains = FN_MAIN.find_iter(&masked).map(|m| m.start());
    out.fn_main = top_level(&masked, mains.filter(|at| !test_mains.contains(at)))
        .map(|at| lex::line_of(src, at));
    out.test_main = top_level(&masked, test_mains.into_iter()).map(|at| lex::line_of(src, at));
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

/// The `#[global_allocator]` at `span`, whose group of attributes (`squashed`) ends at `after`.
fn global_allocator(
    src: &str,
    masked: &str,
    span: Range<usize>,
    after: usize,
    squashed: &[String],
) -> GlobalAllocator {
    GlobalAllocator {
        line: lex::line_of(src, span.start),
        name: STATIC_ITEM
            .captures(&masked[after..])
            .map(|c| c[1].to_string()),
        top_level: top_level(masked, [span.start].into_iter()).is_some(),
        cfg: squashed
            .iter()
            .any(|s| s.starts_with("cfg(") || s.starts_with("cfg_attr(")),
        span,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_test_named_main_is_no_entry_point() {
        let at = |src: &str| {
            let s = scan(src);
            (s.fn_main, s.test_main)
        };
        // dhat's tests: a test named main, its attributes (a doc comment too) standing apart.
        let dhat = "#[global_allocator]\nstatic ALLOC: dhat::Alloc = dhat::Alloc;\n\n#[test]\n/// Docs.\n#[should_panic(expected = \"x\")]\npub async fn main() {}\n";
        assert_eq!(at(dhat), (None, Some(7)));
        assert_eq!(
            at("#[cfg_attr(not(miri), test)]\nfn main() {}\n"),
            (None, Some(2))
        );
        // In a module it is a test, and no clash.
        assert_eq!(
            at("mod m {\n    #[test]\n    fn main() {}\n}\n"),
            (None, None)
        );
        // Not a test: another attribute, another fn, a fn main of its own.
        assert_eq!(at("#[inline]\nfn main() {}\n"), (Some(2), None));
        assert_eq!(
            at("#[test]\nfn main_test() {}\nfn main() {}\n"),
            (Some(3), None)
        );
        assert_eq!(at("#[test]\nfn t() {}\n// fn main() {}\n"), (None, None));
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
}
