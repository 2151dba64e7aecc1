//! Code cannot emit an undocumented metric: the demo binary, once it has
//! reconciled, written status and served gateway traffic, exports only
//! families of the catalogue (`switchyard_core::metrics::CATALOGUE`), with the
//! catalogue's type and no label the catalogue does not name.

use crate::demo_process;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use demo_process::DemoProcess;
use switchyard_core::metrics::{self, MetricType};

/// Families that show the demo has done a bit of everything.
const EXPECTED: &[&str] = &[
    metrics::GRPC_SERVER_HANDLING_SECONDS,
    metrics::RECONCILE_TOTAL,
    metrics::RECONCILE_ERRORS_TOTAL,
    metrics::RECONCILE_TIME_SECONDS,
    metrics::WORKQUEUE_DEPTH,
    metrics::LEADER_ELECTION_MASTER_STATUS,
    metrics::STATUS_WRITES_TOTAL,
    metrics::UPSTREAM_EVENTS_TOTAL,
    metrics::GRPC_CLIENT_STARTED_TOTAL,
    metrics::GRPC_CLIENT_HANDLED_TOTAL,
    metrics::GRPC_CLIENT_HANDLING_SECONDS,
    metrics::RESYNCS_TOTAL,
    metrics::PROCESS_CPU_SECONDS_TOTAL,
    metrics::TOKIO_ALIVE_TASKS,
    metrics::BUILD_INFO,
    metrics::REST_CLIENT_REQUESTS_TOTAL,
    metrics::REST_CLIENT_REQUEST_DURATION_SECONDS,
];

/// Per family in `text`: its `# TYPE` and the label names of its samples.
fn families(text: &str) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let mut out: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name type");
            out.entry(name.into()).or_default().0 = kind.into();
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let series = line.rsplit_once(' ').map_or(line, |(s, _)| s);
            let (name, labels) = series.split_once('{').unwrap_or((series, ""));
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| out.contains_key(*f)))
                .unwrap_or(name);
            let names = out.entry(family.into()).or_default();
            for pair in labels.trim_end_matches('}').split("\",") {
                if let Some((label, _)) = pair.split_once('=') {
                    names.1.insert(label.trim_start_matches(',').into());
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn every_exported_family_is_in_the_catalogue_with_its_type_and_labels() {
    let demo = DemoProcess::start(Duration::from_secs(90)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let exported = loop {
        let exported = families(&demo.scrape().await);
        let missing: Vec<_> = EXPECTED
            .iter()
            .filter(|n| !exported.contains_key(**n))
            .collect();
        if missing.is_empty() {
            break exported;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the demo never exported {missing:?}; it exported {:?}",
            exported.keys()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };

    let mut problems = Vec::new();
    for (name, (kind, labels)) in &exported {
        let Some(def) = metrics::find(name) else {
            problems.push(format!("{name} ({kind}) is not in the catalogue"));
            continue;
        };
        if kind != def.kind.as_str() {
            problems.push(format!(
                "{name} is a {kind}, the catalogue says {:?}",
                def.kind
            ));
        }
        for label in labels {
            let allowed = def.labels.contains(&label.as_str())
                || (def.kind == MetricType::Histogram && label == "le");
            if !allowed {
                problems.push(format!("{name} has label {label}, not in the catalogue"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "/metrics disagrees with crates/core/src/metrics.rs:\n{}",
        problems.join("\n")
    );
}

/// With TLS on, `switchyard run` exports when each certificate file
/// expires: the gateway's own certificate and the schedulers' CA, read from
/// the files it is configured with.
#[tokio::test]
async fn certificate_expiry_is_exported_for_the_configured_files() {
    use crate::logs::{event, request, run_static};
    let dir = std::env::temp_dir().join(format!("switchyard-expiry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, year: i32| {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.not_after = rcgen::date_time_ymd(year, 1, 1);
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
        dir.join(format!("{name}.pem")).to_str().unwrap().to_owned()
    };
    let gateway = write("gateway", 2031);
    let scheduler_ca = write("ca", 2032);
    let gateway_key = gateway.replace(".pem", ".key");
    let (_child, mut lines) = run_static(
        &[
            "--log-format",
            "json",
            "--gateway-tls-cert",
            &gateway,
            "--gateway-tls-key",
            &gateway_key,
            "--scheduler-tls-ca",
            &scheduler_ca,
        ],
        "info",
    );
    let admin = loop {
        let line = switchyard_testkit::within("a log line", lines.next_line())
            .await
            .unwrap()
            .expect("switchyard is still running");
        let event = event(&line);
        if event["fields"]["message"] == "switchyard running" {
            break event["fields"]["metrics"]
                .as_str()
                .and_then(|m| m.strip_prefix("Some(")?.strip_suffix(')')?.parse().ok())
                .expect("metrics address");
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let (_, body) = request(admin, "GET", "/metrics", "").await;
    std::fs::remove_dir_all(&dir).ok();
    // 2031-01-01 and 2032-01-01, seconds since the epoch.
    for line in [
        "switchyard_tls_certificate_expiry_timestamp_seconds{certificate=\"gateway\"} 1924992000",
        "switchyard_tls_certificate_expiry_timestamp_seconds{certificate=\"scheduler_ca\"} 1956528000",
    ] {
        assert!(body.contains(line), "{line} missing from\n{body}");
    }
    let def = metrics::find(metrics::TLS_CERTIFICATE_EXPIRY).unwrap();
    assert_eq!(
        families(&body)[def.name],
        (
            "gauge".to_owned(),
            BTreeSet::from(["certificate".to_owned()])
        )
    );
}
