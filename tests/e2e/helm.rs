//! The Helm chart `deploy/helm/switchyard` rendered by real Helm (v4's Go
//! library through helm-python-sdk, which `.ci/run` installs; without it
//! these tests fail, saying so): `helm lint --strict`, then `helm template`
//! for the default values and each documented variant, each checked with
//! the shared install checks of `manifests.rs` (the ones the Kustomize
//! install passes: arguments valid for the binary, probes on real ports,
//! RBAC equal to what `rbac.rs` checks against the code, PDB, spread,
//! ServiceMonitor with honorLabels, NetworkPolicy, dashboards byte for byte)
//! plus what each variant changes.
//!
//! An uninstall leaves the CRDs and every custom resource in place, shown
//! by what is rendered: no CRD by default (Seldon's seldon-core-v2-crds
//! chart owns them), and with `crds.install` each carries
//! `helm.sh/resource-policy: keep`, which `helm uninstall` honours.

use crate::install_checks::{self, Expected};
use crate::manifests;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

const CHART: &str = "deploy/helm/switchyard";
const NS: &str = install_checks::NAMESPACE;

/// `helm lint --strict` and `helm template RELEASE --namespace NS` with
/// `values`: the manifests, or Helm's error.
fn render(release: &str, namespace: &str, values: &Value) -> Result<Vec<Value>, String> {
    run_render(release, namespace, values, &[]).map(|out| manifests::parse(&out))
}

/// Runs `tests/e2e/helm/render.py` with `extra` arguments: its output, or
/// Helm's error.
fn run_render(
    release: &str,
    namespace: &str,
    values: &Value,
    extra: &[&str],
) -> Result<String, String> {
    let root = manifests::root();
    let mut child = Command::new("python3")
        .arg(root.join("tests/e2e/helm/render.py"))
        .arg(root.join(CHART))
        .args([release, namespace])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("rendering the chart needs python3 on PATH: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(values.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    match output.status.code() {
        Some(0) => Ok(String::from_utf8(output.stdout).unwrap()),
        Some(1) => Err(stderr),
        _ => panic!("tests/e2e/helm/render.py could not run Helm: {stderr}"),
    }
}

fn rendered(release: &str, namespace: &str, values: Value) -> Vec<Value> {
    render(release, namespace, &values).unwrap_or_else(|e| panic!("helm template {values}: {e}"))
}

const DEFAULTS: Expected<'static> = Expected::cluster_wide("helm defaults");

fn deployment(docs: &[Value]) -> &Value {
    manifests::only(docs, "Deployment")
}

#[test]
fn default_values_install_cluster_wide_and_no_crds() {
    let docs = rendered("switchyard", NS, json!({}));
    let config = install_checks::check_install(&docs, &DEFAULTS);
    assert_eq!(config["kubernetes"]["clusterwide"].as_bool(), Some(true));
    assert_eq!(
        config["kubernetes"]["templates_namespace"].as_str(),
        Some("seldon-mesh")
    );
    assert!(
        config
            .get("scheduler")
            .is_none_or(|s| s.get("tls").is_none())
    );
    // An uninstall deletes what the release rendered: no CRD, so no
    // custom resource goes with it.
    assert!(
        manifests::crds(&docs).is_empty(),
        "CRDs rendered by default"
    );
    let pod = &deployment(&docs)["spec"]["template"]["spec"];
    assert!(pod.get("priorityClassName").is_none());
    assert_eq!(
        pod["containers"][0]["image"],
        "ghcr.io/switchyard/switchyard:0.1.0"
    );
    // The user, ports and hardening of the Kustomize base, which
    // tests/e2e/dockerfile.rs holds to the image.
    let text =
        std::fs::read_to_string(manifests::root().join("deploy/base/deployment.yaml")).unwrap();
    let base = &manifests::parse(&text)[0]["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"], base["securityContext"]);
    for field in [
        "securityContext",
        "ports",
        "livenessProbe",
        "readinessProbe",
        "resources",
    ] {
        assert_eq!(
            pod["containers"][0][field], base["containers"][0][field],
            "{field}"
        );
    }
}

#[test]
fn a_namespace_list_is_passed_on_and_granted_only_there() {
    let docs = rendered(
        "switchyard",
        NS,
        json!({"watchNamespaces": ["team-a", "team-b"]}),
    );
    install_checks::check_install(
        &docs,
        &Expected {
            source: "helm watchNamespaces",
            watched: &["team-a", "team-b"],
            granted_in: &["team-a", "team-b", NS, "seldon-mesh"],
            ..DEFAULTS
        },
    );
}

#[test]
fn not_clusterwide_serves_the_release_namespace_only() {
    let values = json!({"clusterwide": false, "templatesNamespace": ""});
    let docs = rendered("switchyard", NS, values);
    let config = install_checks::check_install(
        &docs,
        &Expected {
            source: "helm clusterwide=false",
            granted_in: &[NS],
            ..DEFAULTS
        },
    );
    assert_eq!(config["kubernetes"]["clusterwide"].as_bool(), Some(false));
    assert_eq!(
        config["kubernetes"]["templates_namespace"].as_str(),
        Some(NS)
    );
}

#[test]
fn service_monitor_when_enabled_honours_labels() {
    let values = json!({"serviceMonitor": {"enabled": true, "labels": {"release": "prom"}}});
    let docs = rendered("switchyard", NS, values);
    install_checks::check_install(
        &docs,
        &Expected {
            source: "helm serviceMonitor",
            service_monitor: true,
            ..DEFAULTS
        },
    );
    let monitor = manifests::only(&docs, "ServiceMonitor");
    assert_eq!(monitor["metadata"]["labels"]["release"], "prom");
}

#[test]
fn alert_rules_when_enabled_are_the_repository_s_rules() {
    let values = json!({"prometheusRule": {"enabled": true, "labels": {"release": "prom"}}});
    let docs = rendered("switchyard", NS, values);
    install_checks::check_install(
        &docs,
        &Expected {
            source: "helm prometheusRule",
            alert_rules: true,
            ..DEFAULTS
        },
    );
    let rule = manifests::only(&docs, "PrometheusRule");
    assert_eq!(rule["metadata"]["labels"]["release"], "prom");
}

#[test]
fn crds_only_when_asked_and_kept_by_an_uninstall() {
    let docs = rendered("switchyard", NS, json!({"crds": {"install": true}}));
    install_checks::check_install(&docs, &DEFAULTS);
    manifests::check_seldon_crds(&docs, "helm crds.install");
    for (name, crd) in manifests::crds(&docs) {
        let annotations = crd["metadata"]["annotations"].as_object().unwrap();
        assert_eq!(annotations["helm.sh/resource-policy"], "keep", "{name}");
        assert_eq!(annotations.len(), 1, "{name}: {annotations:?}");
        assert!(crd["metadata"].get("labels").is_none(), "{name}: labels");
    }
}

/// Helm stores each release in a Secret, which Kubernetes limits to 1 MiB:
/// charts that carry big CRDs fail to install past it. The CRDs (half a
/// megabyte of pod spec schema each) live in the sub-chart `charts/crds`,
/// whose files Helm does not store with the release; installed, only their
/// rendered manifest counts.
#[test]
fn the_release_secret_stays_under_the_1_mib_limit() {
    const LIMIT: usize = 1 << 20;
    for values in [json!({}), json!({"crds": {"install": true}})] {
        let size: usize = run_render("switchyard", NS, &values, &["--release-size"])
            .unwrap_or_else(|e| panic!("{values}: {e}"))
            .trim()
            .parse()
            .unwrap();
        assert!(
            size < LIMIT * 3 / 4,
            "{values}: a release of {size} bytes, near or past {LIMIT}"
        );
    }
}

#[test]
fn tls_secrets_are_mounted_where_the_arguments_point() {
    let values = json!({
        "gateway": {"tls": {"enabled": true, "secretName": "gateway-cert", "clientAuth": true}},
        "scheduler": {
            "addressTemplate": "seldon-scheduler.{namespace}:9044",
            "tls": {"enabled": true, "secretName": "scheduler-client", "clientCertificate": true,
                    "serverName": "seldon-scheduler"}
        }
    });
    let docs = rendered("switchyard", NS, values);
    let config = install_checks::check_install(&docs, &DEFAULTS);
    let scheduler = &config["scheduler"];
    assert_eq!(
        scheduler["address_template"].as_str(),
        Some("seldon-scheduler.{namespace}:9044")
    );
    assert_eq!(
        scheduler["tls"]["server_name"].as_str(),
        Some("seldon-scheduler")
    );
    let pod = &deployment(&docs)["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    // Each file the configuration names is a key of the Secret mounted
    // above it.
    let secret_of = |file: &str| -> String {
        let (dir, key) = file.rsplit_once('/').unwrap();
        assert!(["tls.crt", "tls.key", "ca.crt"].contains(&key), "{file}");
        let mount = container["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["mountPath"] == dir)
            .unwrap_or_else(|| panic!("{file}: nothing mounted at {dir}"));
        assert_eq!(mount["readOnly"], true);
        let volume = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == mount["name"])
            .unwrap();
        volume["secret"]["secretName"].as_str().unwrap().to_owned()
    };
    for key in ["cert", "key", "client_ca"] {
        let file = config["gateway"]["tls"][key].as_str().unwrap();
        assert_eq!(secret_of(file), "gateway-cert", "gateway {key}");
    }
    for key in ["ca", "cert", "key"] {
        let file = scheduler["tls"][key].as_str().unwrap();
        assert_eq!(secret_of(file), "scheduler-client", "scheduler {key}");
    }
    let gateway = manifests::find(&docs, "Service", "switchyard-gateway");
    assert!(
        gateway["spec"]["ports"][0].get("appProtocol").is_none(),
        "h2c (cleartext) on a TLS port"
    );
}

#[test]
fn release_name_namespace_and_pod_options_flow_through() {
    let from = json!([{"namespaceSelector": {"matchLabels": {"team": "ml"}}}]);
    let values = json!({
        "replicas": 3,
        "image": {"repository": "registry.example/switchyard", "tag": "1.2.3"},
        "priorityClassName": "platform-critical",
        "podDisruptionBudget": {"minAvailable": 2},
        "networkPolicy": {"enabled": true, "gateway": {"from": from}},
        "extraArgs": ["--reconcile-concurrency=32"],
        "templatesNamespace": "ml-platform",
    });
    let docs = rendered("sy", "ml-platform", values);
    let config = install_checks::check_install(
        &docs,
        &Expected {
            source: "helm release sy",
            namespace: "ml-platform",
            replicas: 3,
            network_policy: true,
            ..DEFAULTS
        },
    );
    assert_eq!(
        config["kubernetes"]["reconcile_concurrency"].as_integer(),
        Some(32)
    );
    assert_eq!(deployment(&docs)["metadata"]["name"], "sy-switchyard");
    let pod = &deployment(&docs)["spec"]["template"]["spec"];
    assert_eq!(pod["priorityClassName"], "platform-critical");
    assert_eq!(
        pod["containers"][0]["image"],
        "registry.example/switchyard:1.2.3"
    );
    let budget = manifests::only(&docs, "PodDisruptionBudget");
    assert_eq!(budget["spec"]["minAvailable"], 2);
    let policy = manifests::only(&docs, "NetworkPolicy");
    let gateway_rule = policy["spec"]["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ports"][0]["port"] == "grpc")
        .unwrap();
    assert_eq!(gateway_rule["from"], from);
}

#[test]
fn one_replica_without_leader_election_has_no_budget() {
    let values = json!({"replicas": 1, "leaderElection": {"enabled": false}});
    let docs = rendered("switchyard", NS, values);
    install_checks::check_install(
        &docs,
        &Expected {
            source: "helm one replica",
            replicas: 1,
            leader_elect: false,
            ..DEFAULTS
        },
    );
}

/// Typos, wrong types and contradictions fail the install with a message
/// naming the value (values.schema.json, and the templates' own checks).
#[test]
fn bad_values_are_refused_naming_the_value() {
    for (values, names) in [
        (
            json!({"serviceMonitor": {"enable": true}}),
            "'enable' not allowed",
        ),
        (json!({"replicas": "two"}), "/replicas"),
        (json!({"watchNamespaces": ["Team_A"]}), "Team_A"),
        (
            json!({"gateway": {"tls": {"enabled": true}}}),
            "gateway.tls.secretName",
        ),
        (
            json!({"scheduler": {"tls": {"enabled": true}}}),
            "scheduler.tls.secretName",
        ),
        (json!({"leaderElection": {"enabled": false}}), "replicas: 1"),
        (
            json!({"podDisruptionBudget": {"minAvailable": 2}}),
            "podDisruptionBudget.minAvailable",
        ),
    ] {
        let error = render("switchyard", NS, &values).expect_err(&values.to_string());
        assert!(error.contains(names), "{values}: {error}");
    }
}

/// The chart reads the dashboards, the CRDs and the RBAC rules through
/// symlinks (Helm follows them, and `helm package` stores their content):
/// no third copy to keep in step.
#[test]
fn the_chart_links_to_its_sources_instead_of_copying_them() {
    let chart = manifests::root().join(CHART);
    for (link, target) in [
        ("files/dashboards", "dashboards"),
        ("charts/crds/files/crds", "deploy/crds"),
        ("files/rbac.yaml", "deploy/base/rbac.yaml"),
    ] {
        let path = chart.join(link);
        assert!(
            std::fs::symlink_metadata(&path).unwrap().is_symlink(),
            "{} is not a symlink",
            path.display()
        );
        assert_eq!(
            std::fs::canonicalize(&path).unwrap(),
            std::fs::canonicalize(manifests::root().join(target)).unwrap()
        );
    }
}
