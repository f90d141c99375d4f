//! `cargo isolated-test`: checks that a crate's isolated tests run, and moves a crate's tests
//! from libtest to isolated-test.
//!
//! - `cargo isolated-test check` lists every place where isolated tests would be silently lost
//!   (exit 1), or says ok (exit 0).
//! - `cargo isolated-test adopt` rewrites `#[test]`s, Cargo.toml's targets and the entry macros so
//!   every test target runs under isolated-test; `--dry-run` shows the diff instead.
//! - `cargo isolated-test` alone shows what `adopt` would do, and changes nothing.
//!
//! Errors are one `error: ...` line and exit 2.

mod adopt;
mod apply;
mod build;
mod check;
mod lex;
mod manifest;
mod source;
mod targets;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo-isolated-test",
    bin_name = "cargo isolated-test",
    version,
    about = "Check that isolated tests run, and adopt a crate's tests into isolated-test"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    select: Select,
}

#[derive(Args, Clone, Default)]
struct Select {
    /// Package(s) to work on [default: the current package, or every member at a virtual root]
    #[arg(short = 'p', long = "package", value_name = "PACKAGE", global = true)]
    packages: Vec<String>,
    /// Path to Cargo.toml
    #[arg(long, value_name = "PATH", global = true)]
    manifest_path: Option<PathBuf>,
}

/// Cargo's feature selection, as `cargo test` takes it: the features every build is made with.
#[derive(Args, Clone, Default)]
#[command(next_help_heading = "Feature Selection")]
struct Features {
    /// Space or comma separated list of features to activate
    #[arg(short = 'F', long, value_name = "FEATURES")]
    features: Vec<String>,
    /// Activate all available features
    #[arg(long)]
    all_features: bool,
    /// Do not activate the `default` feature
    #[arg(long)]
    no_default_features: bool,
}

impl Features {
    /// The arguments cargo takes for them.
    fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for f in &self.features {
            args.extend(["--features".to_string(), f.clone()]);
        }
        if self.all_features {
            args.push("--all-features".into());
        }
        if self.no_default_features {
            args.push("--no-default-features".into());
        }
        args
    }
}

#[derive(Subcommand)]
enum Command {
    /// Exit 1 listing every place isolated tests would be silently lost, else say ok
    Check {
        /// Read the sources only: build nothing (tests other crates' macros write go unseen)
        #[arg(long)]
        no_build: bool,
        #[command(flatten)]
        features: Features,
    },
    /// Make every test target run under isolated-test
    Adopt {
        /// Print a unified diff of every change and write nothing (nothing is built)
        #[arg(long)]
        dry_run: bool,
        /// Write the changes without building: nothing proves that no test is lost
        #[arg(long)]
        no_build: bool,
        /// Depend on isolated-test at this path (the harness/ directory of a clone)
        #[arg(long, value_name = "DIR", conflicts_with = "git")]
        path: Option<PathBuf>,
        /// Depend on isolated-test from this git repository
        #[arg(long, value_name = "URL")]
        git: Option<String>,
        /// With --git: this branch
        #[arg(long, requires = "git", conflicts_with_all = ["tag", "rev"])]
        branch: Option<String>,
        /// With --git: this tag
        #[arg(long, requires = "git", conflicts_with = "rev")]
        tag: Option<String>,
        /// With --git: this commit
        #[arg(long, requires = "git")]
        rev: Option<String>,
        #[command(flatten)]
        features: Features,
    },
}

impl Command {
    /// The feature arguments its builds are made with.
    fn feature_args(&self) -> Vec<String> {
        match self {
            Command::Check { features, .. } | Command::Adopt { features, .. } => features.args(),
        }
    }
}

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Run as `cargo isolated-test ...`, cargo passes the subcommand's name first.
    if args.get(1).is_some_and(|a| a == "isolated-test") {
        args.remove(1);
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            let line = text.lines().next().unwrap_or("error: bad arguments");
            eprintln!("{}", line.trim_end());
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    let manifest = match &cli.select.manifest_path {
        Some(p) if p.is_file() => p.clone(),
        Some(p) => return Err(format!("manifest path `{}` does not exist", p.display())),
        None => targets::find_manifest(&cwd)?,
    };
    let mut ws = targets::load(&manifest, &cli.select.packages)?;
    ws.features = cli
        .command
        .as_ref()
        .map_or_else(Vec::new, Command::feature_args);
    let show = |p: &Path| match p.strip_prefix(&cwd) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => p.display().to_string(),
    };
    let mut out = std::io::stdout().lock();
    let w =
        |out: &mut std::io::StdoutLock, s: &str| writeln!(out, "{s}").map_err(|e| e.to_string());
    match cli.command {
        Some(Command::Check { no_build, .. }) => {
            let report = check::check(&ws, no_build, &show)?;
            for p in &report.problems {
                w(&mut out, p)?;
            }
            if !report.problems.is_empty() {
                return Ok(ExitCode::from(1));
            }
            let n = |k: usize, one: &str| format!("{k} {one}{}", if k == 1 { "" } else { "s" });
            w(
                &mut out,
                &format!(
                    "ok: {} checked in {}, {} using isolated-test, no test lost",
                    n(report.targets, "target"),
                    n(ws.packages.len(), "package"),
                    report.isolated
                ),
            )?;
        }
        Some(Command::Adopt {
            dry_run,
            no_build,
            path,
            git,
            branch,
            tag,
            rev,
            ..
        }) => {
            let dep = match (path, git) {
                (Some(p), _) => adopt::DepSpec::Path(
                    cwd.join(&p)
                        .canonicalize()
                        .map_err(|e| format!("--path {}: {e}", p.display()))?,
                ),
                (None, Some(url)) => adopt::DepSpec::Git {
                    url,
                    reference: [("branch", branch), ("tag", tag), ("rev", rev)]
                        .into_iter()
                        .find_map(|(k, v)| Some((k, v?))),
                },
                (None, None) => default_dep(),
            };
            if dry_run {
                dry(&ws, &dep, &show, &mut out)?;
            } else {
                return adopt(&ws, &dep, no_build, &show, &mut out);
            }
        }
        None => dry(&ws, &default_dep(), &show, &mut out)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// isolated-test's crate beside the sources this tool was built from (a clone of its repository),
/// if it is still there; else version 0.1 from the registry.
fn default_dep() -> adopt::DepSpec {
    let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("../harness");
    let ours = std::fs::read_to_string(harness.join("Cargo.toml"))
        .is_ok_and(|t| t.contains("name = \"isolated-test\""));
    match harness.canonicalize() {
        Ok(dir) if ours => adopt::DepSpec::Path(dir),
        _ => adopt::DepSpec::Version("0.1".into()),
    }
}

/// `--dry-run`: the diff of every change, written nowhere.
fn dry(
    ws: &targets::Workspace,
    dep: &adopt::DepSpec,
    show: &dyn Fn(&Path) -> String,
    out: &mut std::io::StdoutLock,
) -> Result<(), String> {
    let plan = adopt::plan(ws, dep, &adopt::Options::default(), show)?;
    let mut text = String::new();
    for (path, old, new) in &plan.changes {
        let name = show(path);
        let diff = similar::TextDiff::from_lines(old, new);
        text += &diff
            .unified_diff()
            .header(&format!("a/{name}"), &format!("b/{name}"))
            .to_string();
    }
    for line in &plan.lines {
        text += line;
        text.push('\n');
    }
    let counts = counts(&plan, "to adopt");
    text += &if plan.changes.is_empty() {
        format!("nothing to change ({counts})\n")
    } else {
        format!(
            "dry run: {} files to change ({counts}); nothing written\n",
            plan.changes.len()
        )
    };
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())
}

fn counts(plan: &adopt::Plan, adopted: &str) -> String {
    format!(
        "targets: {} {adopted}, {} already adopted, {} left alone",
        plan.adopted, plan.already, plan.left_alone
    )
}

/// `adopt`: writes the changes and, unless `no_build`, proves by building that no test is lost.
/// Exit 1 when a target it meant to adopt was put back.
fn adopt(
    ws: &targets::Workspace,
    dep: &adopt::DepSpec,
    no_build: bool,
    show: &dyn Fn(&Path) -> String,
    out: &mut std::io::StdoutLock,
) -> Result<ExitCode, String> {
    let applied = apply::adopt(ws, dep, no_build, show)?;
    let plan = &applied.plan;
    let mut text = String::new();
    for line in &plan.lines {
        text += line;
        text.push('\n');
    }
    for (path, _, _) in &plan.changes {
        text += &format!("wrote {}\n", show(path));
    }
    if !applied.proof.is_empty() {
        text += &applied.proof;
        text.push('\n');
    }
    let counts = counts(plan, "adopted");
    text += &if plan.changes.is_empty() {
        format!("nothing to change ({counts})\n")
    } else {
        format!("{} files changed ({counts})\n", plan.changes.len())
    };
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(if applied.put_back {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
