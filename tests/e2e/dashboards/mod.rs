//! The Grafana dashboards in `dashboards/`: well-formed for Grafana 10+
//! (cheap JSON checks: a `job` selector in every query, links between the
//! two), shipped unchanged in `deploy/base/dashboards/`, and every query
//! returns data from a real Prometheus scraping the demo the way the
//! Prometheus Operator scrapes a ServiceMonitor (target labels `namespace`,
//! `pod`, `service`, `job`, `endpoint`, `instance`; `honor_labels: true`),
//! with the namespace variable listing exactly the demo's team namespaces.
//!
//! The Prometheus test ([`prometheus`]) needs `prometheus` on PATH (Debian
//! package `prometheus`; `.ci/run` installs it) and fails, saying so,
//! without it.

mod prometheus;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

/// What `$namespace` stands for when the queries run against the demo.
const NAMESPACE: &str = "fraud";
/// What `$job` stands for: the job label the Prometheus Operator gives the
/// targets of our ServiceMonitor (the metrics Service's name).
const JOB: &str = "switchyard-metrics";
/// switchyard's own namespace: the `namespace` target label.
const OWN_NAMESPACE: &str = "switchyard-system";
/// The `job` selector every query carries.
const JOB_SELECTOR: &str = "job=~\"$job\"";
/// What `$__rate_interval` stands for: a few 1 s scrapes.
const RATE_INTERVAL: &str = "10s";
/// The whole Prometheus test, from start to verdict.
const TEST_DEADLINE: Duration = Duration::from_secs(150);
const DATASOURCE: &str = "${datasource}";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `dashboards/*.json`: file name and parsed JSON.
fn dashboards() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("dashboards")).expect("dashboards/") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
            out.push((file_name(&path), json));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 2, "expected the two dashboards, found {out:?}");
    out
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Every panel, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        out.push(panel);
        out.extend(panel["panels"].as_array().into_iter().flatten());
    }
    out
}

fn variable<'a>(dashboard: &'a Value, name: &str) -> &'a Value {
    dashboard["templating"]["list"]
        .as_array()
        .and_then(|list| list.iter().find(|v| v["name"] == name))
        .unwrap_or_else(|| panic!("no ${name} variable"))
}

#[test]
fn dashboards_are_grafana_10_json_with_a_datasource_variable_on_every_panel() {
    let mut uids = BTreeSet::new();
    for (file, d) in dashboards() {
        let at = |what: &str| format!("{file}: {what}");
        assert!(
            d["schemaVersion"].as_u64() >= Some(38),
            "{}",
            at("schemaVersion < 38")
        );
        assert!(d.get("__inputs").is_none(), "{}", at("has __inputs"));
        assert!(
            d["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{}",
            at("title")
        );
        let uid = d["uid"].as_str().expect("uid");
        assert!(uids.insert(uid.to_owned()), "{}", at("uid used twice"));

        let ds = variable(&d, "datasource");
        assert_eq!(
            (&ds["type"], &ds["query"]),
            (&"datasource".into(), &"prometheus".into())
        );
        let job = variable(&d, "job");
        assert_eq!(
            (&job["type"], &job["query"]["query"]),
            (
                &"query".into(),
                &"label_values(switchyard_build_info, job)".into()
            ),
            "{}",
            at("$job")
        );
        let ns = variable(&d, "namespace");
        assert_eq!(ns["type"], "query", "{}", at("$namespace type"));
        assert_eq!(
            ns["datasource"]["uid"],
            DATASOURCE,
            "{}",
            at("$namespace datasource")
        );
        assert_eq!(
            ns["query"]["query"],
            "label_values(switchyard_scheduler_connected{job=~\"$job\"}, namespace)",
            "{}",
            at("$namespace query")
        );
        if file == "switchyard-namespace.json" {
            assert_eq!(
                (&ns["multi"], &ns["includeAll"]),
                (&false.into(), &false.into()),
                "{}",
                at("single namespace")
            );
        }

        let mut ids = BTreeSet::new();
        let mut queries = 0;
        for panel in panels(&d) {
            let title = panel["title"].as_str().unwrap_or("?");
            let at = |what: &str| format!("{file}: panel {title:?}: {what}");
            assert!(
                ids.insert(panel["id"].as_u64().expect("id")),
                "{}",
                at("id used twice")
            );
            let grid = &panel["gridPos"];
            for key in ["h", "w", "x", "y"] {
                assert!(grid[key].is_u64(), "{}", at(&format!("gridPos.{key}")));
            }
            assert!(
                grid["x"].as_u64().unwrap() + grid["w"].as_u64().unwrap() <= 24,
                "{}",
                at("wider than 24")
            );
            if panel["type"] == "row" {
                continue;
            }
            assert_eq!(
                panel["datasource"]["uid"],
                DATASOURCE,
                "{}",
                at("datasource")
            );
            let targets = panel["targets"].as_array().filter(|t| !t.is_empty());
            for target in targets.unwrap_or_else(|| panic!("{}", at("no targets"))) {
                assert_eq!(
                    target["datasource"]["uid"],
                    DATASOURCE,
                    "{}",
                    at("target datasource")
                );
                let expr = target["expr"].as_str().unwrap_or_default();
                assert!(!expr.is_empty(), "{}", at("expr"));
                let unscoped = selectors_without_job(expr);
                assert!(
                    unscoped.is_empty(),
                    "{}",
                    at(&format!("{unscoped:?} without {JOB_SELECTOR} in {expr}"))
                );
                queries += 1;
            }
        }
        assert!(queries > 0, "{}", at("no queries"));
    }
}

/// The metric selectors of `expr` (catalogue names, histogram suffixes
/// included) that do not start with the `job` selector.
fn selectors_without_job(expr: &str) -> Vec<String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(start) = rest.find(|c: char| c.is_ascii_lowercase() || c == '_') {
        let preceded = rest[..start]
            .chars()
            .next_back()
            .is_some_and(|c| is_name(c) || c == '"' || c == '$');
        let tail = &rest[start..];
        let end = tail.find(|c: char| !is_name(c)).unwrap_or(tail.len());
        let name = &tail[..end];
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .filter(|f| switchyard_core::metrics::find(f).is_some())
            .unwrap_or(name);
        if !preceded
            && switchyard_core::metrics::find(family).is_some()
            && !tail[end..].starts_with(&format!("{{{JOB_SELECTOR}"))
        {
            out.push(name.to_owned());
        }
        rest = &tail[end..];
    }
    out
}

#[test]
fn every_selector_of_a_query_is_scoped_to_the_job() {
    assert_eq!(
        selectors_without_job(
            "sum(rate(grpc_server_handling_seconds_bucket{grpc_code=\"OK\"}[5m])) / process_threads{job=~\"$job\"} + up"
        ),
        ["grpc_server_handling_seconds_bucket"]
    );
    assert!(
        selectors_without_job("max by (namespace) (switchyard_runtimes{job=~\"$job\"})").is_empty()
    );
}

#[test]
fn the_overview_and_namespace_dashboards_link_to_each_other() {
    let all = dashboards();
    let uid = |file: &str| {
        all.iter()
            .find(|(f, _)| f == file)
            .map(|(_, d)| d["uid"].as_str().unwrap().to_owned())
            .unwrap()
    };
    for (from, to) in [
        ("switchyard-overview.json", "switchyard-namespace.json"),
        ("switchyard-namespace.json", "switchyard-overview.json"),
    ] {
        let (_, d) = all.iter().find(|(f, _)| f == from).unwrap();
        let target = format!("/d/{}/", uid(to));
        let linked = d["links"].as_array().into_iter().flatten().any(|l| {
            l["url"].as_str().is_some_and(|u| u.starts_with(&target))
                && l["includeVars"] == true
                && l["keepTime"] == true
        });
        assert!(
            linked,
            "{from} has no link to {target} keeping variables and time"
        );
    }
    // Per-namespace series on the overview open that namespace's dashboard.
    let (_, overview) = all
        .iter()
        .find(|(f, _)| f == "switchyard-overview.json")
        .unwrap();
    let drills = panels(overview).into_iter().any(|p| {
        p["fieldConfig"]["defaults"]["links"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|l| {
                l["url"].as_str().is_some_and(|u| {
                    u.starts_with(&format!("/d/{}/", uid("switchyard-namespace.json")))
                        && u.contains("var-namespace=${__field.labels.namespace}")
                })
            })
    });
    assert!(
        drills,
        "no overview panel links a namespace to its dashboard"
    );
}

#[test]
fn deploy_base_ships_the_dashboards_unchanged() {
    let shipped = root().join("deploy/base/dashboards");
    for (file, _) in dashboards() {
        let original = std::fs::read(root().join("dashboards").join(&file)).unwrap();
        let copy = std::fs::read(shipped.join(&file))
            .unwrap_or_else(|_| panic!("deploy/base/dashboards/{file} missing: cp dashboards/*.json deploy/base/dashboards/"));
        assert!(
            original == copy,
            "deploy/base/dashboards/{file} differs from dashboards/{file}: cp dashboards/*.json deploy/base/dashboards/"
        );
    }
    let kustomization =
        std::fs::read_to_string(root().join("deploy/base/kustomization.yaml")).unwrap();
    for (file, _) in dashboards() {
        assert!(
            kustomization.contains(&format!("dashboards/{file}")),
            "deploy/base/kustomization.yaml does not ship {file}"
        );
    }
}

/// Every query of every dashboard, with Grafana's variables substituted:
/// `(dashboard, panel title, PromQL)`.
fn queries() -> Vec<(String, String, String)> {
    let substitute = |q: &str| {
        q.replace("$__rate_interval", RATE_INTERVAL)
            .replace("$job", JOB)
            .replace("${namespace}", NAMESPACE)
            .replace("$namespace", NAMESPACE)
    };
    let mut out = Vec::new();
    for (file, d) in dashboards() {
        for panel in panels(&d) {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let title = panel["title"].as_str().unwrap_or_default().to_owned();
                out.push((
                    file.clone(),
                    title,
                    substitute(target["expr"].as_str().unwrap()),
                ));
            }
        }
        // label_values(metric, label) of query variables: the metric must
        // carry the label.
        for var in d["templating"]["list"].as_array().into_iter().flatten() {
            let Some(q) = var["query"]["query"].as_str() else {
                continue;
            };
            if let Some(args) = q
                .strip_prefix("label_values(")
                .and_then(|a| a.strip_suffix(')'))
            {
                let (metric, label) = args.split_once(',').expect("label_values(metric, label)");
                let name = format!("${}", var["name"].as_str().unwrap());
                out.push((
                    file.clone(),
                    name,
                    substitute(&format!("count by ({}) ({metric})", label.trim())),
                ));
            }
        }
    }
    out
}
