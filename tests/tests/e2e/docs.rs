//! The attribute and environment tables are written twice, in the crate docs (docs.rs) and in
//! the README (the repository's front page): the crate docs are their source, and the README's
//! rows must be the same, row for row; and every variable the harness reads must be in them.

use std::collections::BTreeMap;

const README: &str = include_str!("../../../README.md");
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
    let readme = table(README, "", "## Attribute arguments");
    let docs = table(CRATE_DOCS, "//! ", "# Attribute arguments");
    assert_eq!(readme, docs);
}

#[test]
fn the_environment_tables_are_the_same() {
    let readme = table(README, "", "## Flags and environment");
    let docs = table(CRATE_DOCS, "//! ", "# Environment");
    assert_eq!(readme, docs);
}

#[test]
fn every_variable_the_harness_reads_is_in_the_tables() {
    let documented: String = table(README, "", "## Flags and environment")
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
