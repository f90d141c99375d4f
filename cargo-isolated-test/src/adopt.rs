//! `adopt`: plans every change that puts a package's tests under isolated-test, then writes it or
//! shows it as a diff.
//!
//! A target is moved whole or not at all: `harness = false` drops every test libtest would have
//! run, so a target holding anything isolated-test does not take over one for one (its own
//! `fn main`, `#[bench]`, another crate's test attribute) is left exactly as it is, and said so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::manifest::{self, Dep};
use crate::source::{self, Kind};
use crate::targets::{Package, Target, Workspace};

/// Everything `adopt` would do.
#[derive(Debug, Default)]
pub struct Plan {
    /// Changed files: (path, old text, new text), in the order found.
    pub changes: Vec<(PathBuf, String, String)>,
    /// One line per target changed, then one per thing left alone.
    pub lines: Vec<String>,
    pub adopted: usize,
    pub already: usize,
    pub left_alone: usize,
}

/// What `--path` or the default gives: a version, or an absolute path to isolated-test's crate.
#[derive(Debug, Clone)]
pub enum DepSpec {
    Version(String),
    Path(PathBuf),
}

/// The plan for every package of `ws`. `show` names a file in messages.
pub fn plan(ws: &Workspace, dep: &DepSpec, show: &dyn Fn(&Path) -> String) -> Result<Plan, String> {
    let mut plan = Plan::default();
    // Source files by path, as they will be written: a file shared by targets is edited once.
    let mut files: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut order: Vec<PathBuf> = Vec::new();
    for package in &ws.packages {
        let text = std::fs::read_to_string(&package.manifest)
            .map_err(|e| format!("{}: {e}", show(&package.manifest)))?;
        let mut doc =
            manifest::parse(&text).map_err(|e| format!("{}: {e}", show(&package.manifest)))?;
        let mut any = false;
        // A 2015-edition package would lose its other discovered tests at our first [[test]].
        let keep_discovery =
            package.edition == "2015" && manifest::discovery_stops_at_first_entry(&doc);
        let mut autotests = false;
        for target in &package.targets {
            let what = target.describe(&package.name, ws.packages.len() > 1);
            let mut done = Vec::new();
            match verdict(ws, package, target, &doc, show) {
                Verdict::Skip => continue,
                Verdict::LeftAlone(lines) => {
                    plan.left_alone += 1;
                    plan.lines
                        .extend(lines.into_iter().map(|l| format!("left alone: {l}")));
                    continue;
                }
                Verdict::Adopt => {}
            }
            any = true;
            if manifest::harness(&doc, target.lib, &target.name) != Some(false) {
                if target.lib {
                    manifest::set_lib_harness_false(&mut doc);
                    done.push("[lib] harness = false".to_string());
                } else if manifest::is_explicit_test(&doc, &target.name) {
                    manifest::set_test_harness_false(&mut doc, &target.name, "")?;
                    done.push("harness = false".to_string());
                } else {
                    let path = relative(&target.root, &package.dir);
                    manifest::set_test_harness_false(&mut doc, &target.name, &path)?;
                    done.push("[[test]] entry with harness = false".to_string());
                    if keep_discovery && !autotests {
                        manifest::set_autotests(&mut doc);
                        autotests = true;
                    }
                }
            }
            let mut rewritten = 0;
            for file in &target.files {
                let Some((original, scan)) = ws.scans.get(file) else {
                    continue;
                };
                if !files.contains_key(file) {
                    let in_src = file.starts_with(package.dir.join("src"));
                    let (new, n) = source::rewrite(original, scan, in_src);
                    rewritten += n;
                    files.insert(file.clone(), new);
                    order.push(file.clone());
                }
            }
            if rewritten > 0 {
                done.push(format!("{rewritten} #[test] rewritten"));
            }
            if target.edition == "2015" && ws.scans.contains_key(&target.root) {
                if let Some(new) = source::add_extern_crates(&files[&target.root], target.lib) {
                    files.insert(target.root.clone(), new);
                    done.push("extern crate items added (2015 edition)".to_string());
                }
            }
            if ws
                .scans
                .get(&target.root)
                .is_some_and(|(_, s)| s.entry.is_none())
            {
                let text = files.get(&target.root).cloned().unwrap_or_default();
                files.insert(target.root.clone(), source::add_entry(&text, target.lib));
                done.push("entry macro added".to_string());
            }
            if done.is_empty() {
                plan.already += 1;
            } else {
                plan.adopted += 1;
                plan.lines
                    .push(format!("adopted: {what}: {}", done.join(", ")));
            }
        }
        if autotests {
            plan.lines.push(format!(
                "adopted: package `{}`: autotests = true (2015 edition: cargo would stop finding tests/ files at the first [[test]] entry)",
                package.name
            ));
        }
        if any && !manifest::has_isolated_test(&doc) {
            let dep = match dep {
                DepSpec::Version(v) => Dep::Version(v.clone()),
                DepSpec::Path(p) => Dep::Path(relative(p, &package.dir)),
            };
            manifest::add_dev_dependency(&mut doc, &dep);
            plan.lines.push(format!(
                "adopted: package `{}`: dev-dependency isolated-test",
                package.name
            ));
        }
        if let Some(line) = doc_tests(ws, package, show) {
            plan.lines.push(format!("left alone: {line}"));
        }
        let new = doc.to_string();
        if new != text {
            plan.changes.push((package.manifest.clone(), text, new));
        }
    }
    for file in order {
        let old = &ws.scans[&file].0;
        if files[&file] != *old {
            plan.changes
                .push((file.clone(), old.clone(), files[&file].clone()));
        }
    }
    Ok(plan)
}

enum Verdict {
    /// Nothing to move: a library without tests.
    Skip,
    Adopt,
    /// Why not, one line each (`file:line: ...`).
    LeftAlone(Vec<String>),
}

fn verdict(
    ws: &Workspace,
    package: &Package,
    target: &Target,
    doc: &toml_edit::DocumentMut,
    show: &dyn Fn(&Path) -> String,
) -> Verdict {
    let what = target.describe(&package.name, ws.packages.len() > 1);
    let scans: Vec<(&PathBuf, &source::Scan)> = target
        .files
        .iter()
        .filter_map(|f| ws.scans.get(f).map(|(_, s)| (f, s)))
        .collect();
    let Some((_, root)) = scans.first() else {
        return Verdict::Skip;
    };
    let isolated = scans
        .iter()
        .any(|(_, s)| s.of(&Kind::Isolated).next().is_some())
        || root.entry.is_some();
    let tests = scans
        .iter()
        .any(|(_, s)| s.of(&Kind::Test).next().is_some());
    if !target.lib {
        if let (Some(line), None) = (root.fn_main, root.entry) {
            let at = format!("{}:{line}", show(&target.root));
            return Verdict::LeftAlone(vec![format!(
                "{at}: {what} has its own fn main (a custom harness)"
            )]);
        }
    }
    // Under libtest a crate cut away by `#![cfg(...)]` still gets libtest's empty main; under
    // harness = false it would have no main at all, and fail to build whenever the cfg is off.
    if let (Some(line), false) = (root.crate_cfg, isolated) {
        if tests {
            let at = format!("{}:{line}", show(&target.root));
            return Verdict::LeftAlone(vec![format!(
                "{at}: {what} is cut out whole by #![cfg(...)] (under harness = false it would have no main when the cfg is off)"
            )]);
        }
    }
    if manifest::harness(doc, target.lib, &target.name) == Some(false) && !isolated {
        let at = format!("{}:1", show(&target.root));
        return Verdict::LeftAlone(vec![format!(
            "{at}: {what} has harness = false for another harness"
        )]);
    }
    let mut why = Vec::new();
    for (file, scan) in &scans {
        let mut groups = Vec::new();
        for f in &scan.found {
            let at = format!("{}:{}", show(file), f.line);
            match &f.kind {
                Kind::Bench => why.push(format!(
                    "{at}: {what} has #[bench] (benchmarks stay with libtest)"
                )),
                Kind::Foreign(attr) if !groups.contains(&f.group) => {
                    groups.push(f.group);
                    why.push(format!(
                        "{at}: {what} has #[{attr}], another crate's test attribute isolated-test does not take over"
                    ));
                }
                _ => {}
            }
        }
    }
    if !why.is_empty() {
        return Verdict::LeftAlone(why);
    }
    if target.lib && !tests && !isolated {
        return Verdict::Skip;
    }
    Verdict::Adopt
}

/// The package's doc tests, which rustdoc runs whatever the harness: said once per package.
fn doc_tests(ws: &Workspace, package: &Package, show: &dyn Fn(&Path) -> String) -> Option<String> {
    let lib = package.targets.iter().find(|t| t.lib && t.doctest)?;
    lib.files.iter().find_map(|f| {
        let line = ws.scans.get(f)?.1.doc_test?;
        Some(format!(
            "{}:{line}: doc tests of package `{}` stay with rustdoc",
            show(f),
            package.name
        ))
    })
}

/// `path` relative to the directory `base`, with `/` separators, as Cargo.toml writes paths.
pub fn relative(path: &Path, base: &Path) -> String {
    let path = path.canonicalize().unwrap_or(path.to_path_buf());
    let base = base.canonicalize().unwrap_or(base.to_path_buf());
    let common = path
        .components()
        .zip(base.components())
        .take_while(|(a, b)| a == b)
        .count();
    let ups = base.components().count() - common;
    let parts: Vec<String> = std::iter::repeat_n("..".to_string(), ups)
        .chain(
            path.components()
                .skip(common)
                .map(|c| c.as_os_str().to_string_lossy().into_owned()),
        )
        .collect();
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(relative(Path::new("/a/b/c.rs"), Path::new("/a")), "b/c.rs");
        assert_eq!(relative(Path::new("/a/h"), Path::new("/a/x/y")), "../../h");
        assert_eq!(relative(Path::new("/a"), Path::new("/a")), ".");
    }
}
