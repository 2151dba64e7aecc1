//! The alert rules in `dashboards/switchyard-alerts.yaml`: valid for
//! Prometheus (`promtool check rules`), each alert firing when it should
//! and not otherwise (`promtool test rules` on
//! `dashboards/switchyard-alerts.test.yaml`, which must cover every alert),
//! and each linking a runbook paragraph of `docs/alerts.md`.
//!
//! Needs `promtool` on PATH (Debian package `prometheus`; `.ci/run`
//! installs it) and fails, saying so, without it.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const RULES: &str = "dashboards/switchyard-alerts.yaml";
const RULE_TESTS: &str = "dashboards/switchyard-alerts.test.yaml";
const RUNBOOKS: &str = "docs/alerts.md";
/// Where `runbook_url`s point: `docs/alerts.md` of the repository.
const RUNBOOK_BASE: &str = "https://github.com/switchyard/switchyard/blob/main/docs/alerts.md#";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every rule of every group.
fn rules() -> Vec<Value> {
    yaml(RULES)["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn promtool(args: &[&str]) {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "promtool cannot run ({e}), and the alert rules need it: apt-get install \
                 prometheus (Debian/Ubuntu; .ci/run does this), or put promtool on PATH"
            )
        });
    assert!(
        output.status.success(),
        "promtool {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_rules_are_valid_for_prometheus() {
    promtool(&["check", "rules", RULES]);
}

#[test]
fn every_alert_fires_in_its_unit_test() {
    promtool(&["test", "rules", RULE_TESTS]);
    let tested: BTreeSet<String> = yaml(RULE_TESTS)["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_array().cloned().unwrap_or_default())
        .filter(|t| t["exp_alerts"].as_array().is_some_and(|a| !a.is_empty()))
        .filter_map(|t| t["alertname"].as_str().map(str::to_owned))
        .collect();
    for rule in rules() {
        let name = rule["alert"].as_str().expect("alerting rules only");
        assert!(tested.contains(name), "{name} never fires in {RULE_TESTS}");
    }
}

/// GitHub's anchor of a Markdown heading.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn every_alert_links_its_runbook_paragraph() {
    let doc = std::fs::read_to_string(root().join(RUNBOOKS)).unwrap();
    let headings: BTreeSet<String> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(anchor)
        .collect();
    let mut names = BTreeSet::new();
    for rule in rules() {
        let name = rule["alert"].as_str().unwrap();
        names.insert(name.to_owned());
        let labels = &rule["labels"];
        assert!(
            matches!(labels["severity"].as_str(), Some("warning" | "critical")),
            "{name}: severity"
        );
        let annotations = &rule["annotations"];
        for key in ["summary", "description"] {
            assert!(
                annotations[key].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: no {key}"
            );
        }
        let url = annotations["runbook_url"].as_str().unwrap_or_default();
        let fragment = url
            .strip_prefix(RUNBOOK_BASE)
            .unwrap_or_else(|| panic!("{name}: runbook_url {url:?} is not {RUNBOOK_BASE}..."));
        assert_eq!(
            fragment,
            anchor(name),
            "{name}: runbook_url names another alert"
        );
        assert!(
            headings.contains(fragment),
            "{name}: {RUNBOOKS} has no \"## {name}\" runbook"
        );
    }
    // And no runbook for an alert that does not exist.
    for heading in doc.lines().filter_map(|l| l.strip_prefix("## Switchyard")) {
        let name = format!("Switchyard{}", heading.trim());
        assert!(
            names.contains(&name),
            "{RUNBOOKS} documents {name}, which no rule defines"
        );
    }
}

#[test]
fn anchors_are_githubs() {
    assert_eq!(anchor("SwitchyardLeaderMissing"), "switchyardleadermissing");
    assert_eq!(anchor("Two words, punctuated"), "two-words-punctuated");
}
