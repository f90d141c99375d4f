//! The documents held against the code. The attribute and environment tables are written twice,
//! in the crate docs (docs.rs) and in the reference (docs/reference.md): the crate docs are their
//! source, and the reference's rows must be the same, row for row; every variable the harness
//! reads must be in them. Every link between the documents leads somewhere, and the output the
//! README shows is the output its example prints.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const REFERENCE: &str = include_str!("../../../docs/reference.md");
const CRATE_DOCS: &str = include_str!("../../../harness/src/lib.rs");
const ENV: &str = include_str!("../../../harness/src/env.rs");

/// The rows of the table under `heading` (up to the next heading of that level): the first
/// cell of each, with the rest of the row.
fn table(text: &str, prefix: &str, heading: &str) -> BTreeMap<String, String> {
    let lines: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix(prefix))
        .collect();
    let start = lines
        .iter()
        .position(|line| *line == heading)
        .unwrap_or_else(|| panic!("no heading {heading:?}"));
    let level = heading.split(' ').next().unwrap_or("#");
    lines[start + 1..]
        .iter()
        .take_while(|line| {
            !(line.starts_with(level) && line.as_bytes().get(level.len()) == Some(&b' '))
        })
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let (name, rest) = line.split_once(" | ").unwrap_or((line, ""));
            (
                name.trim_start_matches("| ").to_owned(),
                rest.trim().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_attribute_tables_are_the_same() {
    let reference = table(REFERENCE, "", "## Attribute arguments");
    let docs = table(CRATE_DOCS, "//! ", "# Attribute arguments");
    assert_eq!(reference, docs);
}

#[test]
fn the_environment_tables_are_the_same() {
    let reference = table(REFERENCE, "", "## Flags and environment");
    let docs = table(CRATE_DOCS, "//! ", "# Environment");
    assert_eq!(reference, docs);
}

#[test]
fn every_variable_the_harness_reads_is_in_the_tables() {
    let documented: String = table(REFERENCE, "", "## Flags and environment")
        .into_keys()
        .collect();
    // The harness reads its environment in one place, which names every variable it reads;
    // these are its configuration.
    let list = ENV
        .split_once("pub(crate) const CONFIGURATION: &[&str] = &[")
        .and_then(|(_, rest)| rest.split_once("];"))
        .map_or("", |(list, _)| list);
    let mut read: Vec<&str> = list.split('"').skip(1).step_by(2).collect();
    read.sort_unstable();
    read.dedup();
    assert!(!read.is_empty());
    let missing: Vec<&&str> = read
        .iter()
        .filter(|name| !documented.contains(&format!("`{name}`")))
        .collect();
    assert!(missing.is_empty(), "undocumented: {missing:?}");
}

/// The documents a reader moves between, from the repository's root.
const DOCUMENTS: &[&str] = &[
    "README.md",
    "docs/guide.md",
    "docs/reference.md",
    "ARCHITECTURE.md",
    "bench/README.md",
    "cargo-isolated-test/README.md",
];

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A Markdown document's text outside its code blocks, line by line.
fn prose(text: &str) -> Vec<&str> {
    let mut in_code = false;
    text.lines()
        .filter(|line| {
            if line.starts_with("```") {
                in_code = !in_code;
                return false;
            }
            !in_code
        })
        .collect()
}

/// The anchors GitHub gives a document's headings: lower case, spaces as `-`, other punctuation
/// dropped.
fn anchors(text: &str) -> BTreeSet<String> {
    prose(text)
        .into_iter()
        .filter(|line| line.starts_with('#'))
        .map(|line| {
            line.trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect()
}

/// Each `](target)` in a document's prose, but links to the web.
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in prose(text) {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            let target = &rest[..end];
            if !target.contains("://") && !target.starts_with("mailto:") {
                found.push(target.to_owned());
            }
            rest = &rest[end..];
        }
    }
    found
}

#[test]
fn every_link_between_the_documents_leads_somewhere() {
    let root = repository();
    let mut broken = Vec::new();
    for document in DOCUMENTS {
        let path = root.join(document);
        let text = std::fs::read_to_string(&path).expect("a document the list names");
        for link in links(&text) {
            let (file, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let target = match file {
                "" => path.clone(),
                file => path.parent().unwrap().join(file),
            };
            if !target.exists() {
                broken.push(format!("{document}: {link}: no such file"));
            } else if !anchor.is_empty() {
                let text = std::fs::read_to_string(&target).unwrap_or_default();
                if !anchors(&text).contains(anchor) {
                    broken.push(format!("{document}: {link}: no such heading"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
}

/// The README's first example is fixtures/readme_example.rs, as `tests/my_suite.rs`, and the
/// output under it is the start of that suite's, but for the figures each run measures anew (the
/// `memory:` lines).
#[cfg(target_os = "linux")]
#[test]
fn the_readmes_example_is_a_suite_that_prints_what_the_readme_shows() {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let block = |fence: &str| -> String {
        readme
            .split_once(fence)
            .and_then(|(_, rest)| rest.split_once("```"))
            .map(|(block, _)| block.to_owned())
            .unwrap_or_else(|| panic!("the README has a {fence:?} block"))
    };
    let suite = std::fs::read_to_string(repository().join("tests/fixtures/readme_example.rs"));
    assert_eq!(block("```rust\n"), suite.unwrap());
    let run = isolated_test_e2e::fixture!("readme_example").run();
    let printed: String = run
        .stdout
        .lines()
        .filter(|line| !line.starts_with("memory: "))
        .map(|line| format!("{line}\n"))
        .collect();
    let printed = printed
        .replace("fixtures/readme_example.rs", "tests/my_suite.rs")
        .replace("readme_example::", "my_suite::");
    let shown = block("```text\n");
    assert!(
        printed.trim_start().starts_with(shown.trim()),
        "the README shows:\n{shown}\nthe suite printed:\n{printed}"
    );
}
