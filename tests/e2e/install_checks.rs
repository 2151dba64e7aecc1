//! The install checks shared by `deploy.rs` (the Kustomize tree) and
//! `helm.rs` (the Helm chart): what a rendered install must hold, whichever
//! tool rendered it. The Deployment's arguments are a valid `switchyard
//! run` (the binary's own `--print-config`), its probes reach the admin
//! endpoint's paths on the metrics port, it runs non-root on a read-only
//! root filesystem with resource requests, it spreads over nodes and zones
//! under a PodDisruptionBudget, the Services, ServiceMonitor and
//! NetworkPolicy select what they should, the roles grant exactly what
//! `deploy/base/rbac.yaml` grants (which `rbac.rs` checks against the calls
//! the operator makes) where the scope says, and the dashboards ConfigMap
//! holds `dashboards/*.json` unchanged.

use crate::manifests::{base_grants, find, grants, labels, of_kind, only, root, selects};

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// What an install is expected to be.
#[derive(Clone, Copy)]
pub(crate) struct Expected<'a> {
    /// Where it comes from, for messages.
    pub(crate) source: &'a str,
    /// switchyard's own namespace.
    pub(crate) namespace: &'a str,
    /// The allow-list of namespaces (empty: none).
    pub(crate) watched: &'a [&'a str],
    /// Where the ClusterRole is bound with RoleBindings; empty: cluster-wide.
    pub(crate) granted_in: &'a [&'a str],
    pub(crate) replicas: i64,
    pub(crate) leader_elect: bool,
    pub(crate) service_monitor: bool,
    /// The alert rules as a PrometheusRule.
    pub(crate) alert_rules: bool,
    pub(crate) network_policy: bool,
}

/// switchyard's namespace in the Kustomize base and the tests' Helm releases.
pub(crate) const NAMESPACE: &str = "switchyard-system";

impl Expected<'static> {
    /// The default install: two replicas in [`NAMESPACE`], every namespace
    /// served, no ServiceMonitor, no NetworkPolicy.
    pub(crate) const fn cluster_wide(source: &'static str) -> Self {
        Expected {
            source,
            namespace: NAMESPACE,
            watched: &[],
            granted_in: &[],
            replicas: 2,
            leader_elect: true,
            service_monitor: false,
            alert_rules: false,
            network_policy: false,
        }
    }
}

/// Checks `docs` against `expected`; returns the configuration the
/// Deployment's arguments make (`switchyard run ... --print-config`) for
/// the caller's own checks.
pub(crate) fn check_install(docs: &[Value], expected: &Expected<'_>) -> toml::Table {
    let src = expected.source;
    let ns = expected.namespace;
    let cluster_scoped = [
        "Namespace",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
    ];
    for doc in docs {
        let kind = doc["kind"].as_str().unwrap();
        let namespace = doc["metadata"]["namespace"].as_str().unwrap_or_default();
        let granted_there = kind == "RoleBinding" && expected.granted_in.contains(&namespace);
        if !cluster_scoped.contains(&kind) && !granted_there {
            assert_eq!(
                namespace, ns,
                "{src}: {kind} {} namespace",
                doc["metadata"]["name"]
            );
        }
    }

    let deployment = only(docs, "Deployment");
    let spec = &deployment["spec"];
    assert_eq!(
        spec["replicas"].as_i64(),
        Some(expected.replicas),
        "{src}: replicas"
    );
    let pod = &spec["template"]["spec"];
    let pod_labels = labels(&spec["template"]["metadata"]["labels"]);
    let selects_pods = |selector: &Value| selects(&labels(selector), &pod_labels);
    assert!(
        selects_pods(&spec["selector"]["matchLabels"]),
        "{src}: Deployment selector"
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{src}");
    let account = pod["serviceAccountName"].as_str().unwrap();
    find(docs, "ServiceAccount", account);
    check_rbac(docs, expected, account);

    // Spread over nodes and zones, softly; a PDB keeps one replica up.
    let keys: BTreeSet<&str> = pod["topologySpreadConstraints"]
        .as_array()
        .unwrap_or_else(|| panic!("{src}: no topologySpreadConstraints"))
        .iter()
        .map(|c| {
            assert_eq!(c["whenUnsatisfiable"], "ScheduleAnyway", "{src}");
            assert!(
                selects_pods(&c["labelSelector"]["matchLabels"]),
                "{src}: spread selector"
            );
            c["topologyKey"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]),
        "{src}: spread keys"
    );
    let budgets = of_kind(docs, "PodDisruptionBudget");
    if expected.replicas > 1 {
        let [budget] = budgets[..] else {
            panic!("{src}: one PodDisruptionBudget")
        };
        assert!(
            selects_pods(&budget["spec"]["selector"]["matchLabels"]),
            "{src}: PDB selector"
        );
        let min = budget["spec"]["minAvailable"].as_i64().unwrap();
        assert!(
            (1..expected.replicas).contains(&min),
            "{src}: minAvailable {min}"
        );
    } else {
        assert!(
            budgets.is_empty(),
            "{src}: a PDB on one replica blocks every drain"
        );
    }

    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true, "{src}");
    assert_eq!(security["allowPrivilegeEscalation"], false, "{src}");
    let requests = &container["resources"]["requests"];
    assert!(
        requests["cpu"].is_string() && requests["memory"].is_string(),
        "{src}: requests"
    );
    let ports: BTreeMap<String, i64> = container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["containerPort"].as_i64().unwrap(),
            )
        })
        .collect();
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{src}: {probe}");
        assert_eq!(get["port"], "metrics", "{src}: {probe}");
    }

    let config = print_config(container, ns, src);
    let port_of = |section: &str| -> i64 {
        let listen = config[section]["listen"].as_str().unwrap();
        listen.rsplit(':').next().unwrap().parse().unwrap()
    };
    assert_eq!(port_of("gateway"), ports["grpc"], "{src}: gateway port");
    assert_eq!(port_of("metrics"), ports["metrics"], "{src}: metrics port");
    let kubernetes = &config["kubernetes"];
    assert_eq!(kubernetes["enabled"].as_bool(), Some(true), "{src}");
    assert_eq!(
        kubernetes["leader_elect"].as_bool(),
        Some(expected.leader_elect),
        "{src}"
    );
    let listed: Vec<&str> = kubernetes
        .get("watch_namespaces")
        .and_then(|names| names.as_array())
        .map(|names| names.iter().filter_map(|n| n.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(listed, expected.watched, "{src}: the namespaces watched");
    let templates = kubernetes["templates_namespace"].as_str().unwrap();
    if !expected.granted_in.is_empty() {
        assert!(
            expected.granted_in.contains(&templates),
            "{src}: templates readable"
        );
    }

    check_services(docs, expected, &pod_labels, &ports);
    check_dashboards(docs, src);
    check_alert_rules(docs, expected);
    config
}

/// The Deployment's container arguments, through the binary's
/// `--print-config` (fails on an argument `switchyard run` refuses).
fn print_config(container: &Value, ns: &str, src: &str) -> toml::Table {
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let printed = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(&args)
        .arg("--print-config")
        .env_clear()
        .env("POD_NAMESPACE", ns)
        .env("POD_NAME", "switchyard-0")
        .output()
        .unwrap();
    assert!(
        printed.status.success(),
        "{src}: switchyard {args:?} --print-config: {}",
        String::from_utf8_lossy(&printed.stderr)
    );
    toml::from_str(&String::from_utf8_lossy(&printed.stdout))
        .unwrap_or_else(|e| panic!("{src}: printed config: {e}"))
}

/// The roles grant what the base's do (no more, no less); the ClusterRole
/// is bound cluster-wide or exactly where expected; the leader-election
/// Role in switchyard's own namespace.
fn check_rbac(docs: &[Value], expected: &Expected<'_>, account: &str) {
    let src = expected.source;
    let ns = expected.namespace;
    assert_eq!(
        grants(docs, &["ClusterRole", "Role"]),
        base_grants(&["ClusterRole", "Role"]),
        "{src}: the roles grant what deploy/base/rbac.yaml grants"
    );
    assert_eq!(
        grants(docs, &["Role"]),
        base_grants(&["Role"]),
        "{src}: the Role"
    );
    let bound_to =
        |binding: &Value| {
            binding["subjects"].as_array().unwrap().iter().any(|s| {
                s["kind"] == "ServiceAccount" && s["name"] == account && s["namespace"] == ns
            })
        };
    let cluster_role = only(docs, "ClusterRole")["metadata"]["name"].clone();
    let mut granted: Vec<&str> = docs
        .iter()
        .filter(|d| {
            (d["kind"] == "ClusterRoleBinding" || d["kind"] == "RoleBinding")
                && d["roleRef"]["kind"] == "ClusterRole"
                && d["roleRef"]["name"] == cluster_role
                && bound_to(d)
        })
        .map(|d| d["metadata"]["namespace"].as_str().unwrap_or("*"))
        .collect();
    granted.sort();
    let mut want: Vec<&str> = expected.granted_in.to_vec();
    if want.is_empty() {
        want.push("*");
    }
    want.sort();
    assert_eq!(granted, want, "{src}: where the ClusterRole is granted");
    let role = only(docs, "Role");
    assert_eq!(
        role["metadata"]["namespace"], ns,
        "{src}: leader-election Role"
    );
    assert!(
        docs.iter().any(|d| d["kind"] == "RoleBinding"
            && d["roleRef"]["kind"] == "Role"
            && d["roleRef"]["name"] == role["metadata"]["name"]
            && d["metadata"]["namespace"] == ns
            && bound_to(d)),
        "{src}: the leader-election RoleBinding"
    );
}

/// Services select the pods and target the named ports; the ServiceMonitor
/// selects the metrics Service, scrapes its port and honours labels; the
/// NetworkPolicy selects the pods and admits the gateway and metrics ports.
fn check_services(
    docs: &[Value],
    expected: &Expected<'_>,
    pod_labels: &BTreeMap<String, String>,
    ports: &BTreeMap<String, i64>,
) {
    let src = expected.source;
    let services = of_kind(docs, "Service");
    let service_for = |target: &str| -> &Value {
        let found: Vec<&Value> = services
            .iter()
            .copied()
            .filter(|s| {
                s["spec"]["ports"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["targetPort"] == target)
            })
            .collect();
        let [one] = found[..] else {
            panic!("{src}: one Service for port {target}")
        };
        assert!(
            selects(&labels(&one["spec"]["selector"]), pod_labels),
            "{src}: {target} Service selector"
        );
        one
    };
    service_for("grpc");
    let metrics = service_for("metrics");

    let monitors = of_kind(docs, "ServiceMonitor");
    assert_eq!(
        monitors.len(),
        usize::from(expected.service_monitor),
        "{src}: ServiceMonitors"
    );
    for monitor in monitors {
        assert!(
            selects(
                &labels(&monitor["spec"]["selector"]["matchLabels"]),
                &labels(&metrics["metadata"]["labels"])
            ),
            "{src}: the ServiceMonitor selects the metrics Service"
        );
        let endpoint = &monitor["spec"]["endpoints"][0];
        let scraped = endpoint["port"].as_str().unwrap();
        assert!(
            metrics["spec"]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == scraped),
            "{src}: the scraped port {scraped} exists"
        );
        assert_eq!(
            endpoint["honorLabels"], true,
            "{src}: honorLabels keeps our `namespace` label"
        );
    }

    let policies = of_kind(docs, "NetworkPolicy");
    assert_eq!(
        policies.len(),
        usize::from(expected.network_policy),
        "{src}: NetworkPolicies"
    );
    for policy in policies {
        assert!(
            selects(
                &labels(&policy["spec"]["podSelector"]["matchLabels"]),
                pod_labels
            ),
            "{src}"
        );
        let admitted: BTreeSet<&str> = policy["spec"]["ingress"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|rule| {
                assert!(
                    rule["from"].as_array().is_some_and(|f| !f.is_empty()),
                    "{src}: open ingress rule"
                );
                rule["ports"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p["port"].as_str().unwrap())
            })
            .collect();
        assert_eq!(
            admitted,
            ports.keys().map(String::as_str).collect(),
            "{src}: ports admitted"
        );
    }
}

/// The PrometheusRule, where expected, holds the rule groups of
/// `dashboards/switchyard-alerts.yaml` (the file promtool tests) unchanged.
fn check_alert_rules(docs: &[Value], expected: &Expected<'_>) {
    let src = expected.source;
    let rules = of_kind(docs, "PrometheusRule");
    assert_eq!(
        rules.len(),
        usize::from(expected.alert_rules),
        "{src}: PrometheusRules"
    );
    let file = root().join("dashboards/switchyard-alerts.yaml");
    let original: Value = serde_saphyr::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    for rule in rules {
        assert_eq!(
            rule["spec"]["groups"], original["groups"],
            "{src}: the PrometheusRule holds dashboards/switchyard-alerts.yaml's groups"
        );
        assert_eq!(rule["metadata"]["namespace"], expected.namespace, "{src}");
    }
}

/// The dashboards ConfigMap, for Grafana's sidecar, holds every
/// `dashboards/*.json` byte for byte.
fn check_dashboards(docs: &[Value], src: &str) {
    let dashboards: Vec<&Value> = of_kind(docs, "ConfigMap")
        .into_iter()
        .filter(|c| c["metadata"]["labels"]["grafana_dashboard"] == "1")
        .collect();
    let [dashboards] = dashboards[..] else {
        panic!("{src}: one dashboards ConfigMap")
    };
    let data = dashboards["data"].as_object().unwrap();
    let dir = root().join("dashboards");
    let mut files = BTreeSet::new();
    for file in std::fs::read_dir(&dir).unwrap() {
        let name = file.unwrap().file_name().into_string().unwrap();
        // Dashboards only: the alert rules beside them are not Grafana's.
        if !name.ends_with(".json") {
            continue;
        }
        let text = std::fs::read_to_string(Path::new(&dir).join(&name)).unwrap();
        assert_eq!(
            data.get(&name).and_then(Value::as_str),
            Some(text.as_str()),
            "{src}: dashboard {name}"
        );
        files.insert(name);
    }
    assert_eq!(
        data.keys().cloned().collect::<BTreeSet<_>>(),
        files,
        "{src}: dashboards shipped"
    );
}
