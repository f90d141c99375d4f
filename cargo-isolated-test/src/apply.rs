//! `adopt` for real: writes the plan, then proves by building that no test is lost.
//!
//! Each adopted target is built and listed under libtest before any change, and again under
//! isolated-test after it. A test listed before and not after would no longer run: the target
//! first gets `use isolated_test::test;` in the modules those tests are in (a `#[test]` another
//! crate's macro writes resolves where the macro is called), and if tests are still lost, or it
//! does not build, it is put back as it was, left to libtest with the tests named, and adopt
//! exits 1. Nothing is left in a state where a test silently does not run.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::adopt::{self, DepSpec, Options, Plan, TargetKey};
use crate::build;
use crate::targets::Workspace;

/// What was done: the final plan (written), whether a target was put back, and the proof.
pub struct Applied {
    pub plan: Plan,
    pub put_back: bool,
    /// `built: ...`, or `not built ...` under `--no-build`.
    pub proof: String,
}

/// The files written so far, each with its text before adopt.
#[derive(Default)]
struct Written(BTreeMap<PathBuf, String>);

impl Written {
    fn write(&mut self, plan: &Plan, show: &dyn Fn(&Path) -> String) -> Result<(), String> {
        for (path, old, new) in &plan.changes {
            self.0.entry(path.clone()).or_insert_with(|| old.clone());
            std::fs::write(path, new).map_err(|e| format!("{}: {e}", show(path)))?;
        }
        Ok(())
    }

    fn restore(&mut self, show: &dyn Fn(&Path) -> String) -> Result<(), String> {
        for (path, old) in std::mem::take(&mut self.0) {
            std::fs::write(&path, old).map_err(|e| format!("{}: {e}", show(&path)))?;
        }
        Ok(())
    }
}

/// Plans, writes and (unless `no_build`) proves the adoption of `ws`.
pub fn adopt(
    ws: &Workspace,
    dep: &DepSpec,
    no_build: bool,
    show: &dyn Fn(&Path) -> String,
) -> Result<Applied, String> {
    let mut options = Options::default();
    let mut plan = adopt::plan(ws, dep, &options, show)?;
    let mut written = Written::default();
    if no_build || plan.changes.is_empty() {
        written.write(&plan, show)?;
        let proof = if plan.changes.is_empty() {
            String::new()
        } else {
            "not built (--no-build): nothing proved that no test is lost; `cargo isolated-test check` builds them".into()
        };
        return Ok(Applied {
            plan,
            put_back: false,
            proof,
        });
    }
    let lock_path = ws.root.join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path).ok();
    let undo = |written: &mut Written| -> Result<(), String> {
        written.restore(show)?;
        match &lock {
            Some(text) => std::fs::write(&lock_path, text).map_err(|e| e.to_string()),
            None => std::fs::remove_file(&lock_path).or(Ok(())),
        }
    };
    // The dependency first, in the manifests alone: a wrong one stops adopt before any build.
    let manifests = Plan {
        changes: plan
            .changes
            .iter()
            .filter(|(path, _, _)| ws.packages.iter().any(|p| p.manifest == *path))
            .cloned()
            .collect(),
        ..Plan::default()
    };
    written.write(&manifests, show)?;
    let resolved = resolve(ws, dep);
    undo(&mut written)?;
    resolved?;
    let before = build::list(ws, &plan.targets, &plan.features).map_err(|e| {
        format!("`cargo test --no-run` failed before any change (nothing was changed): {e}")
    })?;
    for (&key, listed) in &before {
        if let Err(e) = listed {
            options.put_back.insert(
                key,
                vec![format!(
                    "{}: does not build under libtest as it is: {e}",
                    describe(ws, key, show)
                )],
            );
        }
    }
    if !options.put_back.is_empty() {
        plan = adopt::plan(ws, dep, &options, show)?;
    }
    let mut tried_shadow: BTreeMap<TargetKey, BTreeSet<String>> = BTreeMap::new();
    let mut put_back = false;
    for round in 0.. {
        written.write(&plan, show)?;
        if plan.targets.is_empty() {
            break;
        }
        let after = match build::list(ws, &plan.targets, &plan.features) {
            Ok(after) => after,
            Err(e) => {
                undo(&mut written)?;
                return Err(format!(
                    "`cargo test --no-run` failed after adopting (every change was undone): {e}"
                ));
            }
        };
        let mut again = false;
        for &key in &plan.targets {
            let had = before.get(&key).and_then(|r| r.as_ref().ok());
            let Some(had) = had else { continue };
            let why = match &after[&key] {
                Err(e) => match tried_shadow.get(&key) {
                    Some(lost) => format!(
                        "{}; with `use isolated_test::test;` to reach them it does not build: {e}",
                        lost_line(ws, key, lost, had.len(), show)
                    ),
                    None => format!(
                        "{}: does not build under isolated-test, so it stays with libtest: {e}",
                        describe(ws, key, show)
                    ),
                },
                Ok(now) => {
                    let lost: BTreeSet<String> = had.difference(now).cloned().collect();
                    if lost.is_empty() {
                        continue;
                    }
                    if let Entry::Vacant(first) = tried_shadow.entry(key) {
                        let modules = lost.iter().map(|t| module_of(t)).collect();
                        options.shadow.insert(key, modules);
                        first.insert(lost);
                        again = true;
                        continue;
                    }
                    lost_line(ws, key, &lost, had.len(), show)
                }
            };
            options.shadow.remove(&key);
            options.put_back.insert(key, vec![why]);
            put_back = true;
            again = true;
        }
        if !again {
            break;
        }
        if round == 3 {
            // Each target is tried as it is, with the import, then put back: never this far.
            undo(&mut written)?;
            return Err("adopting did not settle after 3 builds (every change was undone)".into());
        }
        written.restore(show)?;
        plan = adopt::plan(ws, dep, &options, show)?;
    }
    if plan.changes.is_empty() {
        undo(&mut written)?;
    }
    let total: usize = plan
        .targets
        .iter()
        .filter_map(|k| before.get(k)?.as_ref().ok())
        .map(BTreeSet::len)
        .sum();
    let proof = if plan.targets.is_empty() {
        String::new()
    } else {
        let n = plan.targets.len();
        format!(
            "built: all {total} tests libtest ran in the {n} target{} adopted are listed under isolated-test",
            if n == 1 { "" } else { "s" }
        )
    };
    Ok(Applied {
        plan,
        put_back,
        proof,
    })
}

/// `file:1: target`, for a line about a target as a whole.
fn describe(ws: &Workspace, (p, t): TargetKey, show: &dyn Fn(&Path) -> String) -> String {
    let target = &ws.packages[p].targets[t];
    format!(
        "{}:1: {}",
        show(&target.root),
        target.describe(&ws.packages[p].name, ws.packages.len() > 1)
    )
}

fn lost_line(
    ws: &Workspace,
    key: TargetKey,
    lost: &BTreeSet<String>,
    of: usize,
    show: &dyn Fn(&Path) -> String,
) -> String {
    let names: Vec<&str> = lost.iter().map(String::as_str).collect();
    format!(
        "{} stays with libtest: {} of its {of} tests would not run under isolated-test: {}",
        describe(ws, key, show),
        lost.len(),
        names.join(", ")
    )
}

/// The module a test named `a::b::name` is in: `a::b`.
fn module_of(test: &str) -> String {
    test.rsplit_once("::")
        .map_or(String::new(), |(m, _)| m.to_string())
}

/// Whether the dependency written resolves (`cargo metadata`); the line saying what works if not.
fn resolve(ws: &Workspace, dep: &DepSpec) -> Result<(), String> {
    let Some(package) = ws.packages.first() else {
        return Ok(());
    };
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "metadata",
            "--format-version=1",
            "--color=never",
            "--manifest-path",
        ])
        .arg(&package.manifest)
        .output()
        .map_err(|e| format!("could not run cargo metadata: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("error"))
        .unwrap_or(err.trim())
        .trim_start_matches("error: ");
    Err(match dep {
        DepSpec::Version(v) => format!(
            "isolated-test = \"{v}\" does not resolve ({line}); nothing was changed. isolated-test is not on crates.io: name where it is, as in `cargo isolated-test adopt --path CLONE/harness` (a clone of {repo}) or `cargo isolated-test adopt --git {repo}`",
            repo = env!("CARGO_PKG_REPOSITORY")
        ),
        _ => format!("the isolated-test dependency does not resolve ({line}); nothing was changed"),
    })
}
