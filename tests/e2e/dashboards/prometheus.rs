//! Every dashboard query against a real Prometheus scraping the demo as the
//! Prometheus Operator scrapes our ServiceMonitor.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::{Child, Command};

use super::{JOB, OWN_NAMESPACE, TEST_DEADLINE, queries};
use crate::demo_process::{DemoProcess, http_get};

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
