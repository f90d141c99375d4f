//! Whether a target moves to isolated-test, and if not, why: the lines `left alone: ...` say.

use std::path::{Path, PathBuf};

use crate::manifest;
use crate::source::{self, Kind};
use crate::targets::{Package, Target, Workspace};

/// What becomes of a target.
pub enum Verdict {
    /// Nothing to move: a library without tests.
    Skip,
    /// Move it, with these features required (the root is cut out without them).
    Adopt(Vec<String>),
    /// Why not, one line each (`file:line: ...`).
    LeftAlone(Vec<String>),
}

/// The verdict on `target` of `package`, its Cargo.toml being `doc`, from its sources alone.
pub fn verdict(
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
    if let Some(line) = own_main(target, root, &what, show) {
        return Verdict::LeftAlone(vec![line]);
    }
    if !isolated {
        if let Some(line) = global_allocator(target, &scans, &what, show) {
            return Verdict::LeftAlone(vec![line]);
        }
    }
    let required = if isolated {
        Vec::new()
    } else {
        match required_features(package, target, root, &what, show) {
            Ok(required) => required,
            Err(line) => return Verdict::LeftAlone(vec![line]),
        }
    };
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
    Verdict::Adopt(required)
}

/// Why a `fn main` at the top level of the root keeps `target` with libtest, if one does and the
/// root has no entry macro yet: a test root's own `fn main` is a custom harness; a `#[test] fn
/// main` is a test named `main`, which would clash with the `fn main` that `main!` writes.
fn own_main(
    target: &Target,
    root: &source::Scan,
    what: &str,
    show: &dyn Fn(&Path) -> String,
) -> Option<String> {
    if root.entry.is_some() {
        return None;
    }
    let at = |line| format!("{}:{line}", show(&target.root));
    if let Some(line) = root.fn_main.filter(|_| !target.lib) {
        return Some(format!(
            "{}: {what} has its own fn main (a custom harness)",
            at(line)
        ));
    }
    let line = root.test_main?;
    Some(format!(
        "{}: {what} has a test named main (#[test] fn main), which under harness = false would clash with the fn main that isolated_test::main! writes; rename the test to adopt it",
        at(line)
    ))
}

/// The features a root cut out whole by `#![cfg(...)]` needs, for its `required-features`: under
/// libtest such a crate still gets libtest's empty `main`, but under `harness = false` it would
/// have none, and fail to build whenever the cfg is off; cargo skips a target whose required
/// features are off. A cfg that asks for anything but features is the line saying so.
fn required_features(
    package: &Package,
    target: &Target,
    root: &source::Scan,
    what: &str,
    show: &dyn Fn(&Path) -> String,
) -> Result<Vec<String>, String> {
    let mut required: Vec<String> = Vec::new();
    for (line, pred) in &root.crate_cfgs {
        let at = format!("{}:{line}", show(&target.root));
        let cut = format!("{at}: {what} is cut out whole by #![cfg({pred})]");
        let Some(features) = source::features_of(pred) else {
            return Err(format!(
                "{cut}, which asks for more than features (under harness = false it would have no main when the cfg is off, and cargo's required-features stands only for features)"
            ));
        };
        if target.lib {
            return Err(format!(
                "{cut} (under harness = false it would have no main when the cfg is off, and a library takes no required-features)"
            ));
        }
        for f in features {
            if !package.features.contains(&f) {
                return Err(format!(
                    "{cut}, and package `{}` has no feature `{f}`: its tests never build",
                    package.name
                ));
            }
            if !required.contains(&f) {
                required.push(f);
            }
        }
    }
    Ok(required)
}

/// Why a target's own `#[global_allocator]` cannot be kept by `main!(allocator = &NAME)`, if it
/// cannot: `main!` installs the one global allocator at the root's end, so the static must be a
/// plain static there, outside every block and behind no cfg.
fn global_allocator(
    target: &Target,
    scans: &[(&PathBuf, &source::Scan)],
    what: &str,
    show: &dyn Fn(&Path) -> String,
) -> Option<String> {
    for (file, scan) in scans {
        let Some(g) = &scan.global_allocator else {
            continue;
        };
        let at = format!("{}:{}", show(file), g.line);
        let why = if **file != target.root || !g.top_level {
            "not at the root's top level"
        } else if g.name.is_none() {
            "not on a static"
        } else if g.cfg {
            "behind a cfg"
        } else {
            continue;
        };
        return Some(format!(
            "{at}: {what} has its own #[global_allocator], {why}: isolated_test::main!(allocator = &STATIC) counts through a plain static at the root's top level (there can be one global allocator)"
        ));
    }
    None
}
