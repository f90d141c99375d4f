//! The bodies of the print_lines suites' tests: a million short lines between them, half with
//! `println!` (std's line-buffered stdout: a write per line) and half with `eprintln!`
//! (unbuffered stderr: a write per piece of the format, three per line here), as a test that
//! logs as it goes writes them.

/// Lines each test prints.
const LINES: usize = 500_000;

pub fn to_stdout() {
    for line in 0..LINES {
        println!("line {line} of the test's output");
    }
}

pub fn to_stderr() {
    for line in 0..LINES {
        eprintln!("line {line} of the test's output");
    }
}
