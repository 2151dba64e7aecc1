//! The install manifests as `kubectl kustomize` renders them (kubectl is
//! needed): every overlay renders, and what it renders fits together and
//! fits the binary. The Deployment's arguments are a valid `switchyard run`
//! (checked with the binary's own `--print-config`), its probes reach the
//! admin endpoint's paths on the metrics port, it runs non-root on a
//! read-only root filesystem with resource requests, the Services and the
//! ServiceMonitor select what they should, and everything namespaced lands
//! in one namespace that the RBAC bindings name.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Each overlay, with the namespaces it limits the operator to (none: all).
const OVERLAYS: [(&str, &[&str]); 2] = [
    ("deploy/base", &[]),
    ("deploy/overlays/namespaces", &["team-a", "team-b"]),
];

fn render(dir: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
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
    let text = String::from_utf8(output.stdout).unwrap();
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap()
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn labels(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[test]
fn every_overlay_renders_a_consistent_install() {
    for (dir, watched) in OVERLAYS {
        let docs = render(dir);
        let namespace = find(&docs, "Namespace", "switchyard-system");
        let ns = namespace["metadata"]["name"].as_str().unwrap();
        let cluster_scoped = [
            "Namespace",
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
        ];
        for doc in &docs {
            let kind = doc["kind"].as_str().unwrap();
            let in_watched = kind == "RoleBinding"
                && watched.contains(&doc["metadata"]["namespace"].as_str().unwrap_or_default());
            if !cluster_scoped.contains(&kind) && !in_watched {
                assert_eq!(doc["metadata"]["namespace"], ns, "{dir}: {kind} namespace");
            }
        }
        let crds = docs
            .iter()
            .filter(|d| d["kind"] == "CustomResourceDefinition")
            .count();
        assert_eq!(crds, 7, "{dir}: the seven Seldon CRDs");

        let deployment = find(&docs, "Deployment", "switchyard");
        let spec = &deployment["spec"];
        assert!(spec["replicas"].as_i64().unwrap() >= 2, "{dir}: a standby");
        let pod = &spec["template"]["spec"];
        let pod_labels = labels(&spec["template"]["metadata"]["labels"]);
        assert!(selects(
            &labels(&spec["selector"]["matchLabels"]),
            &pod_labels
        ));
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{dir}");
        let account = pod["serviceAccountName"].as_str().unwrap();
        find(&docs, "ServiceAccount", account);
        // The ClusterRole's rules: granted cluster-wide, or, with an
        // allow-list, only in the listed namespaces and switchyard's own.
        let grants = |binding: &str| -> Vec<String> {
            docs.iter()
                .filter(|d| {
                    d["kind"] == binding
                        && d["roleRef"]["kind"] == "ClusterRole"
                        && d["roleRef"]["name"] == "switchyard"
                        && d["subjects"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|s| s["name"] == account && s["namespace"] == ns)
                })
                .map(|d| {
                    d["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or("*")
                        .to_owned()
                })
                .collect()
        };
        if watched.is_empty() {
            assert_eq!(grants("ClusterRoleBinding"), ["*"], "{dir}: cluster-wide");
        } else {
            assert!(
                grants("ClusterRoleBinding").is_empty(),
                "{dir}: no cluster-wide grant"
            );
            let mut granted = grants("RoleBinding");
            granted.sort();
            let mut expected: Vec<String> = watched.iter().map(|n| n.to_string()).collect();
            expected.push(ns.to_owned());
            expected.sort();
            assert_eq!(granted, expected, "{dir}: granted where watched");
        }
        // Leader election: a Role in switchyard's own namespace.
        assert!(
            docs.iter().any(|d| d["kind"] == "RoleBinding"
                && d["roleRef"]["kind"] == "Role"
                && d["metadata"]["namespace"] == ns),
            "{dir}: the leader-election RoleBinding"
        );

        let container = &pod["containers"][0];
        let security = &container["securityContext"];
        assert_eq!(security["readOnlyRootFilesystem"], true, "{dir}");
        assert_eq!(security["allowPrivilegeEscalation"], false, "{dir}");
        let requests = &container["resources"]["requests"];
        assert!(requests["cpu"].is_string() && requests["memory"].is_string());
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
            assert_eq!(get["path"], path, "{dir}: {probe}");
            assert_eq!(get["port"], "metrics", "{dir}: {probe}");
        }

        // The arguments are a valid `switchyard run`, listening where the
        // ports and probes say.
        let args: Vec<String> = container["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
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
            "{dir}: switchyard {args:?} --print-config: {}",
            String::from_utf8_lossy(&printed.stderr)
        );
        let config: toml::Table = toml::from_str(&String::from_utf8_lossy(&printed.stdout))
            .unwrap_or_else(|e| panic!("{dir}: printed config: {e}"));
        let port_of = |section: &str| -> i64 {
            let listen = config[section]["listen"].as_str().unwrap();
            listen.rsplit(':').next().unwrap().parse().unwrap()
        };
        assert_eq!(port_of("gateway"), ports["grpc"], "{dir}: gateway port");
        assert_eq!(port_of("metrics"), ports["metrics"], "{dir}: metrics port");
        assert_eq!(config["kubernetes"]["enabled"].as_bool(), Some(true));
        assert_eq!(config["kubernetes"]["leader_elect"].as_bool(), Some(true));
        assert_eq!(config["kubernetes"]["clusterwide"].as_bool(), Some(true));
        let listed: Vec<&str> = config["kubernetes"]
            .get("watch_namespaces")
            .and_then(|names| names.as_array())
            .map(|names| names.iter().filter_map(|n| n.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(listed, watched, "{dir}: the namespaces watched");

        // Services select the pods; the ServiceMonitor selects the metrics
        // Service and scrapes its named port.
        let gateway = find(&docs, "Service", "switchyard-gateway");
        let metrics = find(&docs, "Service", "switchyard-metrics");
        for service in [gateway, metrics] {
            assert!(
                selects(&labels(&service["spec"]["selector"]), &pod_labels),
                "{dir}: {} selects the pods",
                service["metadata"]["name"]
            );
        }
        let monitor = find(&docs, "ServiceMonitor", "switchyard");
        assert!(
            selects(
                &labels(&monitor["spec"]["selector"]["matchLabels"]),
                &labels(&metrics["metadata"]["labels"])
            ),
            "{dir}: the ServiceMonitor selects switchyard-metrics"
        );
        let scraped = monitor["spec"]["endpoints"][0]["port"].as_str().unwrap();
        assert!(
            metrics["spec"]["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == scraped),
            "{dir}: the scraped port {scraped} exists"
        );

        // The dashboards, for Grafana's sidecar.
        let dashboards = find(&docs, "ConfigMap", "switchyard-dashboards");
        assert_eq!(
            dashboards["metadata"]["labels"]["grafana_dashboard"], "1",
            "{dir}"
        );
        let data = dashboards["data"].as_object().unwrap();
        for file in
            std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards")).unwrap()
        {
            let name = file.unwrap().file_name().into_string().unwrap();
            // Dashboards only: the alert rules there are not Grafana's.
            if !name.ends_with(".json") {
                continue;
            }
            assert!(data.contains_key(&name), "{dir}: dashboard {name} shipped");
        }
    }
}
