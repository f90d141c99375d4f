//! `check`: every place where isolated tests would be silently lost, one line each.
//!
//! Three ways to lose them: a target using isolated-test without `harness = false` (libtest runs
//! it instead), a plain `#[test]` in a `harness = false` target (nothing runs it), and a
//! `harness = false` target that registers isolated tests without `isolated_test::main!` (no
//! entry point collects them). The first two show in the sources; a `#[test]` written by another
//! crate's macro (`quickcheck! { ... }`) shows only in a build: when the sources are sound, each
//! `harness = false` target using isolated-test is built once more as a libtest binary, where
//! every `#[test]` still there is one that never runs ([`crate::build::dropped`]).

use std::path::Path;

use crate::adopt::TargetKey;
use crate::build;
use crate::manifest;
use crate::source::Kind;
use crate::targets::{Target, Workspace};

/// The outcome: problem lines (empty when all is well) and how many targets were checked and
/// used isolated-test.
pub struct Report {
    pub problems: Vec<String>,
    pub targets: usize,
    pub isolated: usize,
}

pub fn check(
    ws: &Workspace,
    no_build: bool,
    show: &dyn Fn(&Path) -> String,
) -> Result<Report, String> {
    let mut report = Report {
        problems: Vec::new(),
        targets: 0,
        isolated: 0,
    };
    let mut to_build = Vec::new();
    for (p, package) in ws.packages.iter().enumerate() {
        let text = std::fs::read_to_string(&package.manifest)
            .map_err(|e| format!("{}: {e}", show(&package.manifest)))?;
        let doc =
            manifest::parse(&text).map_err(|e| format!("{}: {e}", show(&package.manifest)))?;
        for (t, target) in package.targets.iter().enumerate() {
            report.targets += 1;
            let what = target.describe(&package.name, ws.packages.len() > 1);
            let Some(sources) = sources(ws, target, &doc, &what, show) else {
                continue;
            };
            report.isolated += 1;
            if sources.harness_false {
                to_build.push((p, t));
            }
            report.problems.extend(sources.problems);
        }
    }
    if no_build || !report.problems.is_empty() {
        return Ok(report);
    }
    report.problems = dropped_tests(ws, &to_build, show)?;
    Ok(report)
}

/// What the sources and the manifest say of a target that uses isolated-test.
struct Sources {
    /// Its problem lines.
    problems: Vec<String>,
    /// It has `harness = false`: a `#[test]` another crate's macro writes there never runs.
    harness_false: bool,
}

/// What the sources of `target` (`what`) and its manifest `doc` say, if it uses isolated-test.
fn sources(
    ws: &Workspace,
    target: &Target,
    doc: &toml_edit::DocumentMut,
    what: &str,
    show: &dyn Fn(&Path) -> String,
) -> Option<Sources> {
    let scans: Vec<_> = target
        .files
        .iter()
        .filter_map(|f| ws.scans.get(f).map(|(_, s)| (f, s)))
        .collect();
    let (_, root) = scans.first()?;
    // The first sign of isolated-test: an #[isolated_test], else the entry macro.
    let (file, line) = scans
        .iter()
        .find_map(|(f, s)| s.of(&Kind::Isolated).next().map(|i| (*f, i.line)))
        .or(root.entry.map(|line| (&target.root, line)))?;
    let mut problems = Vec::new();
    let harness_false = manifest::harness(doc, target.lib, &target.name) == Some(false);
    if harness_false {
        for (f, s) in &scans {
            for t in s.of(&Kind::Test) {
                problems.push(format!(
                    "{}:{}: plain #[test] in {what} (harness = false) never runs: make it #[isolated_test]",
                    show(f),
                    t.line
                ));
            }
        }
    } else {
        problems.push(format!(
            "{}:{line}: {what} uses isolated-test but Cargo.toml does not give it harness = false",
            show(file)
        ));
    }
    let registers = scans
        .iter()
        .any(|(_, s)| s.of(&Kind::Isolated).next().is_some());
    if registers && root.entry.is_none() {
        problems.push(format!(
            "{}:{}: {what} registers #[isolated_test] tests but has no isolated_test::main!(), so none runs",
            show(&target.root),
            root.lines
        ));
    }
    Some(Sources {
        problems,
        harness_false,
    })
}

/// The tests of `targets` (each `harness = false`, the sources sound) that rustc drops: built
/// once more as libtest binaries, each `#[test]` still listed is one that never runs.
fn dropped_tests(
    ws: &Workspace,
    targets: &[TargetKey],
    show: &dyn Fn(&Path) -> String,
) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    for (key, listed) in build::dropped(ws, targets)? {
        let (p, t) = key;
        let target = &ws.packages[p].targets[t];
        let what = target.describe(&ws.packages[p].name, ws.packages.len() > 1);
        let dropped = listed.map_err(|e| {
            format!(
                "{what} does not build as a libtest binary, so its tests cannot be checked: {e}"
            )
        })?;
        for name in dropped {
            problems.push(format!(
                "{}: test `{name}` of {what} never runs: rustc drops its #[test] under harness = false (another crate's macro wrote it? `use isolated_test::test;` in the module that calls the macro makes it an isolated test)",
                show(&target.root)
            ));
        }
    }
    Ok(problems)
}
