//! The Kustomize install as `kubectl kustomize` renders it (kubectl is
//! needed): every overlay renders an install that passes the shared checks
//! of `manifests.rs` (arguments valid for the binary, probes on real ports,
//! RBAC as `rbac.rs` checks it, PDB and spread, Services, ServiceMonitor
//! with honorLabels, NetworkPolicy, dashboards), and none of them holds a
//! CustomResourceDefinition: the CRDs are a separate step
//! (`deploy/crds`), so deleting switchyard's install leaves them, and every
//! team's custom resources, in place.

use crate::install_checks::{self, Expected};
use crate::manifests;

use std::process::Command;

use serde_json::Value;

const NS: &str = install_checks::NAMESPACE;

fn render(dir: &str) -> Vec<Value> {
    let path = manifests::root().join(dir);
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("running `kubectl kustomize {dir}` needs kubectl on PATH: {e}"));
    assert!(
        output.status.success(),
        "kubectl kustomize {dir} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    manifests::parse(&String::from_utf8(output.stdout).unwrap())
}

/// Each overlay and what it installs.
fn overlays() -> [Expected<'static>; 3] {
    let base = Expected::cluster_wide("deploy/base");
    [
        Expected { ..base },
        Expected {
            source: "deploy/overlays/monitoring",
            service_monitor: true,
            alert_rules: true,
            ..base
        },
        Expected {
            source: "deploy/overlays/namespaces",
            watched: &["team-a", "team-b"],
            granted_in: &["team-a", "team-b", NS, "seldon-mesh"],
            network_policy: true,
            ..base
        },
    ]
}

#[test]
fn every_overlay_renders_a_consistent_install_without_crds() {
    for expected in overlays() {
        let src = expected.source;
        let docs = render(src);
        manifests::find(&docs, "Namespace", NS);
        let config = install_checks::check_install(&docs, &expected);
        assert_eq!(
            config["kubernetes"]["clusterwide"].as_bool(),
            Some(true),
            "{src}"
        );
        assert!(
            manifests::crds(&docs).is_empty(),
            "{src}: holds CRDs, so deleting it would delete every team's custom resources"
        );
    }
}

/// The ServiceMonitor needs the Prometheus Operator: the base has none, the
/// optional component brings it.
#[test]
fn the_base_needs_no_prometheus_operator() {
    let docs = render("deploy/base");
    for doc in &docs {
        let api = doc["apiVersion"].as_str().unwrap();
        assert!(
            !api.starts_with("monitoring.coreos.com/"),
            "deploy/base: {api} needs the Prometheus Operator"
        );
    }
}

/// `deploy/crds` renders Seldon's seven CRDs as Seldon's
/// seldon-core-v2-crds chart names them, with no labels or annotations of
/// switchyard's (`kubectl delete -l app.kubernetes.io/part-of=switchyard`
/// must not reach them; Helm may adopt them with --take-ownership).
#[test]
fn crds_are_a_separate_step_compatible_with_seldons_chart() {
    let docs = render("deploy/crds");
    manifests::check_seldon_crds(&docs, "deploy/crds");
    for (name, crd) in manifests::crds(&docs) {
        let metadata = crd["metadata"].as_object().unwrap();
        let keys: Vec<&String> = metadata.keys().collect();
        assert_eq!(keys, ["name"], "deploy/crds: {name} metadata");
    }
    assert_eq!(docs.len(), 7, "deploy/crds: only the CRDs");
}
