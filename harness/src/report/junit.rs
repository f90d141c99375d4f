//! JUnit XML for `ISOLATED_TEST_JUNIT=path.xml`: the format that GitHub test reporters, GitLab
//! and most CI dashboards read. Each test binary writes its own file, holding one `<testsuite>`
//! named after the binary with one `<testcase>` per test. Retries appear as Maven Surefire
//! `<flakyFailure>` elements, as cargo-nextest writes them. This module only renders the
//! string; the caller writes the file.

use std::fmt::{self, Display, Write};
use std::time::{Duration, SystemTime};

/// One run of one test binary.
pub(crate) struct JunitReport {
    /// The test binary's name (e.g. "outcomes"): the suite's name and every case's classname.
    pub(crate) suite: String,
    /// When the run started.
    pub(crate) started: SystemTime,
    /// The run's wall time.
    pub(crate) time: Duration,
    pub(crate) cases: Vec<JunitCase>,
}

/// One test.
pub(crate) struct JunitCase {
    /// The test's full name as libtest prints it (`module::test`).
    pub(crate) name: String,
    pub(crate) outcome: JunitOutcome,
    pub(crate) time: Duration,
    /// Captured output (already lossily decoded); empty strings are omitted from the XML.
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// Extra figures (e.g. `("heap.peak_bytes", "1024")`), rendered as `<properties>` inside the
    /// testcase, in the given order; omitted when empty.
    pub(crate) properties: Vec<(String, String)>,
}

pub(crate) enum JunitOutcome {
    Passed,
    /// Passed on a retry: `failures` are the reasons of the earlier failed attempts, each
    /// rendered as a `<flakyFailure message="..." type="flaky">` element (the Maven Surefire
    /// extension that cargo-nextest also writes).
    Flaky {
        failures: Vec<String>,
    },
    /// `message` is the one-line reason (attribute), `details` the full failure text (element
    /// text; may be multi-line).
    Failed {
        message: String,
        details: String,
    },
    Ignored,
}

/// The whole XML document, ending in a newline.
pub(crate) fn render(report: &JunitReport) -> String {
    let mut out = String::new();
    write_report(&mut out, report).expect("writing to a String cannot fail");
    out
}

fn write_report(out: &mut String, report: &JunitReport) -> fmt::Result {
    let tests = report.cases.len();
    let count =
        |pred: fn(&JunitOutcome) -> bool| report.cases.iter().filter(|c| pred(&c.outcome)).count();
    let failures = count(|o| matches!(o, JunitOutcome::Failed { .. }));
    let skipped = count(|o| matches!(o, JunitOutcome::Ignored));
    let counts = format!(
        r#"name="{}" tests="{tests}" failures="{failures}" errors="0" skipped="{skipped}" time="{}""#,
        attr(&report.suite),
        Seconds(report.time),
    );

    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, "<testsuites {counts}>")?;
    writeln!(
        out,
        r#"  <testsuite {counts} timestamp="{}">"#,
        humantime::format_rfc3339_seconds(report.started),
    )?;
    for case in &report.cases {
        write_case(out, &report.suite, case)?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

fn write_case(out: &mut String, suite: &str, case: &JunitCase) -> fmt::Result {
    // Rendered first so that a case with nothing inside can be a single self-closed line.
    let mut body = String::new();
    if !case.properties.is_empty() {
        writeln!(body, "      <properties>")?;
        for (name, value) in &case.properties {
            writeln!(
                body,
                r#"        <property name="{}" value="{}"/>"#,
                attr(name),
                attr(value),
            )?;
        }
        writeln!(body, "      </properties>")?;
    }
    match &case.outcome {
        JunitOutcome::Passed => {}
        JunitOutcome::Flaky { failures } => {
            for message in failures {
                writeln!(
                    body,
                    r#"      <flakyFailure message="{}" type="flaky"/>"#,
                    attr(message),
                )?;
            }
        }
        JunitOutcome::Failed { message, details } => writeln!(
            body,
            r#"      <failure message="{}" type="failure">{}</failure>"#,
            attr(message),
            text(details),
        )?,
        JunitOutcome::Ignored => writeln!(body, "      <skipped/>")?,
    }
    for (tag, output) in [("system-out", &case.stdout), ("system-err", &case.stderr)] {
        if !output.is_empty() {
            writeln!(body, "      <{tag}>{}</{tag}>", text(output))?;
        }
    }

    let open = format!(
        r#"    <testcase name="{}" classname="{}" time="{}""#,
        attr(&case.name),
        attr(suite),
        Seconds(case.time),
    );
    if body.is_empty() {
        writeln!(out, "{open}/>")
    } else {
        writeln!(out, "{open}>\n{body}    </testcase>")
    }
}

/// Seconds with millisecond precision, as JUnit readers expect.
struct Seconds(Duration);

impl Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:.3}", self.0.as_secs_f64())
    }
}

fn attr(s: &str) -> XmlText<'_> {
    XmlText { s, attr: true }
}

fn text(s: &str) -> XmlText<'_> {
    XmlText { s, attr: false }
}

/// A string made safe for XML 1.0, whatever a test printed.
struct XmlText<'a> {
    s: &'a str,
    attr: bool,
}

impl Display for XmlText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for c in self.s.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' if self.attr => f.write_str("&quot;")?,
                '\'' if self.attr => f.write_str("&apos;")?,
                // Parsers turn raw newlines and tabs in attributes into spaces.
                '\n' if self.attr => f.write_str("&#10;")?,
                '\t' if self.attr => f.write_str("&#9;")?,
                // Parsers turn a raw \r into \n everywhere, which would garble progress bars.
                '\r' => f.write_str("&#13;")?,
                // Not even a character reference may name these, so a test's stray escape code
                // or NUL would make the whole file unparsable.
                '\u{0}'..='\u{8}'
                | '\u{b}'
                | '\u{c}'
                | '\u{e}'..='\u{1f}'
                | '\u{fffe}'
                | '\u{ffff}' => {}
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(name: &str, outcome: JunitOutcome) -> JunitCase {
        JunitCase {
            name: name.to_owned(),
            outcome,
            time: Duration::from_millis(2),
            stdout: String::new(),
            stderr: String::new(),
            properties: Vec::new(),
        }
    }

    fn report(cases: Vec<JunitCase>) -> JunitReport {
        JunitReport {
            suite: "outcomes".to_owned(),
            // 2026-11-23T20:41:00Z
            started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_466_460),
            time: Duration::from_millis(1234),
            cases,
        }
    }

    fn parse(xml: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{e}\n{xml}"))
    }

    fn children<'a, 'i>(node: roxmltree::Node<'a, 'i>) -> Vec<roxmltree::Node<'a, 'i>> {
        node.children().filter(|n| n.is_element()).collect()
    }

    fn counts<'a>(node: roxmltree::Node<'a, '_>) -> [&'a str; 5] {
        ["tests", "failures", "errors", "skipped", "time"].map(|a| node.attribute(a).unwrap())
    }

    #[test]
    fn counts_and_cases() {
        let failed = JunitOutcome::Failed {
            message: "panicked at src/x.rs:3:5: boom".to_owned(),
            details: "thread 'a::b' panicked at src/x.rs:3:5:\nboom\n".to_owned(),
        };
        let flaky = JunitOutcome::Flaky {
            failures: vec!["timed out after 2s".to_owned(), "exited with 1".to_owned()],
        };
        let mut slow = case("a::slow", JunitOutcome::Passed);
        slow.time = Duration::from_micros(1_500_500);
        let mut loud = case("a::fails", failed);
        loud.stdout = "out\n".to_owned();
        loud.stderr = "err\n".to_owned();
        let xml = render(&report(vec![
            slow,
            loud,
            case("a::skipped", JunitOutcome::Ignored),
            case("a::flaky", flaky),
        ]));
        let doc = parse(&xml);

        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        assert_eq!(root.attribute("name"), Some("outcomes"));
        assert_eq!(counts(root), ["4", "1", "0", "1", "1.234"]);
        let suites = children(root);
        assert_eq!(suites.len(), 1);
        let suite = suites[0];
        assert_eq!(suite.tag_name().name(), "testsuite");
        assert_eq!(suite.attribute("name"), Some("outcomes"));
        assert_eq!(counts(suite), ["4", "1", "0", "1", "1.234"]);
        assert_eq!(suite.attribute("timestamp"), Some("2026-11-23T20:41:00Z"));

        let cases = children(suite);
        let names: Vec<_> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
        assert_eq!(names, ["a::slow", "a::fails", "a::skipped", "a::flaky"]);
        for c in &cases {
            assert_eq!(c.tag_name().name(), "testcase");
            assert_eq!(c.attribute("classname"), Some("outcomes"));
        }
        let times: Vec<_> = cases.iter().map(|c| c.attribute("time").unwrap()).collect();
        assert_eq!(times, ["1.500", "0.002", "0.002", "0.002"]);

        assert!(children(cases[0]).is_empty());

        let fails = children(cases[1]);
        let tags: Vec<_> = fails.iter().map(|n| n.tag_name().name()).collect();
        assert_eq!(tags, ["failure", "system-out", "system-err"]);
        assert_eq!(
            fails[0].attribute("message"),
            Some("panicked at src/x.rs:3:5: boom")
        );
        assert_eq!(fails[0].attribute("type"), Some("failure"));
        assert_eq!(
            fails[0].text(),
            Some("thread 'a::b' panicked at src/x.rs:3:5:\nboom\n")
        );
        assert_eq!(fails[1].text(), Some("out\n"));
        assert_eq!(fails[2].text(), Some("err\n"));

        let skipped = children(cases[2]);
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].tag_name().name(), "skipped");

        let flaky = children(cases[3]);
        let messages: Vec<_> = flaky
            .iter()
            .map(|n| {
                assert_eq!(n.tag_name().name(), "flakyFailure");
                assert_eq!(n.attribute("type"), Some("flaky"));
                n.attribute("message").unwrap()
            })
            .collect();
        assert_eq!(messages, ["timed out after 2s", "exited with 1"]);
    }

    #[test]
    fn properties_come_first_in_order() {
        let mut c = case("a::b", JunitOutcome::Ignored);
        c.properties = vec![
            ("heap.peak_bytes".to_owned(), "1024".to_owned()),
            ("heap.leaked_bytes".to_owned(), "0".to_owned()),
        ];
        let xml = render(&report(vec![c]));
        let doc = parse(&xml);
        let testcase = doc
            .descendants()
            .find(|n| n.has_tag_name("testcase"))
            .unwrap();
        let inside = children(testcase);
        let tags: Vec<_> = inside.iter().map(|n| n.tag_name().name()).collect();
        assert_eq!(tags, ["properties", "skipped"]);
        let props: Vec<_> = children(inside[0])
            .iter()
            .map(|p| {
                assert_eq!(p.tag_name().name(), "property");
                (p.attribute("name").unwrap(), p.attribute("value").unwrap())
            })
            .collect();
        assert_eq!(
            props,
            [("heap.peak_bytes", "1024"), ("heap.leaked_bytes", "0")]
        );
    }

    #[test]
    fn hostile_strings_round_trip() {
        let nasty = "<&>\"' \u{1b}[31mred\u{0}\u{7f}\u{fffe}\u{ffff}\u{1f600}";
        let kept = "<&>\"' [31mred\u{7f}\u{1f600}";
        let multiline = "one\ttwo\r\nthree\n";
        let mut c = case(
            &format!("a::{nasty}"),
            JunitOutcome::Failed {
                message: format!("{nasty}{multiline}"),
                details: format!("{nasty}{multiline}"),
            },
        );
        c.stdout = format!("{nasty}{multiline}");
        c.stderr = nasty.to_owned();
        c.properties = vec![(nasty.to_owned(), multiline.to_owned())];
        let mut r = report(vec![
            c,
            case(
                "a::flaky",
                JunitOutcome::Flaky {
                    failures: vec![format!("{nasty}{multiline}")],
                },
            ),
        ]);
        r.suite = nasty.to_owned();
        let xml = render(&r);
        let doc = parse(&xml);

        let suite = doc
            .descendants()
            .find(|n| n.has_tag_name("testsuite"))
            .unwrap();
        assert_eq!(suite.attribute("name"), Some(kept));
        let cases = children(suite);
        assert_eq!(cases[0].attribute("name"), Some(&*format!("a::{kept}")));
        assert_eq!(cases[0].attribute("classname"), Some(kept));
        let inside = children(cases[0]);
        let property = children(inside[0])[0];
        assert_eq!(property.attribute("name"), Some(kept));
        assert_eq!(property.attribute("value"), Some(multiline));
        let full = format!("{kept}{multiline}");
        assert_eq!(inside[1].attribute("message"), Some(&*full));
        assert_eq!(inside[1].text(), Some(&*full));
        assert_eq!(inside[2].text(), Some(&*full));
        assert_eq!(inside[3].text(), Some(kept));
        let flaky = children(cases[1])[0];
        assert_eq!(flaky.attribute("message"), Some(&*full));
    }

    #[test]
    fn empty_report_is_valid() {
        let xml = render(&report(Vec::new()));
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        let doc = parse(&xml);
        let root = doc.root_element();
        assert_eq!(counts(root), ["0", "0", "0", "0", "1.234"]);
        let suite = children(root)[0];
        assert_eq!(counts(suite), ["0", "0", "0", "0", "1.234"]);
        assert!(children(suite).is_empty());
    }

    #[test]
    fn layout() {
        let mut failed = case(
            "mod::test",
            JunitOutcome::Failed {
                message: "boom".to_owned(),
                details: "full details".to_owned(),
            },
        );
        failed.stdout = "hi".to_owned();
        let xml = render(&report(vec![
            failed,
            case("mod::skipped", JunitOutcome::Ignored),
            case("mod::passed", JunitOutcome::Passed),
        ]));
        let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="outcomes" tests="3" failures="1" errors="0" skipped="1" time="1.234">
  <testsuite name="outcomes" tests="3" failures="1" errors="0" skipped="1" time="1.234" timestamp="2026-11-23T20:41:00Z">
    <testcase name="mod::test" classname="outcomes" time="0.002">
      <failure message="boom" type="failure">full details</failure>
      <system-out>hi</system-out>
    </testcase>
    <testcase name="mod::skipped" classname="outcomes" time="0.002">
      <skipped/>
    </testcase>
    <testcase name="mod::passed" classname="outcomes" time="0.002"/>
  </testsuite>
</testsuites>
"#;
        assert_eq!(xml, expected);
    }
}
