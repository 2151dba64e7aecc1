//! The Grafana dashboards in `dashboards/`: well-formed for Grafana 10+
//! (cheap JSON checks), shipped unchanged in `deploy/base/dashboards/`, and
//! every query returns data from a real Prometheus scraping the demo.
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
            "label_values(switchyard_scheduler_connected, namespace)",
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
                assert!(
                    target["expr"].as_str().is_some_and(|e| !e.is_empty()),
                    "{}",
                    at("expr")
                );
                queries += 1;
            }
        }
        assert!(queries > 0, "{}", at("no queries"));
    }
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
                    format!("count by ({}) ({metric})", label.trim()),
                ));
            }
        }
    }
    out
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
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: switchyard\n    static_configs:\n      - targets: ['{target}']\n"
        );
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
            let query = "sum_over_time(up{job=\"switchyard\"}[1m])";
            if let Ok(result) = self.query(query).await {
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
