//! Reading and editing Cargo.toml with toml_edit, so the user's formatting and comments survive.

use toml_edit::{value, ArrayOfTables, DocumentMut, InlineTable, Item, Table};

/// How isolated-test is added as a dev-dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dep {
    Version(String),
    /// A path, already relative to the package (as written into its Cargo.toml).
    Path(String),
    /// A git repository, with `branch`, `tag` or `rev` and its value.
    Git {
        url: String,
        reference: Option<(&'static str, String)>,
    },
}

pub fn parse(text: &str) -> Result<DocumentMut, String> {
    text.parse::<DocumentMut>()
        .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_string())
}

/// The `harness` a target's entry sets, if any: `[lib]` for the lib, its `[[test]]` otherwise.
pub fn harness(doc: &DocumentMut, lib: bool, name: &str) -> Option<bool> {
    let entry = if lib {
        doc.get("lib").and_then(Item::as_table_like)
    } else {
        test_entry(doc, name)
    };
    entry?.get("harness")?.as_bool()
}

/// Whether the test target `name` has a `[[test]]` entry (else cargo discovered it).
pub fn is_explicit_test(doc: &DocumentMut, name: &str) -> bool {
    test_entry(doc, name).is_some()
}

fn test_entry<'a>(doc: &'a DocumentMut, name: &str) -> Option<&'a dyn toml_edit::TableLike> {
    let tests = doc.get("test")?.as_array_of_tables()?;
    tests
        .iter()
        .find(|t| t.get("name").and_then(Item::as_str) == Some(name))
        .map(|t| t as _)
}

/// Sets `[lib] harness = false`, adding `[lib]` right after `[package]` if there is none.
pub fn set_lib_harness_false(doc: &mut DocumentMut) {
    if doc.get("lib").is_none() {
        let mut lib = Table::new();
        // Ties keep document order, so this sorts right after [package], before later tables.
        lib.set_position(
            doc.get("package")
                .and_then(Item::as_table)
                .and_then(Table::position),
        );
        doc.insert("lib", Item::Table(lib));
    }
    if let Some(lib) = doc["lib"].as_table_like_mut() {
        lib.insert("harness", value(false));
    }
}

/// Gives the test target `name` `harness = false`: on its `[[test]]` entry, or on a new entry
/// (with the `path` cargo found it at) when cargo discovered it, as `harness` needs an entry.
pub fn set_test_harness_false(doc: &mut DocumentMut, name: &str, path: &str) -> Result<(), String> {
    if doc.get("test").is_none() {
        doc.insert("test", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    let tests = doc["test"]
        .as_array_of_tables_mut()
        .ok_or("`test` in Cargo.toml is not written as [[test]] tables")?;
    if let Some(t) = tests
        .iter_mut()
        .find(|t| t.get("name").and_then(Item::as_str) == Some(name))
    {
        t.insert("harness", value(false));
        return Ok(());
    }
    let mut t = Table::new();
    t.insert("name", value(name));
    t.insert("path", value(path));
    t.insert("harness", value(false));
    tests.push(t);
    Ok(())
}

/// Adds `features` to the `required-features` of the `[[test]]` entry `name` (which must exist).
pub fn add_required_features(
    doc: &mut DocumentMut,
    name: &str,
    features: &[&String],
) -> Result<(), String> {
    let entry = doc
        .get_mut("test")
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|t| {
            t.iter_mut()
                .find(|t| t.get("name").and_then(Item::as_str) == Some(name))
        })
        .ok_or_else(|| format!("no [[test]] entry named `{name}` in Cargo.toml"))?;
    if entry.get("required-features").is_none() {
        entry.insert("required-features", value(toml_edit::Array::new()));
    }
    let list = entry["required-features"]
        .as_array_mut()
        .ok_or("`required-features` in Cargo.toml is not an array")?;
    for f in features {
        list.push(f.as_str());
    }
    Ok(())
}

/// Whether cargo discovers this 2015-edition package's tests/ files by itself, and would stop
/// once one `[[test]]` entry is written: no `[[test]]` entry yet, and no `autotests` key.
pub fn discovery_stops_at_first_entry(doc: &DocumentMut) -> bool {
    let set = doc
        .get("package")
        .and_then(Item::as_table_like)
        .is_some_and(|p| p.contains_key("autotests"));
    doc.get("test").is_none() && !set
}

/// Sets `[package] autotests = true`, which keeps a 2015-edition package's tests/ files found
/// beside its `[[test]]` entries.
pub fn set_autotests(doc: &mut DocumentMut) {
    if let Some(p) = doc.get_mut("package").and_then(Item::as_table_like_mut) {
        p.insert("autotests", value(true));
    }
}

/// Whether isolated-test is already a (dev-)dependency.
pub fn has_isolated_test(doc: &DocumentMut) -> bool {
    ["dev-dependencies", "dependencies"].iter().any(|k| {
        doc.get(k)
            .and_then(Item::as_table_like)
            .is_some_and(|t| t.contains_key("isolated-test"))
    })
}

/// Adds isolated-test to `[dev-dependencies]` (making the table if needed) unless it is there.
pub fn add_dev_dependency(doc: &mut DocumentMut, dep: &Dep) {
    if has_isolated_test(doc) {
        return;
    }
    if doc.get("dev-dependencies").is_none() {
        // Right after [dependencies] (ties keep document order), else after everything.
        let after = match doc.get("dependencies").and_then(Item::as_table) {
            Some(deps) => deps.position(),
            None => last_position(doc).map(|p| p + 1),
        };
        let mut table = Table::new();
        table.set_position(after);
        doc.insert("dev-dependencies", Item::Table(table));
    }
    let Some(table) = doc["dev-dependencies"].as_table_like_mut() else {
        return;
    };
    let item = match dep {
        Dep::Version(v) => value(v.as_str()),
        Dep::Path(p) => {
            let mut t = InlineTable::new();
            t.insert("path", p.as_str().into());
            value(t)
        }
        Dep::Git { url, reference } => {
            let mut t = InlineTable::new();
            t.insert("git", url.as_str().into());
            if let Some((key, v)) = reference {
                t.insert(*key, v.as_str().into());
            }
            value(t)
        }
    };
    table.insert("isolated-test", item);
    if let Some(t) = doc["dev-dependencies"].as_table_mut() {
        // `[dev-dependencies.foo]` alone leaves the table implicit, with no header for our key.
        t.set_implicit(false);
    }
}

/// Where [`optimise_harness`] writes: cargo reads profiles from the workspace root's manifest.
const HARNESS_PROFILE: [&str; 4] = ["profile", "dev", "package", "isolated-test"];

/// What [`optimise_harness`] sets: optimised, since the harness's code runs for every test and
/// its counting allocator's for every allocation a test makes; without debug info and in 16
/// codegen units (not the dev profile's 256), which took its optimised build on 2 cores from
/// 16.3 s to 10.1 s. Its debug assertions (the one-thread check before each fork) stay on.
/// Each key with its value as TOML writes it.
pub const HARNESS_SETTINGS: [(&str, &str); 3] = [
    ("opt-level", "3"),
    ("debug", "false"),
    ("codegen-units", "16"),
];

/// `opt-level = 3, debug = false, codegen-units = 16`: [`HARNESS_SETTINGS`] as one line.
pub fn harness_settings_line() -> String {
    HARNESS_SETTINGS
        .map(|(key, setting)| format!("{key} = {setting}"))
        .join(", ")
}

/// Builds the harness optimised while the tests stay in debug (`cargo test`'s profile inherits
/// `dev`'s). Adds `[profile.dev.package.isolated-test]` with [`HARNESS_SETTINGS`] unless the
/// manifest has that table (the user's own choice), or a `profile` that is not a table of tables
/// (a dotted or inline one: left as written). Whether it added it.
pub fn optimise_harness(doc: &mut DocumentMut) -> bool {
    let present = HARNESS_PROFILE
        .iter()
        .try_fold(doc.as_item(), |item, key| item.get(key))
        .is_some();
    if present {
        return false;
    }
    let position = last_position(doc).map(|p| p + 1);
    let mut parent = doc.as_table_mut();
    for key in &HARNESS_PROFILE[..3] {
        let item = parent.entry(key).or_insert_with(|| {
            let mut table = Table::new();
            table.set_implicit(true);
            Item::Table(table)
        });
        let Some(table) = item.as_table_mut() else {
            return false;
        };
        parent = table;
    }
    let mut table = Table::new();
    for (key, setting) in HARNESS_SETTINGS {
        let setting: toml_edit::Value = setting.parse().expect("each setting is a TOML value");
        table.insert(key, Item::Value(setting));
    }
    table.set_position(position);
    table.decor_mut().set_prefix(
        "\n# The test harness and its counting allocator optimised, quick to build, the tests still in\n\
         # debug (isolated-test's user guide, \"Optimising the harness\").\n",
    );
    parent.insert(HARNESS_PROFILE[3], Item::Table(table));
    true
}

/// The highest position of a table in `doc`, headers of `[[array]]` tables included.
fn last_position(doc: &DocumentMut) -> Option<isize> {
    fn walk(table: &Table, max: &mut Option<isize>) {
        for (_, item) in table.iter() {
            let tables: Vec<&Table> = match item {
                Item::Table(t) => vec![t],
                Item::ArrayOfTables(a) => a.iter().collect(),
                _ => continue,
            };
            for t in tables {
                *max = (*max).max(t.position());
                walk(t, max);
            }
        }
    }
    let mut max = None;
    walk(doc.as_table(), &mut max);
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str =
        "[package]\nname = \"a\" # the name\nversion = \"0.1.0\"\n\n[dependencies]\nx = \"1\"\n";

    #[test]
    fn lib_harness_goes_after_package() {
        let mut doc = parse(BASE).unwrap();
        set_lib_harness_false(&mut doc);
        assert_eq!(
            doc.to_string(),
            "[package]\nname = \"a\" # the name\nversion = \"0.1.0\"\n\n[lib]\nharness = false\n\n[dependencies]\nx = \"1\"\n"
        );
        let mut doc = parse("[package]\nname = \"a\"\n\n[lib]\npath = \"l.rs\"\n").unwrap();
        set_lib_harness_false(&mut doc);
        assert_eq!(
            doc.to_string(),
            "[package]\nname = \"a\"\n\n[lib]\npath = \"l.rs\"\nharness = false\n"
        );
        assert_eq!(harness(&doc, true, ""), Some(false));
    }

    #[test]
    fn test_entries_are_made_explicit_or_given_harness() {
        let mut doc = parse(&format!("{BASE}\n[[test]]\nname = \"old\"\n")).unwrap();
        assert!(is_explicit_test(&doc, "old"));
        assert!(!is_explicit_test(&doc, "new"));
        set_test_harness_false(&mut doc, "old", "tests/old.rs").unwrap();
        set_test_harness_false(&mut doc, "new", "tests/new/main.rs").unwrap();
        assert_eq!(
            doc.to_string(),
            format!(
                "{BASE}\n[[test]]\nname = \"old\"\nharness = false\n\n[[test]]\nname = \"new\"\npath = \"tests/new/main.rs\"\nharness = false\n"
            )
        );
    }

    #[test]
    fn the_harness_is_optimised_once_and_a_profile_of_the_users_is_kept() {
        let mut doc = parse(&format!("{BASE}\n[profile.dev]\ndebug = 1\n")).unwrap();
        assert!(optimise_harness(&mut doc));
        assert!(!optimise_harness(&mut doc));
        assert_eq!(
            doc.to_string(),
            format!(
                "{BASE}\n[profile.dev]\ndebug = 1\n\n# The test harness and its counting allocator \
                 optimised, quick to build, the tests still in\n# debug (isolated-test's user guide, \
                 \"Optimising the harness\").\n[profile.dev.package.isolated-test]\nopt-level = 3\n\
                 debug = false\ncodegen-units = 16\n"
            )
        );
        let mine = format!("{BASE}\n[profile.dev.package.isolated-test]\nopt-level = 1\n");
        let mut doc = parse(&mine).unwrap();
        assert!(!optimise_harness(&mut doc));
        assert_eq!(doc.to_string(), mine);
        let dotted = format!("profile = {{ dev = {{ debug = 1 }} }}\n{BASE}");
        let mut doc = parse(&dotted).unwrap();
        assert!(!optimise_harness(&mut doc));
        assert_eq!(doc.to_string(), dotted);
    }

    #[test]
    fn dev_dependency_is_added_once() {
        let mut doc = parse(BASE).unwrap();
        add_dev_dependency(&mut doc, &Dep::Path("../harness".into()));
        add_dev_dependency(&mut doc, &Dep::Version("0.1".into()));
        assert_eq!(
            doc.to_string(),
            format!("{BASE}\n[dev-dependencies]\nisolated-test = {{ path = \"../harness\" }}\n")
        );
        let mut doc = parse(&format!("{BASE}\n[dev-dependencies]\ny = \"2\"\n")).unwrap();
        add_dev_dependency(&mut doc, &Dep::Version("0.1".into()));
        assert!(doc
            .to_string()
            .ends_with("[dev-dependencies]\ny = \"2\"\nisolated-test = \"0.1\"\n"));
    }
}
