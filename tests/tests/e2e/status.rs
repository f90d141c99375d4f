//! The live status line (fixtures/flags.rs): drawn on a terminal, below libtest's open line and
//! cleared before the verdict; never when output is not a terminal, nor with `-q`.

use std::process::Command;

use isolated_test_e2e::fixture;

const FLAGS: &str = env!("CARGO_BIN_EXE_flags");
/// What takes the line off the screen: save the cursor, down a line, clear it, restore.
const CLEAR: &str = "\x1b7\x1bD\r\x1b[2K\x1b8";

/// Runs the flags fixture on a pseudo-terminal (util-linux `script`); `None` where there is no
/// `script` to make one.
fn on_a_terminal(args: &str) -> Option<String> {
    on_a_terminal_called(&format!("--color never {args}"), "xterm-256color")
}

/// Runs the flags fixture with `args` on a pseudo-terminal that says it is `term`.
fn on_a_terminal_called(args: &str, term: &str) -> Option<String> {
    let output = isolated_test_e2e::with_backend_under_test(&mut Command::new("script"))
        .args(["-qfec", &format!("{FLAGS} {args}"), "/dev/null"])
        .env_remove("RUST_BACKTRACE")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TERM", term)
        .output();
    match output {
        Ok(output) => Some(String::from_utf8_lossy(&output.stdout).into_owned()),
        Err(_) => {
            eprintln!("skipped: util-linux `script` is not on PATH, so no terminal to test on");
            None
        }
    }
}

/// At one test thread, libtest's line is open while the test runs: the status goes below it.
#[test]
fn a_terminal_shows_the_status_below_the_open_line_then_the_verdict() {
    let Some(screen) = on_a_terminal("--exact alpha --test-threads=1") else {
        return;
    };
    let open = screen.find("test alpha ... ").expect("libtest's line");
    let status = screen[open..]
        .find("[0/1] · running: alpha ")
        .unwrap_or_else(|| panic!("no status line after the open line: {screen:?}"));
    let verdict = screen[open..]
        .find(&format!("{CLEAR}ok"))
        .unwrap_or_else(|| panic!("the status is not cleared before the verdict: {screen:?}"));
    assert!(status < verdict, "{screen:?}");
}

/// At two, libtest writes the whole line with the verdict: the status comes and goes before it.
#[test]
fn with_several_threads_the_status_is_cleared_before_the_whole_verdict_line() {
    let Some(screen) = on_a_terminal("--exact alpha --test-threads=2") else {
        return;
    };
    let status = screen
        .find("[0/1] · running: alpha ")
        .unwrap_or_else(|| panic!("no status line: {screen:?}"));
    let verdict = screen
        .find(&format!("{CLEAR}test alpha ... ok"))
        .unwrap_or_else(|| panic!("the status is not cleared before the verdict: {screen:?}"));
    assert!(status < verdict, "{screen:?}");
}

#[test]
fn quiet_runs_have_no_status_line() {
    let Some(screen) = on_a_terminal("-q --exact alpha") else {
        return;
    };
    assert!(!screen.contains("running:"), "{screen:?}");
    assert!(!screen.contains('\x1b'), "{screen:?}");
}

#[test]
fn a_dumb_terminal_gets_no_colour_and_no_cursor_movement() {
    let Some(screen) = on_a_terminal_called("--exact alpha", "dumb") else {
        return;
    };
    assert!(screen.contains("test alpha ... ok"), "{screen:?}");
    assert!(!screen.contains('\x1b'), "{screen:?}");
    // The same on a terminal that takes them: colour and the status line both.
    let Some(screen) = on_a_terminal_called("--exact alpha", "xterm-256color") else {
        return;
    };
    assert!(screen.contains("running: alpha"), "{screen:?}");
    assert!(screen.contains("\x1b[32mok"), "{screen:?}");
}

#[test]
fn output_that_is_not_a_terminal_has_no_status_line() {
    let run = fixture!("flags").args(["--exact", "alpha"]).run();
    run.assert_ok("alpha");
    for stream in [&run.stdout, &run.stderr] {
        assert!(!stream.contains('\x1b'), "{}", run.context());
    }
}
