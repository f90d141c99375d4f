//! `adopt` for real: writes the plan, then proves by building that no test is lost.
//!
//! Each adopted target is built and listed under libtest before any change, and again under
//! isolated-test after it. A test listed before and not after would no longer run: the target
//! first gets `use isolated_test::test;` in the modules those tests are in (a `#[test]` another
//! crate's macro writes resolves where the macro is called), and if tests are still lost, or it
//! does not build, it is put back as it was, left to libtest with the tests named, and adopt
//! exits 1. Nothing is left in a state where a test silently does not run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::adopt::{self, DepSpec, Options, Plan, TargetKey};
use crate::build::{self, Listed};
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
    let plan = adopt::plan(ws, dep, &Options::default(), show)?;
    if no_build || plan.changes.is_empty() {
        Written::default().write(&plan, show)?;
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
    let mut adoption = Adoption {
        ws,
        dep,
        show,
        written: Written::default(),
        lock: std::fs::read_to_string(&lock_path).ok(),
        lock_path,
    };
    adoption.check_dependency(&plan)?;
    let before = build::list(ws, &plan.targets, &plan.features).map_err(|e| {
        format!("`cargo test --no-run` failed before any change (nothing was changed): {e}")
    })?;
    let options = Options {
        put_back: unbuildable(ws, &before, show),
        ..Options::default()
    };
    let plan = if options.put_back.is_empty() {
        plan
    } else {
        adopt::plan(ws, dep, &options, show)?
    };
    let (plan, put_back) = adoption.settle(plan, options, &before)?;
    if plan.changes.is_empty() {
        adoption.undo()?;
    }
    let proof = proof(&plan, &before);
    Ok(Applied {
        plan,
        put_back,
        proof,
    })
}

/// An adoption being proved: what it works on, and what it has changed, to undo.
struct Adoption<'a> {
    ws: &'a Workspace,
    dep: &'a DepSpec,
    show: &'a dyn Fn(&Path) -> String,
    written: Written,
    /// Cargo.lock as it was (`None`: there was none), for the builds may change it.
    lock: Option<String>,
    lock_path: PathBuf,
}

/// What the build after adopting says of a target whose tests libtest listed.
enum Judgement {
    /// It lists them all.
    Kept,
    /// It does not list these: try again with `use isolated_test::test;` in their modules.
    Shadow(BTreeSet<String>),
    /// It stays with libtest, for this reason.
    PutBack(String),
}

impl Adoption<'_> {
    /// Puts back every file written, and Cargo.lock, as they were.
    fn undo(&mut self) -> Result<(), String> {
        self.written.restore(self.show)?;
        match &self.lock {
            Some(text) => std::fs::write(&self.lock_path, text).map_err(|e| e.to_string()),
            None => std::fs::remove_file(&self.lock_path).or(Ok(())),
        }
    }

    /// Writes the dependency, in the manifests alone, and undoes it: a wrong one stops adopt
    /// before any build.
    fn check_dependency(&mut self, plan: &Plan) -> Result<(), String> {
        let manifests = Plan {
            changes: plan
                .changes
                .iter()
                .filter(|(path, _, _)| self.ws.packages.iter().any(|p| p.manifest == *path))
                .cloned()
                .collect(),
            ..Plan::default()
        };
        self.written.write(&manifests, self.show)?;
        let resolved = resolve(self.ws, self.dep);
        self.undo()?;
        resolved
    }

    /// Writes `plan` and builds it until every target adopted lists all the tests it listed
    /// `before`: one that does not is given `use isolated_test::test;` where they are, then put
    /// back. The plan as written, and whether a target was put back.
    fn settle(
        &mut self,
        mut plan: Plan,
        mut options: Options,
        before: &Listed,
    ) -> Result<(Plan, bool), String> {
        let mut tried_shadow: BTreeMap<TargetKey, BTreeSet<String>> = BTreeMap::new();
        let mut put_back = false;
        for round in 0.. {
            self.written.write(&plan, self.show)?;
            if plan.targets.is_empty() {
                break;
            }
            let after = match build::list(self.ws, &plan.targets, &plan.features) {
                Ok(after) => after,
                Err(e) => {
                    self.undo()?;
                    return Err(format!(
                        "`cargo test --no-run` failed after adopting (every change was undone): {e}"
                    ));
                }
            };
            let mut again = false;
            for &key in &plan.targets {
                let had = before.get(&key).and_then(|r| r.as_ref().ok());
                let Some(had) = had else { continue };
                match self.judge(key, had, &after[&key], tried_shadow.get(&key)) {
                    Judgement::Kept => continue,
                    Judgement::Shadow(lost) => {
                        let modules = lost.iter().map(|t| module_of(t)).collect();
                        options.shadow.insert(key, modules);
                        tried_shadow.insert(key, lost);
                    }
                    Judgement::PutBack(why) => {
                        options.shadow.remove(&key);
                        options.put_back.insert(key, vec![why]);
                        put_back = true;
                    }
                }
                again = true;
            }
            if !again {
                break;
            }
            if round == 3 {
                // Each target is tried as it is, with the import, then put back: never this far.
                self.undo()?;
                return Err(
                    "adopting did not settle after 3 builds (every change was undone)".into(),
                );
            }
            self.written.restore(self.show)?;
            plan = adopt::plan(self.ws, self.dep, &options, self.show)?;
        }
        Ok((plan, put_back))
    }

    /// What the build after (`now`) says of target `key`, which listed `had` under libtest;
    /// `tried`: the tests it lost before it was given the import, if it was.
    fn judge(
        &self,
        key: TargetKey,
        had: &BTreeSet<String>,
        now: &Result<BTreeSet<String>, String>,
        tried: Option<&BTreeSet<String>>,
    ) -> Judgement {
        let (ws, show) = (self.ws, self.show);
        let now = match now {
            Ok(now) => now,
            Err(e) => {
                return Judgement::PutBack(match tried {
                    Some(lost) => format!(
                        "{}; with `use isolated_test::test;` to reach them it does not build: {e}",
                        lost_line(ws, key, lost, had.len(), show)
                    ),
                    None => format!(
                        "{}: does not build under isolated-test, so it stays with libtest: {e}",
                        describe(ws, key, show)
                    ),
                })
            }
        };
        let lost: BTreeSet<String> = had.difference(now).cloned().collect();
        if lost.is_empty() {
            Judgement::Kept
        } else if tried.is_none() {
            Judgement::Shadow(lost)
        } else {
            Judgement::PutBack(lost_line(ws, key, &lost, had.len(), show))
        }
    }
}

/// The targets that do not build under libtest as they are, each with the line saying so: they
/// are left to libtest.
fn unbuildable(
    ws: &Workspace,
    before: &Listed,
    show: &dyn Fn(&Path) -> String,
) -> BTreeMap<TargetKey, Vec<String>> {
    before
        .iter()
        .filter_map(|(&key, listed)| {
            let e = listed.as_ref().err()?;
            let why = format!(
                "{}: does not build under libtest as it is: {e}",
                describe(ws, key, show)
            );
            Some((key, vec![why]))
        })
        .collect()
}

/// What the builds proved: every test libtest listed in the targets adopted is listed after.
fn proof(plan: &Plan, before: &Listed) -> String {
    if plan.targets.is_empty() {
        return String::new();
    }
    let total: usize = plan
        .targets
        .iter()
        .filter_map(|k| before.get(k)?.as_ref().ok())
        .map(BTreeSet::len)
        .sum();
    let n = plan.targets.len();
    format!(
        "built: all {total} tests libtest ran in the {n} target{} adopted are listed under isolated-test",
        if n == 1 { "" } else { "s" }
    )
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
