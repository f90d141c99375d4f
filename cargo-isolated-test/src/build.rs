//! Building test targets with cargo and listing their tests: how `adopt` and `check` prove that
//! no test is lost.
//!
//! A test binary lists its tests with `--list --format terse` (`name: test`, ignored ones too),
//! libtest's and isolated-test's alike. rustc drops every `#[test]` of a `harness = false` target,
//! so what one would lose shows only in another build of it: as a libtest binary (`cargo rustc
//! ... -- --test`), where each `#[test]` still there is a test that never runs under isolated-test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::adopt::TargetKey;
use crate::targets::Workspace;

/// The test `isolated_test::main!` writes for libtest alone (it fails saying `harness = false` is
/// missing): in a libtest build of an adopted target, not a test that is lost.
pub const PHANTOM: &str = "isolated_tests_need_harness_false";

/// What a build gave each target: its tests' names, or the first line of why it did not build.
pub type Listed = BTreeMap<TargetKey, Result<BTreeSet<String>, String>>;

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Builds `targets` as `cargo test` builds them, each with the `features` it requires on (each
/// group of a package with the same ones in one `cargo test --no-run`) besides the workspace's
/// feature selection, and lists each one's tests. `Err` when cargo failed for no target of its own (a dependency that does not resolve
/// or build).
pub fn list(
    ws: &Workspace,
    targets: &[TargetKey],
    features: &BTreeMap<TargetKey, Vec<String>>,
) -> Result<Listed, String> {
    let mut groups: BTreeMap<(usize, Vec<String>), Vec<TargetKey>> = BTreeMap::new();
    for &(p, t) in targets {
        let mut features = features.get(&(p, t)).cloned().unwrap_or_default();
        features.sort();
        groups.entry((p, features)).or_default().push((p, t));
    }
    let mut listed = Listed::new();
    for ((p, features), keys) in groups {
        let package = &ws.packages[p];
        let mut cmd = cargo();
        cmd.args([
            "test",
            "--no-run",
            "--message-format=json",
            "--color=never",
            "--manifest-path",
        ])
        .arg(&package.manifest)
        .args(["-p", &package.spec]);
        for &(_, t) in &keys {
            let target = &package.targets[t];
            if target.lib {
                cmd.arg("--lib");
            } else {
                cmd.args(["--test", &target.name]);
            }
        }
        if !features.is_empty() {
            cmd.args(["--features", &features.join(",")]);
        }
        cmd.args(&ws.features);
        listed.extend(run_and_list(ws, cmd, &keys, false)?);
    }
    Ok(listed)
}

/// Builds each of `targets` (`harness = false`) once more as a libtest binary, with the features
/// it requires and the workspace's feature selection, and lists the `#[test]`s rustc dropped from
/// its own build: every test there but [`PHANTOM`].
pub fn dropped(ws: &Workspace, targets: &[TargetKey]) -> Result<Listed, String> {
    let mut listed = Listed::new();
    for &(p, t) in targets {
        let package = &ws.packages[p];
        let target = &package.targets[t];
        let mut cmd = cargo();
        cmd.args([
            "rustc",
            "--profile",
            "test",
            "--message-format=json",
            "--color=never",
        ])
        .arg("--manifest-path")
        .arg(&package.manifest)
        .args(["-p", &package.spec]);
        if target.lib {
            cmd.arg("--lib");
        } else {
            cmd.args(["--test", &target.name]);
        }
        if !target.required_features.is_empty() {
            cmd.args(["--features", &target.required_features.join(",")]);
        }
        cmd.args(&ws.features);
        // Silence what a libtest build of isolated-test's own `main` says (never called).
        cmd.args(["--", "--test", "-A", "warnings"]);
        listed.extend(run_and_list(ws, cmd, &[(p, t)], true)?);
    }
    Ok(listed)
}

/// Runs the cargo build `cmd` (JSON messages), then each built target of `keys` with `--list`.
fn run_and_list(
    ws: &Workspace,
    mut cmd: Command,
    keys: &[TargetKey],
    libtest: bool,
) -> Result<Listed, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    let (p, _) = keys[0];
    let package = &ws.packages[p];
    let key_of = |target: &Value| {
        let name = target["name"].as_str()?;
        let lib = !target["kind"]
            .as_array()?
            .iter()
            .any(|k| k == "test" || k == "bin" || k == "bench" || k == "example");
        keys.iter()
            .copied()
            .find(|&(_, t)| package.targets[t].lib == lib && package.targets[t].name == name)
    };
    let mut bins: BTreeMap<TargetKey, PathBuf> = BTreeMap::new();
    let mut errors: BTreeMap<TargetKey, String> = BTreeMap::new();
    for line in out.stdout.split(|&b| b == b'\n') {
        let Ok(msg) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        let Some(key) = key_of(&msg["target"]) else {
            continue;
        };
        match msg["reason"].as_str() {
            Some("compiler-artifact") if msg["profile"]["test"] == true => {
                if let Some(exe) = msg["executable"].as_str() {
                    bins.insert(key, PathBuf::from(exe));
                }
            }
            Some("compiler-message") if msg["message"]["level"] == "error" => {
                let rendered = msg["message"]["rendered"].as_str().unwrap_or_default();
                let mut first = rendered.lines().next().unwrap_or_default().to_string();
                if let Some(at) = rendered.lines().find_map(|l| l.trim().strip_prefix("--> ")) {
                    first = format!("{first} (at {at})");
                }
                errors.entry(key).or_insert(first);
            }
            _ => {}
        }
    }
    if !out.status.success() && errors.is_empty() {
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or(err.trim());
        return Err(line.trim_start_matches("error: ").to_string());
    }
    let mut listed = Listed::new();
    for &key in keys {
        let result = match (errors.remove(&key), bins.get(&key)) {
            (Some(e), _) => Err(e),
            (None, Some(exe)) => tests_of(exe, &package.dir, libtest),
            (None, None) => Err("cargo built no test binary for it".to_string()),
        };
        listed.insert(key, result);
    }
    Ok(listed)
}

/// The tests `exe --list --format terse` names (less [`PHANTOM`] in a libtest build of an
/// isolated-test target), run from `dir` as cargo runs tests.
fn tests_of(exe: &Path, dir: &Path, libtest: bool) -> Result<BTreeSet<String>, String> {
    let out = Command::new(exe)
        .args(["--list", "--format", "terse"])
        .current_dir(dir)
        .output()
        .map_err(|e| format!("could not run {}: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} --list --format terse failed ({})",
            exe.display(),
            out.status
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .filter(|name| !(libtest && *name == PHANTOM))
        .map(str::to_string)
        .collect())
}
