//! Building the suites as `cargo test` builds them, and preparing cargo-nextest to run the
//! already-built libtest binaries without building again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// This package's name, as `-p` takes it.
const PACKAGE: &str = env!("CARGO_PKG_NAME");

/// The workspace root: cargo commands run there.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the bench package lives in the workspace")
        .to_path_buf()
}

/// The cargo that runs this bench (`$CARGO`, set by `cargo run` and `cargo test`), else `cargo`.
fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(workspace_root());
    command
}

/// The version of `package` that the workspace's Cargo.lock pins (`0.3.1`), if it is there.
pub fn locked_version(package: &str) -> Option<String> {
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock")).ok()?;
    let mut lines = lock.lines();
    let name = format!("name = \"{package}\"");
    lines.find(|line| *line == name)?;
    let version = lines.next()?.strip_prefix("version = \"")?;
    Some(version.trim_end_matches('"').to_owned())
}

/// Runs a cargo command that prints on stdout what we want, passing its stderr through.
fn stdout_of(mut command: Command, what: &str) -> Result<String, String> {
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("{what}: cannot run cargo: {error}"))?;
    if !output.status.success() {
        return Err(format!("{what} failed ({})", output.status));
    }
    String::from_utf8(output.stdout).map_err(|_| format!("{what} printed non-UTF-8 output"))
}

/// Builds the named test targets of this package in the debug test profile, exactly as
/// `cargo test` builds them (`cargo test --no-run --test NAME ...`), and returns each target's
/// executable, read from cargo's JSON messages.
pub fn build_suites(targets: &[&str]) -> Result<HashMap<String, PathBuf>, String> {
    let mut command = cargo();
    command.args([
        "test",
        "--no-run",
        "--message-format=json-render-diagnostics",
        "-p",
        PACKAGE,
    ]);
    for target in targets {
        command.args(["--test", target]);
    }
    let stdout = stdout_of(command, "building the suites")?;
    let mut executables = HashMap::new();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" || message["profile"]["test"] != true {
            continue;
        }
        if let (Some(name), Some(executable)) = (
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) {
            executables.insert(name.to_owned(), PathBuf::from(executable));
        }
    }
    if let Some(missing) = targets.iter().find(|t| !executables.contains_key(**t)) {
        return Err(format!(
            "cargo built no executable for the test target {missing}"
        ));
    }
    Ok(executables)
}

/// cargo-nextest, set up to run already-built binaries ("reusing a build"): nothing is rebuilt
/// or checked by cargo while it is timed.
pub struct Nextest {
    /// `cargo-nextest 0.9.x`: its first line of `--version`.
    pub version: String,
    /// The `cargo-nextest` executable, run directly (as `cargo-nextest nextest ...`) to spare
    /// each timed run cargo's own start-up; or `cargo` if it was not found on PATH.
    program: PathBuf,
    /// `cargo metadata` of the workspace, as `--cargo-metadata` takes it.
    cargo_metadata: PathBuf,
    /// For each libtest suite target, a binary list holding that binary only.
    binaries_metadata: HashMap<String, PathBuf>,
}

/// Why cargo-nextest does not run, or what runs it.
pub enum NextestSetup {
    Ready(Nextest),
    Skipped(String),
}

impl Nextest {
    /// Finds cargo-nextest (`cargo nextest --version` must work) and writes its reuse-build
    /// metadata for each libtest target named, under `<target dir>/isolated-test-bench/`.
    pub fn setup(libtest_targets: &[&str]) -> Result<NextestSetup, String> {
        let version = match cargo().args(["nextest", "--version"]).output() {
            Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout)
                .lines()
                .next()
                .unwrap_or("cargo-nextest")
                .to_owned(),
            _ => {
                return Ok(NextestSetup::Skipped(
                    "skipped: cargo-nextest not on PATH".into(),
                ))
            }
        };
        let mut metadata = cargo();
        metadata.args([
            "metadata",
            "--format-version=1",
            "--all-features",
            "--no-deps",
        ]);
        let metadata_json = stdout_of(metadata, "cargo metadata")?;
        let target_dir = serde_json::from_str::<Value>(&metadata_json)
            .ok()
            .and_then(|m| m["target_directory"].as_str().map(PathBuf::from))
            .ok_or("cargo metadata gave no target_directory")?;
        let dir = target_dir.join("isolated-test-bench");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let cargo_metadata = dir.join("cargo-metadata.json");
        write(&cargo_metadata, &metadata_json)?;

        let mut binaries_metadata = HashMap::new();
        for target in libtest_targets {
            let mut list = cargo();
            list.args(["nextest", "list", "-p", PACKAGE, "--test", target]);
            list.args(["--list-type=binaries-only", "--message-format=json"]);
            let json = stdout_of(list, "cargo nextest list")?;
            let path = dir.join(format!("nextest-binaries-{target}.json"));
            write(&path, &json)?;
            binaries_metadata.insert((*target).to_owned(), path);
        }
        Ok(NextestSetup::Ready(Nextest {
            version,
            program: find_on_path("cargo-nextest").unwrap_or_else(|| "cargo".into()),
            cargo_metadata,
            binaries_metadata,
        }))
    }

    /// `cargo nextest run` of one libtest target's tests, `-j threads`, no fail-fast.
    pub fn run_command(&self, target: &str, threads: usize, filter: Option<&str>) -> Command {
        let mut command = Command::new(&self.program);
        command.current_dir(workspace_root());
        command.args(["nextest", "run", "--no-fail-fast"]);
        command.arg(format!("--test-threads={threads}"));
        command.arg("--cargo-metadata").arg(&self.cargo_metadata);
        command
            .arg("--binaries-metadata")
            .arg(&self.binaries_metadata[target]);
        command.args(filter);
        command
    }
}

fn write(path: &Path, contents: &str) -> Result<(), String> {
    std::fs::write(path, contents).map_err(|e| format!("{}: {e}", path.display()))
}

/// The first executable file called `name` in `$PATH`, then in `$CARGO_HOME/bin`, where
/// `cargo` looks for its subcommands.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(cargo_home.map(|home| home.join("bin")))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}
