//! When the output is coloured (fixtures/flags.rs). stdout is always a pipe here, so without a
//! flag or an environment variable there is no colour. Colour comes from the terminal's terminfo
//! entry, as libtest's does: each run names its `TERM` (tests/tests/e2e/libtest.rs holds the
//! bytes against libtest's).

use isolated_test_e2e::{fixture, strip_ansi, Harness, Run};

const REASON: &str = r#"returned an error: "this one fails""#;

/// fixtures/flags.rs's one failing test, with the colour left to `args` and `env`.
fn failing(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut harness: Harness = fixture!("flags")
        .colour_under_test()
        .args(["--exact", "fails_on_purpose"])
        .args(args);
    if !env.iter().any(|(name, _)| *name == "TERM") {
        harness = harness.env("TERM", "xterm-256color");
    }
    for (name, value) in env {
        harness = harness.env(name, value);
    }
    let run = harness.run();
    run.assert_exit_code(101);
    run
}

/// The reason line exactly as printed.
#[track_caller]
fn raw_reason(run: &Run) -> &str {
    let line = run
        .raw_line_after("---- fails_on_purpose ----")
        .unwrap_or_else(|| panic!("no failure entry\n{}", run.context()));
    assert_eq!(strip_ansi(line), REASON, "{}", run.context());
    line
}

#[track_caller]
fn assert_coloured(run: &Run) {
    assert!(raw_reason(run).contains("\x1b["), "{}", run.context());
}

#[track_caller]
fn assert_plain(run: &Run) {
    raw_reason(run);
    assert!(!run.stdout.contains('\x1b'), "{}", run.context());
    assert!(!run.stderr.contains('\x1b'), "{}", run.context());
}

#[test]
fn color_always_colours_the_reason() {
    assert_coloured(&failing(&["--color", "always"], &[]));
    assert_coloured(&failing(&["--color", "always", "--nocapture"], &[]));
}

#[test]
fn a_pipe_gets_no_colour() {
    assert_plain(&failing(&[], &[]));
}

#[test]
fn no_color_turns_colour_off() {
    assert_plain(&failing(&[], &[("NO_COLOR", "1")]));
    // NO_COLOR wins over CLICOLOR_FORCE.
    assert_plain(&failing(&[], &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]));
}

#[test]
fn clicolor_force_turns_colour_on() {
    assert_coloured(&failing(&[], &[("CLICOLOR_FORCE", "1")]));
}

#[test]
fn the_flag_wins_over_the_environment() {
    assert_plain(&failing(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]));
    assert_coloured(&failing(&["--color", "always"], &[("NO_COLOR", "1")]));
}

/// A terminal that terminfo does not know gets no colour, as under libtest, whatever the flag;
/// nor does one that has no colours, for isolated-test's own text.
#[test]
fn a_terminal_without_colours_gets_none() {
    assert_plain(&failing(
        &["--color", "always"],
        &[("TERM", "no-such-terminal")],
    ));
    assert_plain(&failing(&["--color", "always"], &[("TERM", "dumb")]));
    assert_plain(&failing(&["--color", "always"], &[("TERM", "")]));
}
