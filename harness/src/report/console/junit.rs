//! libtest's `junit` format (`-Z unstable-options --format junit`): one line of XML at the end
//! of the run, each failed test with its captured output. (The richer report that
//! `ISOLATED_TEST_JUNIT` writes to a file is `report::junit`.)

use std::time::Duration;

use super::tally::Tally;
use super::{interruption_text, ConsoleResult, Interruption, Outcome, OutputFormatter, RunStart};
use super::{TestKind, TestName};

/// libtest's `junit` format: the cases gathered while the run goes, written at its end.
#[derive(Default)]
pub(super) struct Junit {
    cases: Vec<Case>,
}

impl OutputFormatter for Junit {
    fn run_start(&mut self, _start: &RunStart) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>".to_owned()
    }

    fn result(&mut self, test: TestName<'_>, result: &ConsoleResult) -> String {
        self.cases.push(Case::new(test, result));
        String::new()
    }

    fn run_finish(&mut self, tally: &Tally, _elapsed: Duration) -> String {
        document(tally, std::mem::take(&mut self.cases))
    }

    /// Only XML on stdout: the closing lines go to stderr.
    fn interrupted(&mut self, tally: &Tally, interruption: &Interruption) -> String {
        eprint!("{}", interruption_text(tally, interruption, false));
        String::new()
    }
}

/// One test's `<testcase>`, made when it finished.
struct Case(Option<String>);

impl Case {
    fn new(test: TestName<'_>, finished: &ConsoleResult) -> Self {
        let (class, name) = class_and_name(test);
        let time = finished.time.unwrap_or_default().as_secs_f64();
        let open = format!("<testcase classname=\"{class}\" name=\"{name}\" time=\"{time}\"");
        let output = (!finished.output.is_empty())
            .then(|| format!("<system-out>{}</system-out>", cdata(&finished.output)));
        Self(match &finished.outcome {
            Outcome::Ignored => None,
            Outcome::Passed => Some(format!("{open}/>")),
            Outcome::Failed(failed) => Some(format!(
                "{open}><failure message=\"{}\" type=\"assert\"/>{}</testcase>",
                attribute(&failed.details),
                output.unwrap_or_default()
            )),
            Outcome::TimeLimitExceeded => {
                Some(format!("{open}><failure type=\"timeout\"/></testcase>"))
            }
        })
    }
}

/// The whole document after the header, written when the run ends.
fn document(tally: &Tally, cases: Vec<Case>) -> String {
    let mut text = format!(
        "<testsuites><testsuite name=\"test\" package=\"test\" id=\"0\" errors=\"0\" failures=\"{}\" tests=\"{}\" skipped=\"{}\" >",
        tally.failed, tally.total, tally.ignored
    );
    for case in cases.into_iter().filter_map(|case| case.0) {
        text.push_str(&case);
    }
    text.push_str("<system-out/><system-err/></testsuite></testsuites>\n");
    text
}

/// libtest's class name and name: the module path and the function's name for a unit test
/// (`crate` at the root), `integration` or `unknown` and the whole name for the others.
fn class_and_name(test: TestName<'_>) -> (String, String) {
    let whole = |class: &str| (class.to_owned(), test.name.to_owned());
    match (test.kind, test.name.rsplit_once("::")) {
        (TestKind::Integration, _) => whole("integration"),
        (TestKind::Unknown, _) => whole("unknown"),
        (TestKind::Unit, Some((path, name))) => (path.to_owned(), name.to_owned()),
        (TestKind::Unit, None) => whole("crate"),
    }
}

/// Output inside CDATA, its newlines as `&#xA;` so that the document stays on one line.
fn cdata(text: &str) -> String {
    let escaped = text
        .replace("]]>", "]]]]><![CDATA[>")
        .replace("<?", "<]]><![CDATA[?")
        .replace('\n', "]]>&#xA;<![CDATA[")
        .replace("<![CDATA[]]>", "");
    format!("<![CDATA[{escaped}]]>")
}

/// Text inside an attribute's quotes (libtest writes its message as it is; ours may hold
/// quotes).
fn attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\n', "&#xA;")
}
