//! `--list`: the selected tests as libtest lists them, in each format, and in the log file.

use std::io::Write;

use super::json::JsonText;
use super::{open_log, HarnessError, TestName};
use crate::cli::{Arguments, Format, RunIgnored};

/// Lists `tests` (the selection, in order) as libtest does.
pub(crate) fn list(args: &Arguments, tests: &[TestName<'_>]) -> Result<(), HarnessError> {
    let mut text = String::new();
    match args.format {
        Format::Json => {
            text.push_str("{ \"type\": \"suite\", \"event\": \"discovery\" }\n");
            for test in tests {
                text.push_str(&discovered(*test, args.run_ignored));
            }
            let ignored = tests
                .iter()
                .filter(|test| test.ignore().is_some() && args.run_ignored == RunIgnored::No)
                .count();
            text.push_str(&format!(
                "{{ \"type\": \"suite\", \"event\": \"completed\", \"tests\": {0}, \"benchmarks\": 0, \"total\": {0}, \"ignored\": {ignored} }}\n",
                tests.len()
            ));
        }
        Format::Pretty | Format::Terse | Format::Junit => {
            for test in tests {
                text.push_str(&format!("{}: test\n", test.name));
            }
            if args.format != Format::Terse {
                let listed = tests.len();
                let noun = if listed == 1 { "test" } else { "tests" };
                let gap = if listed == 0 { "" } else { "\n" };
                text.push_str(&format!("{gap}{listed} {noun}, 0 benchmarks\n"));
            }
        }
    }
    if let Some(mut log) = args.logfile.as_deref().map(open_log).transpose()? {
        for test in tests {
            let _ = writeln!(log, "test {}", test.name);
        }
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    Ok(())
}

/// A test's `discovered` event: its name, whether it is ignored (not under `--ignored` or
/// `--include-ignored`, which run it), and where its name stands.
fn discovered(test: TestName<'_>, run_ignored: RunIgnored) -> String {
    let source = test.case.source;
    let end = source.column as usize + test.case.name.len();
    format!(
        "{{ \"type\": \"test\", \"event\": \"discovered\", \"name\": \"{}\", \"ignore\": {}, \"ignore_message\": \"{}\", \"source_path\": \"{}\", \"start_line\": {}, \"start_col\": {}, \"end_line\": {}, \"end_col\": {end} }}\n",
        JsonText(test.name),
        test.ignore().is_some() && run_ignored == RunIgnored::No,
        JsonText(test.ignore().flatten().unwrap_or("")),
        JsonText(source.file),
        source.line,
        source.column,
        source.line,
    )
}
