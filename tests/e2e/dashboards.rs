//! The Grafana dashboards in `dashboards/`: well-formed for Grafana 10+
//! (cheap JSON checks: a `job` selector in every query, links between the
//! two), shipped unchanged in `deploy/base/dashboards/`, and every query
//! returns data from a real Prometheus scraping the demo the way the
//! Prometheus Operator scrapes a ServiceMonitor (target labels `namespace`,
//! `pod`, `service`, `job`, `endpoint`, `instance`; `honor_labels: true`),
//! with the namespace variable listing exactly the demo's team namespaces.
//!
//! The Prometheus test needs `prometheus` on PATH (Debian package
//! `prometheus`; `.ci/run` installs it) and fails, saying so, without it.

use crate::demo_process;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use demo_process::{DemoProcess, http_get};
use serde_json::Value;
use tokio::process::{Child, Command};

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

/// The scrape configuration the Prometheus Operator generates for our
/// ServiceMonitor (`honorLabels: true`, endpoint port `metrics`, selecting
/// the `switchyard-metrics` Service in `switchyard-system`), every second.
/// Kubernetes service discovery is replaced by a static target carrying
/// the `__meta_kubernetes_*` labels discovery would give the pod; the
/// relabeling is the operator's.
fn operator_scrape_config(target: SocketAddr) -> String {
    format!(
        r#"global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: serviceMonitor/{OWN_NAMESPACE}/switchyard/0
    honor_labels: true
    honor_timestamps: true
    metrics_path: /metrics
    scheme: http
    static_configs:
      - targets: ['{target}']
        labels:
          __meta_kubernetes_namespace: {OWN_NAMESPACE}
          __meta_kubernetes_service_name: {JOB}
          __meta_kubernetes_service_label_app_kubernetes_io_name: switchyard
          __meta_kubernetes_service_labelpresent_app_kubernetes_io_name: "true"
          __meta_kubernetes_service_label_app_kubernetes_io_component: metrics
          __meta_kubernetes_service_labelpresent_app_kubernetes_io_component: "true"
          __meta_kubernetes_endpoint_port_name: metrics
          __meta_kubernetes_endpoint_address_target_kind: Pod
          __meta_kubernetes_endpoint_address_target_name: switchyard-6d4f9c7b8-x2x7q
          __meta_kubernetes_pod_name: switchyard-6d4f9c7b8-x2x7q
          __meta_kubernetes_pod_container_name: switchyard
          __meta_kubernetes_pod_phase: Running
    relabel_configs:
      - source_labels: [job]
        target_label: __tmp_prometheus_job_name
      - action: keep
        source_labels: [__meta_kubernetes_service_label_app_kubernetes_io_component, __meta_kubernetes_service_labelpresent_app_kubernetes_io_component]
        regex: (metrics);true
      - action: keep
        source_labels: [__meta_kubernetes_service_label_app_kubernetes_io_name, __meta_kubernetes_service_labelpresent_app_kubernetes_io_name]
        regex: (switchyard);true
      - action: keep
        source_labels: [__meta_kubernetes_endpoint_port_name]
        regex: metrics
      - source_labels: [__meta_kubernetes_endpoint_address_target_kind, __meta_kubernetes_endpoint_address_target_name]
        separator: ;
        regex: Node;(.*)
        replacement: ${{1}}
        target_label: node
      - source_labels: [__meta_kubernetes_endpoint_address_target_kind, __meta_kubernetes_endpoint_address_target_name]
        separator: ;
        regex: Pod;(.*)
        replacement: ${{1}}
        target_label: pod
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_service_name]
        target_label: service
      - source_labels: [__meta_kubernetes_pod_name]
        target_label: pod
      - source_labels: [__meta_kubernetes_pod_container_name]
        target_label: container
      - action: drop
        source_labels: [__meta_kubernetes_pod_phase]
        regex: (Failed|Succeeded)
      - source_labels: [__meta_kubernetes_service_name]
        target_label: job
        replacement: ${{1}}
      - target_label: endpoint
        replacement: metrics
      - source_labels: [__address__]
        target_label: __tmp_hash
        modulus: 1
        action: hashmod
      - source_labels: [__tmp_hash]
        regex: 0
        action: keep
"#
    )
}

/// A Prometheus server scraping one target every second, from a temporary
/// directory; killed and removed when dropped.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Prometheus {
    async fn start(target: SocketAddr) -> Prometheus {
        let binary = which("prometheus").unwrap_or_else(|| {
            panic!(
                "prometheus is not installed, and the dashboard queries need a real one: \
                 apt-get install prometheus (Debian/Ubuntu; .ci/run does this), or put a \
                 prometheus binary on PATH"
            )
        });
        let dir =
            std::env::temp_dir().join(format!("switchyard-prometheus-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let config = operator_scrape_config(target);
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let addr = free_port();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new(binary)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("prometheus starts");
        Prometheus { child, addr, dir }
    }

    /// Runs an instant query: the result array, or why there is none.
    async fn query(&self, promql: &str) -> Result<Vec<Value>, String> {
        let encoded: String = form_urlencoded::byte_serialize(promql.as_bytes()).collect();
        let (status, body) = http_get(self.addr, &format!("/api/v1/query?query={encoded}")).await?;
        let json: Value =
            serde_json::from_str(&body).map_err(|e| format!("HTTP {status}: {e}: {body}"))?;
        if json["status"] != "success" {
            return Err(format!(
                "HTTP {status}: {}: {}",
                json["errorType"], json["error"]
            ));
        }
        Ok(json["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// Waits until Prometheus has scraped `up == 1` at least `scrapes` times;
    /// fails, with its log, if it exits.
    async fn until_scraped(&mut self, scrapes: u32) {
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log =
                    std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default();
                panic!("prometheus on {} exited ({status}):\n{log}", self.addr);
            }
            let query = format!("sum_over_time(up{{job=\"{JOB}\"}}[1m])");
            if let Ok(result) = self.query(&query).await {
                let value = result
                    .first()
                    .and_then(|s| s["value"][1].as_str())
                    .and_then(|v| v.parse::<f64>().ok());
                if value.is_some_and(|v| v >= f64::from(scrapes)) {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether an instant-vector sample holds a number (`histogram_quantile`
/// over no observations answers NaN: a series, but no data).
fn finite(sample: &serde_json::Value) -> bool {
    sample["value"][1]
        .as_str()
        .and_then(|v| v.parse::<f64>().ok())
        .is_some_and(f64::is_finite)
}

fn which(binary: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(binary))
        .find(|p| p.is_file())
}

/// A port on 127.0.0.1 free right now (Prometheus cannot report the one it
/// bound, so it gets one chosen here).
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// What the Prometheus Operator's labels must leave intact: the namespace
/// variable lists exactly the demo's team namespaces (not switchyard's
/// own), every one connected; series without a team namespace carry the
/// target's labels.
async fn operator_labels_problems(prometheus: &Prometheus) -> Vec<String> {
    let mut problems = Vec::new();
    let teams = format!("count by (namespace) (switchyard_scheduler_connected{{job=\"{JOB}\"}})");
    match prometheus.query(&teams).await {
        Ok(result) => {
            let listed: BTreeSet<&str> = result
                .iter()
                .filter_map(|s| s["metric"]["namespace"].as_str())
                .collect();
            let demo: BTreeSet<&str> = switchyard::cli::demo::NAMESPACES.into_iter().collect();
            if listed != demo {
                problems.push(format!(
                    "$namespace lists {listed:?}, not the demo's {demo:?}"
                ));
            }
        }
        Err(error) => problems.push(format!("{teams}: {error}")),
    }
    let connected =
        format!("sum(max by (namespace) (switchyard_scheduler_connected{{job=\"{JOB}\"}}))");
    let count = prometheus.query(&connected).await.ok().and_then(|r| {
        r.first()
            .and_then(|s| s["value"][1].as_str())
            .and_then(|v| v.parse::<f64>().ok())
    });
    let teams = switchyard::cli::demo::NAMESPACES.len() as f64;
    if count != Some(teams) {
        problems.push(format!("Runtimes connected reads {count:?}, not {teams}"));
    }
    let target = format!(
        "switchyard_build_info{{job=\"{JOB}\", namespace=\"{OWN_NAMESPACE}\", service=\"{JOB}\", \
         endpoint=\"metrics\", pod=~\"switchyard-.+\", instance=~\"127.0.0.1:[0-9]+\"}}"
    );
    if !prometheus.query(&target).await.is_ok_and(|r| r.len() == 1) {
        problems.push(format!(
            "no series with the operator's target labels: {target}"
        ));
    }
    problems
}

#[tokio::test]
async fn every_dashboard_query_returns_data_from_prometheus_scraping_the_demo() {
    let queries = queries();
    let outcome = tokio::time::timeout(TEST_DEADLINE, async {
        let demo = DemoProcess::start(TEST_DEADLINE).await;
        let mut prometheus = Prometheus::start(demo.metrics).await;
        prometheus.until_scraped(2).await;
        // Some series appear only once the demo has reconciled and served
        // traffic; retry the failing queries until they all answer or time
        // runs out, then report every one still failing.
        let mut failing: Vec<String> = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            failing.clear();
            for (file, panel, promql) in &queries {
                match prometheus.query(promql).await {
                    Ok(result) if result.iter().any(finite) => {}
                    Ok(result) if result.is_empty() => {
                        failing.push(format!("{file} / {panel}: no data: {promql}"))
                    }
                    Ok(_) => failing.push(format!("{file} / {panel}: only NaN: {promql}")),
                    Err(error) => failing.push(format!("{file} / {panel}: {error}: {promql}")),
                }
            }
            failing.extend(operator_labels_problems(&prometheus).await);
            if failing.is_empty() || tokio::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        drop(prometheus);
        drop(demo);
        failing
    })
    .await;
    let failing = outcome.unwrap_or_else(|_| {
        panic!("timed out after {TEST_DEADLINE:?} (Prometheus never scraped the demo twice?)")
    });
    assert!(
        failing.is_empty(),
        "{} of {} dashboard queries failed against the demo:\n{}",
        failing.len(),
        queries.len(),
        failing.join("\n")
    );
}
