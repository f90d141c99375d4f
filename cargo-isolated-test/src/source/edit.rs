//! The changes `adopt` makes to a source file's text, each a pure function of it: [`rewrite`]
//! turns libtest's `#[test]` into `#[isolated_test::isolated_test]`; the others add what a target
//! then needs (the entry macro, the `extern crate` items of a root, the import that reaches the
//! `#[test]`s another crate's macro writes), or take out what `main!` takes over (a root's own
//! `#[global_allocator]`).

use std::sync::LazyLock;

use regex::Regex;

use super::{inner_attributes, GlobalAllocator, Kind, Scan};
use crate::lex;

/// The attribute every `#[test]` becomes.
pub const ISOLATED: &str = "isolated_test::isolated_test";
/// The entry macro a test root ends with; a library's is behind `#[cfg(test)]`.
pub const ENTRY: &str = "isolated_test::main!();";

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
    use crate::source::scan;

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
