"""Real crates' own test suites, under libtest and adopted into isolated-test by its own tool.

Builds cargo-isolated-test (this workspace's member) once, fetches the pinned published sources of
each crate below with cargo, and makes two copies under target/real-suites/: `libtest/NAME` (as
published) and `ported/NAME`, where `cargo-isolated-test adopt --path <this repo>/harness FEATURES`
moved the tests to isolated-test, proving by building that no test was lost (what it changed and
what it left alone is printed per crate). Then `cargo-isolated-test check FEATURES` must pass on
the adopted copy, and both copies run `cargo test --tests --no-fail-fast FEATURES`; builds are done
beforehand and timed apart.

Fails if adopt or check fails, if a suite did not build or run (0 tests counted), if a ported test
fails that is not a true finding listed in TRUE_FINDINGS (each listed one must still fail as
listed), or if a ported suite passes a different number of tests than libtest does, less its true
findings. Times are printed, never asserted.
NAME is the crate's name, or `name-version` for a crate CRATES holds at two versions.
Logs: target/real-suites/logs/NAME.{adopt,check,libtest.build,libtest.test,ported.build,ported.test}.log.
Usage: tests/real-suites/run [NAME...]   (from anywhere; needs cargo, python3 >= 3.11 and
crates.io); naming suites runs only those.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the workspace: tests/real-suites/real_suites.py
HARNESS = ROOT / "harness"
SCRATCH = ROOT / "target" / "real-suites"
TIMEOUT = 900  # seconds per cargo command: a hang fails the step instead of stalling CI

# signal-hook's tests use its unpublished path-only workspace member `serial_test`, which the
# published manifest drops. Upstream's API: one global lock the signal tests serialise on.
SERIAL_TEST = """\
use std::sync::{Mutex, MutexGuard};

static LOCK: Mutex<()> = Mutex::new(());

pub fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap()
}
"""

# (crate, pinned version, `cargo test` feature arguments, stand-ins for lost dev-dependencies),
# chosen for tests that touch global state, threads or signals:
CRATES = [
    # statics initialised once, from racing threads
    ("once_cell", "1.21.4", [], {}),
    # signal handlers: process-wide state the tests serialise on
    ("signal-hook", "0.4.6", ["--all-features"], {"serial_test": SERIAL_TEST}),
    # per-thread storage, thread ids reused as threads exit
    ("thread_local", "1.1.10", [], {}),
    # scoped threads, parkers, panics in spawned threads; published before cargo wrote [[test]]
    # entries, so its six tests/ files are auto-discovered, and atomic_cell.rs makes tests with
    # macro_rules!
    ("crossbeam-utils", "0.8.19", [], {}),
    # 2015-edition crates, where adopt adds the `extern crate` items the rewritten paths need:
    # a guard's closure run on unwind (scopeguard's unit tests, under its cfg_attr(no_std))
    ("scopeguard", "1.2.0", [], {}),
    # statics initialised once; tests/no_std.rs, cut out by #![cfg(feature = "spin_no_std")], is
    # adopted with `required-features`, so that `cargo test` without the feature skips it (libtest
    # built it empty), and `autotests = true` keeps the 2015 edition's discovery
    ("lazy_static", "1.4.0", [], {}),
    # tests another crate's macro writes: quickcheck! inside the crate's own macro_rules!
    ("memchr", "2.8.3", [], {}),
    # a work-stealing pool (crossbeam-deque, crossbeam-epoch's thread locals) built and dropped
    # in tests, and a test that runs its own binary again on one ignored test, expecting a crash
    ("rayon-core", "1.13.0", [], {}),
    # a test target with a #[global_allocator] of its own (its suite needs `warn_debug`)
    ("assert_no_alloc", "1.1.2", ["--features", "warn_debug"], {}),
    # the 0.3 line most users have: its tests hand sockets to the global signal registry for good
    ("signal-hook", "0.3.18", [], {}),
]

# Cargo configuration each copy of a crate gets (`.cargo/config.toml`), for every cargo run in it:
# memchr's [profile.test] (opt-level 3) would build every dependency optimised, the harness's too
# (its isolated side's build 200 s, where unoptimised dependencies take 89 s); memchr itself stays
# at opt-level 3.
CARGO_CONFIG = {
    "memchr": '[profile.test.package."*"]\nopt-level = 0\n',
}

# Failures under isolated-test that are true findings, not harness errors: per crate, the test,
# a regex its reason must match, and why it is right. Each must still be found, or the run fails.
TRUE_FINDINGS = {
    "signal-hook-0.4.6": {
        "src/lib::low_level::pipe::tests::register_with_pipe": (
            r"^left 1 descriptor open: fd \d+ → pipe; allow it with #\[isolated_test\(allow_leaks\)\]$",
            "the test makes a pipe, registers its write end (closed by `unregister`) and never "
            "closes its read end `fds[0]`: a descriptor leaked for the rest of the process",
        ),
    },
    "signal-hook-0.3.18": {
        "src/lib::low_level::pipe::tests::register_with_pipe": (
            r"^left (?:1 descriptor|2 descriptors) open: fd \d+ → pipe(?:, fd \d+ → pipe)?; "
            r"allow it with #\[isolated_test\(allow_leaks\)\]$",
            "as in 0.4.6, the read end `fds[0]` is never closed: a descriptor nothing holds. (Its "
            "write end, registered and never unregistered in 0.3.18, is the registry's for good, "
            "like register_with_socket's: not a leak of the test's.)",
        ),
    },
}

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
RUNNING = re.compile(r"^\s+Running (?:unittests )?(\S+)")
VERDICT = re.compile(r"^test (\S+)(?: - should panic.*?)?\s+\.\.\. FAILED")
HEADER = re.compile(r"^---- (\S+?)(?: stdout)? ----$")
RESULT = re.compile(r"^test result: \w+\. (\d+) passed; (\d+) failed")


def toml_str(s):
    return json.dumps(str(s))  # a TOML basic string, for the paths written here


def workspace_root_manifest(d, body):
    """Write d/Cargo.toml; `[workspace]` keeps cargo from adopting it into ROOT's workspace."""
    d.mkdir(parents=True, exist_ok=True)
    (d / "Cargo.toml").write_text(body.rstrip("\n") + "\n\n[workspace]\n")


def run(cmd, cwd, log, env):
    """Run cmd with its output appended to log; the exit code, or None if killed at TIMEOUT."""
    with open(log, "a") as f:
        p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT,
                             start_new_session=True)
        try:
            return p.wait(timeout=TIMEOUT)
        except BaseException as e:  # the timeout, or ^C: take the whole process group down
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            if not isinstance(e, subprocess.TimeoutExpired):
                raise
            f.write(f"\n[real-suites] killed after {TIMEOUT}s\n")
            return None


def fetch(crates, env):
    """The pinned crates' pristine source directories, as cargo unpacked them."""
    d = SCRATCH / "fetch"
    shutil.rmtree(d, ignore_errors=True)
    # Renamed per version: CRATES may hold one crate at two versions.
    deps = "".join(f'{name}-{version.replace(".", "_")} = '
                   f'{{ package = "{name}", version = "={version}" }}\n'
                   for name, version, _, _ in crates)
    workspace_root_manifest(d, '[package]\nname = "fetch"\nversion = "0.0.0"\nedition = "2021"\n'
                               f'publish = false\n\n[dependencies]\n{deps}')
    (d / "src").mkdir()
    (d / "src" / "lib.rs").write_text("")
    out = subprocess.run(["cargo", "metadata", "--quiet", "--format-version", "1"], cwd=d,
                         env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    return {(p["name"], p["version"]): Path(p["manifest_path"]).parent
            for p in json.loads(out)["packages"] if p["source"]}


def build_tool(env):
    """cargo-isolated-test, built once in this workspace's target dir (or CARGO_TARGET_DIR)."""
    out = subprocess.run(["cargo", "build", "--locked", "-p", "cargo-isolated-test",
                          "--message-format=json-render-diagnostics"], cwd=ROOT, env=env,
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and \
                msg["target"]["name"] == "cargo-isolated-test":
            return msg["executable"]
    sys.exit("real-suites: cargo build printed no cargo-isolated-test executable")


def tool(exe, args, copy, log, env):
    """(exit code, output) of cargo-isolated-test run in copy; the output also goes to log."""
    p = subprocess.run([exe, *args], cwd=copy, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
    log.write_text(p.stdout)
    return p.returncode, p.stdout


def parse(log):
    """(passed, failed, {failing test: first reason line}) from a `cargo test` log."""
    passed = failed = 0
    fails, reasons, binary = {}, {}, "?"
    lines = [ANSI.sub("", line.rstrip("\n")) for line in open(log, errors="replace")]
    for i, line in enumerate(lines):
        if m := RUNNING.match(line):
            binary = Path(m.group(1)).with_suffix("").as_posix().replace("/main", "")
        elif m := VERDICT.match(line):
            fails[(binary, m.group(1))] = ""
        elif m := HEADER.match(line):
            reasons[(binary, m.group(1))] = lines[i + 1].strip() if i + 1 < len(lines) else ""
        elif m := RESULT.match(line):
            passed, failed = passed + int(m.group(1)), failed + int(m.group(2))
    return passed, failed, {f"{b}::{t}": reasons.get((b, t), "?") for b, t in fails}


def side(name, features, copy, kind, env):
    """Build, then run and time, one copy's suite: a dict for the table."""
    target = dict(env, CARGO_TARGET_DIR=str(SCRATCH / "target" / kind))
    log = SCRATCH / "logs" / f"{name}.{kind}"
    for suffix in (".build.log", ".test.log"):
        log.with_name(log.name + suffix).unlink(missing_ok=True)
    build = log.with_name(log.name + ".build.log")
    print(f"[real-suites] {name} [{kind}] building", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    rc = run(["cargo", "test", "--tests", "--no-run", *features], copy, build, target)
    # once_cell's reentrant_init runs its example binary, which `cargo test --tests` does not build
    if rc == 0 and (copy / "examples").is_dir():
        rc = run(["cargo", "build", "--examples", *features], copy, build, target)
    built = time.monotonic() - t0
    if rc != 0:
        tail = build.read_text(errors="replace").splitlines()[-30:]
        print("\n".join(tail), file=sys.stderr)
        return {"passed": 0, "failed": 0, "fails": {}, "wall": 0.0, "build": built,
                "problem": f"{kind} build failed (rc {rc}), see {build}"}
    print(f"[real-suites] {name} [{kind}] running", file=sys.stderr, flush=True)
    test = log.with_name(log.name + ".test.log")
    t0 = time.monotonic()
    rc = run(["cargo", "test", "--tests", "--no-fail-fast", *features], copy, test, target)
    wall = time.monotonic() - t0
    passed, failed, fails = parse(test)
    problem = None
    if rc is None:
        problem = f"{kind} run killed after {TIMEOUT}s, see {test}"
    elif passed + failed == 0:
        problem = f"{kind} suite counted no tests, see {test}"
    elif rc != 0 and not failed:
        problem = f"{kind} run exited {rc} with no failing test counted, see {test}"
    return {"passed": passed, "failed": failed, "fails": fails, "wall": wall, "build": built,
            "problem": problem}


def suite(name, version):
    """A suite's name in logs, copies and TRUE_FINDINGS: the crate's, with its version when
    CRATES holds the crate at more than one version."""
    return name if sum(row[0] == name for row in CRATES) == 1 else f"{name}-{version}"


def selected(argv):
    """The CRATES rows whose suites argv names (all when none is named); an unknown name is an
    error."""
    names = {suite(name, version) for name, version, *_ in CRATES}
    unknown = [a for a in argv if a not in names]
    if unknown:
        sys.exit(f"error: no real suite named {', '.join(unknown)} "
                 f"(known: {', '.join(sorted(names))})")
    return [row for row in CRATES if not argv or suite(*row[:2]) in argv]


def main(argv):
    crates = selected(argv)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ISOLATED_TEST_", "RUST_TEST_"))
           and k not in ("RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_TARGET_DIR")}
    env.update(CARGO_TERM_COLOR="never", NO_COLOR="1")
    (SCRATCH / "logs").mkdir(parents=True, exist_ok=True)
    print("[real-suites] building cargo-isolated-test", file=sys.stderr, flush=True)
    exe = build_tool({k: v for k, v in os.environ.items() if k not in ("RUSTFLAGS",)})
    sources = fetch(crates, env)
    rows, found, adopted = [], [], []
    for name, version, features, shims in crates:
        src = sources[(name, version)]
        key = suite(name, version)
        for shim, lib_rs in shims.items():
            d = SCRATCH / "shims" / shim
            workspace_root_manifest(d, f'[package]\nname = "{shim}"\nversion = "0.1.0"\n'
                                       'edition = "2018"\npublish = false')
            (d / "src").mkdir(exist_ok=True)
            (d / "src" / "lib.rs").write_text(lib_rs)
        copies = {kind: SCRATCH / kind / key for kind in ("libtest", "ported")}
        for copy in copies.values():  # both copies: the pristine suite plus the lost dev-deps
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(src, copy, symlinks=True)
            text = (copy / "Cargo.toml").read_text()
            for shim in shims:
                path = os.path.relpath(SCRATCH / "shims" / shim, copy)
                text += f"\n[dev-dependencies.{shim}]\npath = {toml_str(path)}\n"
            workspace_root_manifest(copy, text)
            if name in CARGO_CONFIG:
                (copy / ".cargo").mkdir(exist_ok=True)
                (copy / ".cargo" / "config.toml").write_text(CARGO_CONFIG[name])
        # The tool, as a user would run it: adopt the copy, then check that no test is lost, each
        # with the features its `cargo test` gets. Both build (adopt lists each target's tests
        # before and after; check builds each as libtest), in the ported copy's target dir, so
        # its build below reuses what they built.
        logs = SCRATCH / "logs"
        tool_env = dict(env, CARGO_TARGET_DIR=str(SCRATCH / "target" / "ported"))
        rc, out = tool(exe, ["adopt", "--path", str(HARNESS), *features], copies["ported"],
                       logs / f"{key}.adopt.log", tool_env)
        lines = out.splitlines()
        wrote = [line.removeprefix("wrote ") for line in lines if line.startswith("wrote ")]
        adopted.append((f"{name} {version}", wrote,
                        [line for line in lines if line.startswith("left alone: ")]))
        problems = [] if rc == 0 else [f"adopt exited {rc}: {lines[-1:]}"]
        if not wrote:
            problems.append("adopt changed nothing: no suite ported")
        rc, out = tool(exe, ["check", *features], copies["ported"], logs / f"{key}.check.log",
                       tool_env)
        if rc != 0:
            problems.append(f"check exited {rc}: " + "; ".join(out.splitlines()))
        lib, iso = (side(key, features, copy, kind, env) for kind, copy in copies.items())
        problems += [p for p in (lib["problem"], iso["problem"]) if p]
        findings = TRUE_FINDINGS.get(key, {})
        for test, (pattern, why) in sorted(findings.items()):
            reason = iso["fails"].pop(test, None)
            if reason is None or not re.search(pattern, reason):
                problems.append(f"true finding not found: {test} should fail with /{pattern}/, "
                                f"got {reason!r}")
            else:
                found.append(f"  {key}: true finding {test}: {reason}\n    why: {why}")
        unexplained = len(iso["fails"])
        if unexplained:
            problems.append(f"{unexplained} test(s) fail under isolated-test")
        if not problems and iso["passed"] != lib["passed"] - len(findings):
            problems.append(f"isolated-test passed {iso['passed']}, libtest {lib['passed']}, "
                            f"with {len(findings)} true finding(s)")
        rows.append((f"{name} {version} {' '.join(features)}".strip(), lib, iso, problems))

    for label, wrote, alone in adopted:
        print(f"\n{label}: cargo-isolated-test adopt changed {len(wrote)} file(s): "
              + (", ".join(wrote) or "none"))
        for line in alone:
            print(f"  {line}")
    head = ("crate", "libtest pass/fail", "time", "isolated pass/fail", "time", "ratio", "builds")
    table = [head] + [(label, f"{lib['passed']}/{lib['failed']}", f"{lib['wall']:.1f}s",
                       f"{iso['passed']}/{iso['failed']}", f"{iso['wall']:.1f}s",
                       f"{iso['wall'] / lib['wall']:.2f}x" if lib["wall"] and iso["wall"] else "-",
                       f"{lib['build']:.0f}s + {iso['build']:.0f}s")
                      for label, lib, iso, _ in rows]
    if len(rows) > 1:
        # The whole step's wall on each side: #26's target is on it (at most 1.15x).
        lib_total, iso_total = (sum(side["wall"] for side in sides)
                                for sides in zip(*((lib, iso) for _, lib, iso, _ in rows)))
        table.append(("total", "", f"{lib_total:.1f}s", "", f"{iso_total:.1f}s",
                      f"{iso_total / lib_total:.2f}x" if lib_total and iso_total else "-", ""))
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    print(f"\nReal suites: libtest against isolated-test ({os.cpu_count()} CPUs; "
          "time = wall time of `cargo test --tests --no-fail-fast`, builds excluded; builds = "
          "libtest's + isolated-test's build, each side's target dir shared with the crates "
          "above)")
    table.insert(1, tuple("-" * w for w in widths))  # a Markdown table, aligned as text too
    for r in table:
        print("| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                for i, (c, w) in enumerate(zip(r, widths))) + " |")
    print("\n".join(found))
    for label, lib, iso, problems in rows:
        for kind, res in (("libtest", lib), ("isolated-test", iso)):
            for test, reason in sorted(res["fails"].items()):
                print(f"  {label}: {kind} FAILED {test}: {reason}")
        for p in problems:
            print(f"  {label}: PROBLEM: {p}")
    bad = sum(len(p) for *_, p in rows)
    print(f"real-suites: {'FAILED, ' + str(bad) + ' problem(s)' if bad else 'ok'}; "
          f"logs in {SCRATCH / 'logs'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
