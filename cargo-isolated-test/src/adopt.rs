//! `adopt`: plans every change that puts a package's tests under isolated-test, then writes it or
//! shows it as a diff.
//!
//! A target is moved whole or not at all: `harness = false` drops every test libtest would have
//! run, so a target holding anything isolated-test does not take over one for one (its own
//! `fn main`, `#[bench]`, another crate's test attribute) is left exactly as it is, and said so.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::manifest::{self, Dep};
use crate::source::{self, edit};
use crate::targets::{Package, Target, Workspace};

mod verdict;

use verdict::{verdict, Verdict};

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
    /// The targets it changes, for the builds that prove no test is lost.
    pub targets: Vec<TargetKey>,
    /// The features each of them needs on to be built (its `required-features`, as written).
    pub features: BTreeMap<TargetKey, Vec<String>>,
}

/// A target of the workspace: its package's index in [`Workspace::packages`] and its own there.
pub type TargetKey = (usize, usize);

/// What adopt is to do beyond what the sources say, learnt from building them.
#[derive(Debug, Default)]
pub struct Options {
    /// Targets left to libtest whatever they hold, each with the lines saying why.
    pub put_back: BTreeMap<TargetKey, Vec<String>>,
    /// Modules of a target (`a::b`, `` for its root) that get `use isolated_test::test;`, so that
    /// a `#[test]` another crate's macro writes there names isolated-test's attribute.
    pub shadow: BTreeMap<TargetKey, BTreeSet<String>>,
}

/// Where isolated-test is to come from: a version on the registry, an absolute path to its
/// crate, or a git repository (with `branch`, `tag` or `rev` and its value, if given).
#[derive(Debug, Clone)]
pub enum DepSpec {
    Version(String),
    Path(PathBuf),
    Git {
        url: String,
        reference: Option<(&'static str, String)>,
    },
}

impl DepSpec {
    /// The dependency as `package`'s Cargo.toml writes it (a path relative to it).
    fn for_package(&self, package: &Package) -> Dep {
        match self {
            DepSpec::Version(v) => Dep::Version(v.clone()),
            DepSpec::Path(p) => Dep::Path(relative(p, &package.dir)),
            DepSpec::Git { url, reference } => Dep::Git {
                url: url.clone(),
                reference: reference.clone(),
            },
        }
    }
}

/// The plan for every package of `ws`. `show` names a file in messages.
pub fn plan(
    ws: &Workspace,
    dep: &DepSpec,
    options: &Options,
    show: &dyn Fn(&Path) -> String,
) -> Result<Plan, String> {
    let mut planner = Planner {
        ws,
        dep,
        options,
        show,
        plan: Plan::default(),
        files: BTreeMap::new(),
        order: Vec::new(),
    };
    for p in 0..ws.packages.len() {
        planner.package(p)?;
    }
    if planner.plan.adopted > 0 {
        planner.optimise_harness()?;
    }
    let Planner {
        mut plan,
        files,
        order,
        ..
    } = planner;
    for file in order {
        let old = &ws.scans[&file].0;
        if files[&file] != *old {
            plan.changes
                .push((file.clone(), old.clone(), files[&file].clone()));
        }
    }
    Ok(plan)
}

/// [`plan`] under way: what it plans for, and what it has planned so far.
struct Planner<'a> {
    ws: &'a Workspace,
    dep: &'a DepSpec,
    options: &'a Options,
    show: &'a dyn Fn(&Path) -> String,
    plan: Plan,
    /// Source files by path, as they will be written: a file shared by targets is edited once.
    files: BTreeMap<PathBuf, String>,
    /// The same paths, in the order found.
    order: Vec<PathBuf>,
}

/// A package's Cargo.toml as it will be written.
struct CargoToml {
    doc: toml_edit::DocumentMut,
    /// A 2015-edition package would lose its other discovered tests at our first [[test]].
    keep_discovery: bool,
    /// `autotests = true` was written to keep them.
    autotests: bool,
}

impl Planner<'_> {
    /// Plans package `p`: its targets, then what its Cargo.toml needs for them.
    fn package(&mut self, p: usize) -> Result<(), String> {
        let (ws, show) = (self.ws, self.show);
        let package = &ws.packages[p];
        let text = std::fs::read_to_string(&package.manifest)
            .map_err(|e| format!("{}: {e}", show(&package.manifest)))?;
        let doc =
            manifest::parse(&text).map_err(|e| format!("{}: {e}", show(&package.manifest)))?;
        let mut cargo_toml = CargoToml {
            keep_discovery: package.edition == "2015"
                && manifest::discovery_stops_at_first_entry(&doc),
            doc,
            autotests: false,
        };
        let mut any = false;
        for t in 0..package.targets.len() {
            any |= self.target((p, t), &mut cargo_toml)?;
        }
        if cargo_toml.autotests {
            self.plan.lines.push(format!(
                "adopted: package `{}`: autotests = true (2015 edition: cargo would stop finding tests/ files at the first [[test]] entry)",
                package.name
            ));
        }
        if any && !manifest::has_isolated_test(&cargo_toml.doc) {
            manifest::add_dev_dependency(&mut cargo_toml.doc, &self.dep.for_package(package));
            self.plan.lines.push(format!(
                "adopted: package `{}`: dev-dependency isolated-test",
                package.name
            ));
        }
        if let Some(line) = doc_tests(ws, package, show) {
            self.plan.lines.push(format!("left alone: {line}"));
        }
        let new = cargo_toml.doc.to_string();
        if new != text {
            self.plan
                .changes
                .push((package.manifest.clone(), text, new));
        }
        Ok(())
    }

    /// Plans `[profile.dev.package.isolated-test]` ([`manifest::HARNESS_SETTINGS`]) in the workspace root's
    /// manifest (the only one whose profiles cargo reads), on top of the changes planned for it
    /// if it is a package's too.
    fn optimise_harness(&mut self) -> Result<(), String> {
        let root_manifest = self.ws.root.join("Cargo.toml");
        let show = self.show;
        let planned = self
            .plan
            .changes
            .iter()
            .position(|(path, ..)| *path == root_manifest);
        let text = match planned {
            Some(at) => self.plan.changes[at].2.clone(),
            None => std::fs::read_to_string(&root_manifest)
                .map_err(|e| format!("{}: {e}", show(&root_manifest)))?,
        };
        let mut doc =
            manifest::parse(&text).map_err(|e| format!("{}: {e}", show(&root_manifest)))?;
        if !manifest::optimise_harness(&mut doc) {
            return Ok(());
        }
        self.plan.lines.push(format!(
            "adopted: {}: [profile.dev.package.isolated-test] {} (the harness and its counting allocator optimised, quick to build, the tests still in debug)",
            show(&root_manifest),
            manifest::harness_settings_line()
        ));
        match planned {
            Some(at) => self.plan.changes[at].2 = doc.to_string(),
            None => self
                .plan
                .changes
                .push((root_manifest, text, doc.to_string())),
        }
        Ok(())
    }

    /// Plans target `key`: whether it is isolated-test's (adopted now, or before).
    fn target(&mut self, key: TargetKey, cargo_toml: &mut CargoToml) -> Result<bool, String> {
        let ws = self.ws;
        let package = &ws.packages[key.0];
        let target = &package.targets[key.1];
        let verdict = match self.options.put_back.get(&key) {
            Some(lines) => Verdict::LeftAlone(lines.clone()),
            None => verdict(ws, package, target, &cargo_toml.doc, self.show),
        };
        let required = match verdict {
            Verdict::Skip => return Ok(false),
            Verdict::LeftAlone(lines) => {
                self.plan.left_alone += 1;
                self.plan
                    .lines
                    .extend(lines.into_iter().map(|l| format!("left alone: {l}")));
                return Ok(false);
            }
            Verdict::Adopt(required) => required,
        };
        let mut done = Vec::new();
        done.extend(harness_false(package, target, cargo_toml)?);
        let missing: Vec<&String> = required
            .iter()
            .filter(|f| !target.required_features.contains(f))
            .collect();
        if !missing.is_empty() {
            manifest::add_required_features(&mut cargo_toml.doc, &target.name, &missing)?;
            let list: Vec<String> = missing.iter().map(|f| format!("{f:?}")).collect();
            done.push(format!("required-features = [{}]", list.join(", ")));
        }
        done.extend(self.edit_sources(key));
        if done.is_empty() {
            self.plan.already += 1;
        } else {
            self.plan.adopted += 1;
            self.plan.targets.push(key);
            let mut features = target.required_features.clone();
            features.extend(missing.into_iter().cloned());
            self.plan.features.insert(key, features);
            let what = target.describe(&package.name, ws.packages.len() > 1);
            self.plan
                .lines
                .push(format!("adopted: {what}: {}", done.join(", ")));
        }
        Ok(true)
    }

    /// Makes the sources of target `key` isolated-test's, in `self.files`: what was done.
    fn edit_sources(&mut self, key: TargetKey) -> Vec<String> {
        let ws = self.ws;
        let package = &ws.packages[key.0];
        let target = &package.targets[key.1];
        let mut done = Vec::new();
        let rewritten = self.rewrite_tests(package, target);
        if rewritten > 0 {
            done.push(format!("{rewritten} #[test] rewritten"));
        }
        let shadowed = shadow(
            package,
            target,
            self.options.shadow.get(&key),
            &mut self.files,
        );
        if shadowed > 0 {
            done.push(format!(
                "`use isolated_test::test;` added to {shadowed} module{} (for #[test]s another crate's macro writes)",
                if shadowed == 1 { "" } else { "s" }
            ));
        }
        done.extend(self.add_extern_crates(target));
        done.extend(self.add_entry(target));
        done
    }

    /// Rewrites the `#[test]`s of the files of `target` not met before: how many.
    fn rewrite_tests(&mut self, package: &Package, target: &Target) -> usize {
        let mut rewritten = 0;
        for file in &target.files {
            let Some((original, scan)) = self.ws.scans.get(file) else {
                continue;
            };
            if !self.files.contains_key(file) {
                let in_src = file.starts_with(package.dir.join("src"));
                let (new, n) = edit::rewrite(original, scan, in_src);
                rewritten += n;
                self.files.insert(file.clone(), new);
                self.order.push(file.clone());
            }
        }
        rewritten
    }

    /// Gives the root of `target` the `extern crate` items it lacks: what was done, if anything.
    fn add_extern_crates(&mut self, target: &Target) -> Option<String> {
        if !self.ws.scans.contains_key(&target.root) {
            return None;
        }
        let old = target.edition == "2015";
        let new = edit::add_extern_crates(&self.files[&target.root], target.lib, old)?;
        self.files.insert(target.root.clone(), new);
        Some(if old {
            "extern crate items added (2015 edition)".to_string()
        } else {
            "extern crate std added (#![no_std]: isolated-test's macros need std)".to_string()
        })
    }

    /// Ends the root of `target` with the entry macro if it has none: what was done, if anything.
    fn add_entry(&mut self, target: &Target) -> Option<String> {
        let (_, root) = self
            .ws
            .scans
            .get(&target.root)
            .filter(|(_, s)| s.entry.is_none())?;
        let mut text = self.files.get(&target.root).cloned().unwrap_or_default();
        // Kept and counted through: main! installs the one global allocator.
        // Found again in the text as rewritten so far: offsets have moved.
        let allocator = root.global_allocator.as_ref().and_then(|_| {
            let g = source::scan(&text).global_allocator?;
            text = edit::drop_global_allocator(&text, &g, target.lib);
            g.name
        });
        let allocator = allocator.as_deref();
        self.files.insert(
            target.root.clone(),
            edit::add_entry(&text, target.lib, allocator),
        );
        Some(match allocator {
            Some(name) => {
                format!("entry macro added, counting through its #[global_allocator] static {name}")
            }
            None => "entry macro added".to_string(),
        })
    }
}

/// Gives `target` `harness = false` in its Cargo.toml if it lacks it: what was done, if anything.
fn harness_false(
    package: &Package,
    target: &Target,
    cargo_toml: &mut CargoToml,
) -> Result<Option<String>, String> {
    let doc = &mut cargo_toml.doc;
    if manifest::harness(doc, target.lib, &target.name) == Some(false) {
        return Ok(None);
    }
    if target.lib {
        manifest::set_lib_harness_false(doc);
        return Ok(Some("[lib] harness = false".to_string()));
    }
    if manifest::is_explicit_test(doc, &target.name) {
        manifest::set_test_harness_false(doc, &target.name, "")?;
        return Ok(Some("harness = false".to_string()));
    }
    let path = relative(&target.root, &package.dir);
    manifest::set_test_harness_false(doc, &target.name, &path)?;
    if cargo_toml.keep_discovery && !cargo_toml.autotests {
        manifest::set_autotests(doc);
        cargo_toml.autotests = true;
    }
    Ok(Some("[[test]] entry with harness = false".to_string()))
}

/// Adds `use isolated_test::test;` to each of `modules` (deepest found along each path) of
/// `target`, in `files` as they will be written: how many modules it was added to.
fn shadow(
    package: &Package,
    target: &Target,
    modules: Option<&BTreeSet<String>>,
    files: &mut BTreeMap<PathBuf, String>,
) -> usize {
    let mut added = 0;
    for module in modules.into_iter().flatten() {
        let path: Vec<&str> = module.split("::").filter(|m| !m.is_empty()).collect();
        // The file whose module path is the longest prefix of `path`; the rest is inline.
        let Some((file, depth)) = target
            .files
            .iter()
            .zip(&target.modules)
            .filter(|(_, m)| path.starts_with(&m.iter().map(String::as_str).collect::<Vec<_>>()))
            .max_by_key(|(_, m)| m.len())
            .map(|(f, m)| (f, m.len()))
        else {
            continue;
        };
        // Every scanned file of an adopted target is in `files` by now.
        let Some(text) = files.get(file) else {
            continue;
        };
        let in_src = file.starts_with(package.dir.join("src"));
        if let Some(new) = edit::add_shadow(text, &path[depth..], in_src) {
            files.insert(file.clone(), new);
            added += 1;
        }
    }
    added
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
