//! `check`: every place where isolated tests would be silently lost, one line each.
//!
//! Three ways to lose them: a target using isolated-test without `harness = false` (libtest runs
//! it instead), a plain `#[test]` in a `harness = false` target (nothing runs it), and a
//! `harness = false` target that registers isolated tests without `isolated_test::main!` (no
//! entry point collects them).

use std::path::Path;

use crate::manifest;
use crate::source::Kind;
use crate::targets::Workspace;

/// The outcome: problem lines (empty when all is well) and how many targets were checked and
/// used isolated-test.
pub struct Report {
    pub problems: Vec<String>,
    pub targets: usize,
    pub isolated: usize,
}

pub fn check(ws: &Workspace, show: &dyn Fn(&Path) -> String) -> Result<Report, String> {
    let mut report = Report {
        problems: Vec::new(),
        targets: 0,
        isolated: 0,
    };
    for package in &ws.packages {
        let text = std::fs::read_to_string(&package.manifest)
            .map_err(|e| format!("{}: {e}", show(&package.manifest)))?;
        let doc =
            manifest::parse(&text).map_err(|e| format!("{}: {e}", show(&package.manifest)))?;
        for target in &package.targets {
            report.targets += 1;
            let what = target.describe(&package.name, ws.packages.len() > 1);
            let scans: Vec<_> = target
                .files
                .iter()
                .filter_map(|f| ws.scans.get(f).map(|(_, s)| (f, s)))
                .collect();
            let Some((_, root)) = scans.first() else {
                continue;
            };
            // The first sign of isolated-test: an #[isolated_test], else the entry macro.
            let first = scans
                .iter()
                .find_map(|(f, s)| s.of(&Kind::Isolated).next().map(|i| (*f, i.line)))
                .or(root.entry.map(|line| (&target.root, line)));
            let Some((file, line)) = first else { continue };
            report.isolated += 1;
            if manifest::harness(&doc, target.lib, &target.name) != Some(false) {
                report.problems.push(format!(
                    "{}:{line}: {what} uses isolated-test but Cargo.toml does not give it harness = false",
                    show(file)
                ));
            } else {
                for (f, s) in &scans {
                    for t in s.of(&Kind::Test) {
                        report.problems.push(format!(
                            "{}:{}: plain #[test] in {what} (harness = false) never runs: make it #[isolated_test]",
                            show(f),
                            t.line
                        ));
                    }
                }
            }
            let registers = scans
                .iter()
                .any(|(_, s)| s.of(&Kind::Isolated).next().is_some());
            if registers && root.entry.is_none() {
                report.problems.push(format!(
                    "{}:{}: {what} registers #[isolated_test] tests but has no isolated_test::main!(), so none runs",
                    show(&target.root),
                    root.lines
                ));
            }
        }
    }
    Ok(report)
}
