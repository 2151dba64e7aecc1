//! Malformed ServerConfig / SeldonRuntime / SeldonConfig manifests under
//! `tests/fixtures/invalid/` fail to parse, and the error names the field
//! (and the line) at fault.
//!
//! Each fixture starts with one or more `# expect-error: TEXT` lines; every
//! TEXT must appear in the parse error.

use std::fs;
use std::path::Path;

use crate::{SeldonConfig, SeldonRuntime, ServerConfig};
use serde::de::DeserializeOwned;

const EXPECT: &str = "# expect-error: ";

/// The parse error of a manifest of the given kind, or a note that it parsed.
fn parse_error<T: DeserializeOwned>(text: &str) -> String {
    match serde_saphyr::from_str::<T>(text) {
        Ok(_) => "<parsed without error>".to_owned(),
        Err(error) => error.to_string(),
    }
}

#[test]
fn malformed_config_manifests_fail_naming_the_field() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/invalid");
    let mut paths: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 3, "expected malformed fixtures in {dir:?}");

    let mut failures = Vec::new();
    let mut checked = 0;
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy();
        let text = fs::read_to_string(path).unwrap();
        let expected: Vec<&str> = text
            .lines()
            .filter_map(|line| line.strip_prefix(EXPECT))
            .collect();
        if expected.is_empty() {
            // Not a config-kind fixture: `translate_fixtures` owns the files
            // headed `# translate-error:`.
            assert!(
                text.starts_with("# translate-error: "),
                "{name}: neither `{EXPECT}` nor `# translate-error:` header"
            );
            continue;
        }
        checked += 1;

        let kind = text
            .lines()
            .find_map(|line| line.strip_prefix("kind: "))
            .unwrap_or_else(|| panic!("{name}: no kind"));
        let error = match kind.trim() {
            "ServerConfig" => parse_error::<ServerConfig>(&text),
            "SeldonRuntime" => parse_error::<SeldonRuntime>(&text),
            "SeldonConfig" => parse_error::<SeldonConfig>(&text),
            other => panic!("{name}: kind {other} is not a config kind"),
        };
        for fragment in expected {
            if !error.contains(fragment) {
                failures.push(format!("{name}: expected {fragment:?} in:\n{error}"));
            }
        }
    }
    assert!(
        checked >= 3,
        "expected at least three config-kind fixtures, checked {checked}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
