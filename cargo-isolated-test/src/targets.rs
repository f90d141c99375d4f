//! Which packages and targets there are, and which source files belong to each.
//!
//! Packages and targets come from `cargo metadata` (run, not linked: its JSON is all we need, and
//! it sees auto-discovered targets exactly as cargo will build them). The files of a target are its
//! root plus whatever its `mod name;` declarations reach, followed the way rustc does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::source::{self, Scan};

/// A library or test target of a package.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub lib: bool,
    pub root: PathBuf,
    /// Whether rustdoc runs its doc tests (libraries only).
    pub doctest: bool,
    /// Its edition (`2015` is the one whose paths need `extern crate` items at the root).
    pub edition: String,
    /// The root, then every file its `mod` declarations reach.
    pub files: Vec<PathBuf>,
    /// The module path of each of `files` (empty for the root).
    pub modules: Vec<Vec<String>>,
    /// The features cargo needs on to build it (its `required-features`).
    pub required_features: Vec<String>,
}

impl Target {
    /// How it is named in messages; a test target names its package too when `many` are chosen.
    pub fn describe(&self, package: &str, many: bool) -> String {
        match (self.lib, many) {
            (true, _) => format!("lib of package `{package}`"),
            (false, false) => format!("test target `{}`", self.name),
            (false, true) => format!("test target `{}` of package `{package}`", self.name),
        }
    }
}

#[derive(Debug)]
pub struct Package {
    pub name: String,
    /// Its package ID spec, which names it for `-p` even where another version shares its name.
    pub spec: String,
    pub manifest: PathBuf,
    pub dir: PathBuf,
    /// Its edition: in 2015, cargo stops discovering tests/ files at the first `[[test]]` entry.
    pub edition: String,
    /// The lib (if any) first, then test targets by name.
    pub targets: Vec<Target>,
    /// The names of its features (optional dependencies' implicit ones included).
    pub features: Vec<String>,
}

/// The packages chosen on the command line, with their targets and every file scanned once.
pub struct Workspace {
    /// The workspace's root directory, where Cargo.lock is.
    pub root: PathBuf,
    pub packages: Vec<Package>,
    pub scans: BTreeMap<PathBuf, (String, Scan)>,
    /// Cargo's feature selection from the command line (`--features F`, `--all-features`,
    /// `--no-default-features`), as cargo's arguments: every build is made with them.
    pub features: Vec<String>,
}

/// The manifest `cargo` would use from `dir`: the nearest Cargo.toml at or above it.
pub fn find_manifest(dir: &Path) -> Result<PathBuf, String> {
    dir.ancestors()
        .map(|d| d.join("Cargo.toml"))
        .find(|m| m.is_file())
        .ok_or_else(|| {
            format!(
                "could not find Cargo.toml in {} or any parent directory",
                dir.display()
            )
        })
}

/// Loads the packages named by `names` (all of them must be workspace members), or by default
/// the package of `manifest`, or every member when `manifest` is a virtual workspace's root.
pub fn load(manifest: &Path, names: &[String]) -> Result<Workspace, String> {
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "metadata",
            "--format-version=1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(manifest)
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or(err.trim());
        return Err(format!(
            "cargo metadata failed: {}",
            line.trim_start_matches("error: ")
        ));
    }
    let meta: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let members: Vec<&Value> = meta["packages"]
        .as_array()
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    let manifest = manifest.canonicalize().unwrap_or(manifest.to_path_buf());
    let chosen: Vec<&Value> = if names.is_empty() {
        let own: Vec<&Value> = members
            .iter()
            .copied()
            .filter(|p| p["manifest_path"].as_str().map(Path::new) == Some(manifest.as_path()))
            .collect();
        if own.is_empty() {
            members
        } else {
            own
        }
    } else {
        names
            .iter()
            .map(|n| {
                members
                    .iter()
                    .copied()
                    .find(|p| p["name"] == n.as_str())
                    .ok_or_else(|| format!("package `{n}` is not a member of this workspace"))
            })
            .collect::<Result<_, _>>()?
    };
    let mut ws = Workspace {
        root: PathBuf::from(meta["workspace_root"].as_str().unwrap_or_default()),
        packages: Vec::new(),
        scans: BTreeMap::new(),
        features: Vec::new(),
    };
    for p in chosen {
        let package = package(p, &mut ws.scans);
        ws.packages.push(package);
    }
    Ok(ws)
}

fn package(p: &Value, scans: &mut BTreeMap<PathBuf, (String, Scan)>) -> Package {
    let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap_or_default());
    let dir = manifest.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut targets = Vec::new();
    for t in p["targets"].as_array().into_iter().flatten() {
        let kinds: Vec<&str> = t["kind"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        // A proc-macro crate's unit tests cannot be handed to another harness's main.
        let lib = kinds
            .iter()
            .any(|k| ["lib", "rlib", "dylib", "cdylib", "staticlib"].contains(k));
        if !lib && !kinds.contains(&"test") {
            continue;
        }
        let root = PathBuf::from(t["src_path"].as_str().unwrap_or_default());
        let (files, modules) = reachable(&root, scans).into_iter().unzip();
        targets.push(Target {
            name: t["name"].as_str().unwrap_or_default().to_string(),
            lib,
            root,
            doctest: lib && t["doctest"].as_bool().unwrap_or(true),
            edition: t["edition"].as_str().unwrap_or("2015").to_string(),
            files,
            modules,
            required_features: strings(&t["required-features"]),
        });
    }
    targets.sort_by(|a, b| (!a.lib, &a.name).cmp(&(!b.lib, &b.name)));
    Package {
        name: p["name"].as_str().unwrap_or_default().to_string(),
        spec: p["id"].as_str().unwrap_or_default().to_string(),
        manifest,
        dir,
        edition: p["edition"].as_str().unwrap_or("2015").to_string(),
        targets,
        features: p["features"]
            .as_object()
            .map(|f| f.keys().cloned().collect())
            .unwrap_or_default(),
    }
}

/// The strings of a JSON array (none if it is not one).
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// `root` and every file its `mod name;` declarations reach, each with its module path and
/// scanned into `scans` once.
fn reachable(
    root: &Path,
    scans: &mut BTreeMap<PathBuf, (String, Scan)>,
) -> Vec<(PathBuf, Vec<String>)> {
    let mut files = vec![(root.to_path_buf(), Vec::new())];
    let mut k = 0;
    while k < files.len() {
        let (file, module) = files[k].clone();
        k += 1;
        if !scans.contains_key(&file) {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let scan = source::scan(&text);
            scans.insert(file.clone(), (text, scan));
        }
        let is_root = k == 1;
        for m in &scans[&file].1.mods {
            if let Some(found) = module_file(&file, is_root, &m.name, m.path.as_deref()) {
                if !files.iter().any(|(f, _)| *f == found) {
                    let mut path = module.clone();
                    path.push(m.name.clone());
                    files.push((found, path));
                }
            }
        }
    }
    files
}

/// The file of `mod name;` declared in `file`, as rustc finds it: beside a crate root or a
/// `mod.rs`, in a directory named after any other file; `#[path]` relative to the file's directory.
fn module_file(file: &Path, is_root: bool, name: &str, path: Option<&str>) -> Option<PathBuf> {
    let dir = file.parent()?;
    if let Some(p) = path {
        return Some(dir.join(p)).filter(|f| f.is_file());
    }
    let owns_dir = is_root || file.file_name().is_some_and(|n| n == "mod.rs");
    let base = if owns_dir {
        dir.to_path_buf()
    } else {
        dir.join(file.file_stem()?)
    };
    [
        base.join(format!("{name}.rs")),
        base.join(name).join("mod.rs"),
    ]
    .into_iter()
    .find(|f| f.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_found_as_rustc_finds_them() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        for f in [
            "tests/t.rs",
            "tests/a.rs",
            "tests/common/mod.rs",
            "tests/common/b.rs",
            "tests/x.rs",
        ] {
            std::fs::create_dir_all(p.join(f).parent().unwrap()).unwrap();
            std::fs::write(p.join(f), "").unwrap();
        }
        std::fs::write(
            p.join("tests/t.rs"),
            "mod a;\nmod common;\n#[path = \"x.rs\"]\nmod y;\n",
        )
        .unwrap();
        std::fs::write(p.join("tests/common/mod.rs"), "mod b;").unwrap();
        let mut scans = BTreeMap::new();
        let files = reachable(&p.join("tests/t.rs"), &mut scans);
        let rel: Vec<_> = files
            .iter()
            .map(|(f, m)| {
                let f = f.strip_prefix(p).unwrap().to_str().unwrap();
                format!("{f} {}", m.join("::"))
            })
            .collect();
        assert_eq!(
            rel,
            [
                "tests/t.rs ",
                "tests/a.rs a",
                "tests/common/mod.rs common",
                "tests/x.rs y",
                "tests/common/b.rs common::b"
            ]
        );
    }
}
