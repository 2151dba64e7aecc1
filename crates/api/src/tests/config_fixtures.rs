//! The manifests under `tests/fixtures/{serverconfig,seldonruntime,seldonconfig}/`
//! (realistic templates and runtimes, written by us, with edge cases) parse
//! into the typed kinds and serialize back without losing a known field.
//!
//! Round-trip fidelity, per fixture:
//! * every field of the re-serialized object is in the manifest, with the
//!   same value (a quantity written as a number, `cpu: 2`, comes back as the
//!   string `"2"`, as Kubernetes itself does);
//! * every field of the manifest is in the re-serialized object, except
//!   empty values (`[]`, `{}`, `""`, `false`, `0`, which our types, like
//!   Seldon's `omitempty` Go fields, leave out) and fields whose name starts
//!   with `unknown`: the fixtures' convention for fields this version does not
//!   know, which must be ignored;
//! * parsing the YAML directly and parsing it through JSON give the same
//!   object, and the object survives a YAML round trip.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{SeldonConfig, SeldonRuntime, ServerConfig};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn fixtures(kind_dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(kind_dir);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

/// A value our types leave out when serializing.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Compares a manifest with its re-serialized typed object (see the module
/// docs for the rules) and collects every difference with its path.
fn compare(manifest: &Value, typed: &Value, path: &str, differences: &mut Vec<String>) {
    match (manifest, typed) {
        (Value::Object(m), Value::Object(t)) => {
            for (key, m_value) in m {
                let child = format!("{path}.{key}");
                match t.get(key) {
                    Some(t_value) => compare(m_value, t_value, &child, differences),
                    None if key.starts_with("unknown") || is_empty(m_value) => {}
                    None => differences.push(format!("{child}: dropped ({m_value})")),
                }
            }
            for (key, t_value) in t {
                if !m.contains_key(key) && !is_empty(t_value) {
                    differences.push(format!("{path}.{key}: appeared ({t_value})"));
                }
            }
        }
        (Value::Array(m), Value::Array(t)) if m.len() == t.len() => {
            for (i, (m_item, t_item)) in m.iter().zip(t).enumerate() {
                compare(m_item, t_item, &format!("{path}[{i}]"), differences);
            }
        }
        // A quantity written as a number.
        (Value::Number(n), Value::String(s)) if n.to_string() == *s => {}
        (m, t) if m == t => {}
        (m, t) => differences.push(format!("{path}: {m} became {t}")),
    }
}

fn assert_round_trip<T>(path: &Path, kind: &str) -> T
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let name = path.display();
    let text = fs::read_to_string(path).unwrap();
    let manifest: Value =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name}: not YAML: {e}"));
    assert_eq!(manifest["kind"], kind, "{name}: wrong folder for this kind");

    let typed: T = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let via_json: T = serde_json::from_value(manifest.clone())
        .unwrap_or_else(|e| panic!("{name}: through JSON: {e}"));
    assert_eq!(typed, via_json, "{name}: YAML and JSON parses differ");

    let mut differences = Vec::new();
    compare(
        &manifest,
        &serde_json::to_value(&typed).unwrap(),
        "",
        &mut differences,
    );
    assert!(
        differences.is_empty(),
        "{name}: the typed object differs from the manifest:\n  {}",
        differences.join("\n  ")
    );

    let yaml = serde_saphyr::to_string(&typed).unwrap();
    let again: T = serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(again, typed, "{name}: YAML round trip");
    typed
}

fn round_trip_all<T>(kind_dir: &str, kind: &str) -> Vec<(String, T)>
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let files = fixtures(kind_dir);
    assert!(
        files.len() >= 3,
        "tests/fixtures/{kind_dir}/ should hold at least three manifests"
    );
    files
        .iter()
        .map(|path| {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, assert_round_trip::<T>(path, kind))
        })
        .collect()
}

fn fixture<'a, T>(all: &'a [(String, T)], name: &str) -> &'a T {
    &all.iter().find(|(stem, _)| stem == name).unwrap().1
}

#[test]
fn server_configs_round_trip() {
    let all = round_trip_all::<ServerConfig>("serverconfig", "ServerConfig");

    let triton = &fixture(&all, "triton").spec;
    let container = &triton.pod_spec.containers[2];
    let resources = container.resources.as_ref().unwrap();
    let limits = resources.limits.as_ref().unwrap();
    assert_eq!(limits["nvidia.com/gpu"].0, "1");
    assert_eq!(resources.requests.as_ref().unwrap()["cpu"].0, "2");
    let readiness = container.readiness_probe.as_ref().unwrap();
    assert_eq!(
        readiness.http_get.as_ref().unwrap().port,
        IntOrString::String("http".into())
    );

    let light = &fixture(&all, "deployment-mode").spec;
    assert!(light.volume_claim_templates.is_empty());
    assert_eq!(light.pod_spec.containers[0].name, "mlserver");
}

#[test]
fn seldon_runtimes_round_trip() {
    let all = round_trip_all::<SeldonRuntime>("seldonruntime", "SeldonRuntime");

    let minimal = &fixture(&all, "minimal").spec;
    assert_eq!(minimal.seldon_config, "default");
    assert!(minimal.overrides.is_empty() && minimal.config.is_none());

    let prod = &fixture(&all, "overrides").spec;
    assert!(prod.disable_auto_update);
    let by_name = |name: &str| prod.overrides.iter().find(|o| o.name == name).unwrap();
    assert!(by_name("hodometer").disable);
    assert_eq!(by_name("seldon-dataflow-engine").replicas, Some(0));
    assert_eq!(
        by_name("seldon-envoy").service_type.as_deref(),
        Some("LoadBalancer")
    );
    // A container override without an image.
    let scheduler = by_name("seldon-scheduler").pod_spec.as_ref().unwrap();
    assert_eq!(scheduler.0.containers[0].name, "scheduler");
    assert_eq!(scheduler.0.containers[0].image, None);
    // Kafka values keep whether they were written as integers or strings.
    let kafka = prod.config.as_ref().unwrap().kafka_config.as_ref().unwrap();
    assert_eq!(kafka.consumer["session.timeout.ms"], IntOrString::Int(6000));
    assert_eq!(
        kafka.consumer["message.max.bytes"],
        IntOrString::String("1000000000".into())
    );
    assert_eq!(
        kafka.bootstrap_servers,
        "kafka-0.kafka:9092,kafka-1.kafka:9092"
    );

    let edge = fixture(&all, "edge-cases");
    assert_eq!(edge.spec.overrides[0].pod_spec, None);
    let config = edge.spec.config.as_ref().unwrap();
    let rclone = config
        .agent_config
        .as_ref()
        .unwrap()
        .rclone
        .as_ref()
        .unwrap();
    assert_eq!(rclone.config_secrets, ["rclone-s3-minio", "rclone-gcs"]);
    assert!(config.tracing_config.as_ref().unwrap().disable);
    let status = edge.status.as_ref().unwrap();
    assert_eq!(status.duck.observed_generation, Some(4));
    assert_eq!(status.duck.conditions.len(), 2);
}

#[test]
fn seldon_configs_round_trip() {
    let all = round_trip_all::<SeldonConfig>("seldonconfig", "SeldonConfig");

    let default = &fixture(&all, "default").spec;
    let names: Vec<&str> = default.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "seldon-scheduler",
            "seldon-envoy",
            "seldon-dataflow-engine",
            "seldon-modelgateway",
            "seldon-pipelinegateway",
            "hodometer"
        ]
    );
    assert_eq!(default.components[0].volume_claim_templates.len(), 1);
    assert!(default.components[1].volume_claim_templates.is_empty());
    let scaling = default
        .config
        .as_ref()
        .unwrap()
        .scaling_config
        .as_ref()
        .unwrap();
    assert_eq!(
        scaling
            .pipelines
            .as_ref()
            .unwrap()
            .max_shard_count_multiplier,
        4
    );

    let edge = &fixture(&all, "edge-cases").spec;
    assert_eq!(edge.components[0].replicas, Some(3));
    assert_eq!(edge.components[2].pod_spec, None);
    let topics = &edge
        .config
        .as_ref()
        .unwrap()
        .kafka_config
        .as_ref()
        .unwrap()
        .topics;
    assert_eq!(topics["numPartitions"], IntOrString::String("12".into()));
    assert_eq!(topics["replicationFactor"], IntOrString::Int(3));
}

#[test]
fn compare_reports_dropped_and_changed_fields() {
    let manifest = serde_json::json!({
        "spec": {"kept": 1, "dropped": "x", "unknownField": 2, "empty": [], "cpu": 2}
    });
    let typed = serde_json::json!({"spec": {"kept": 3, "cpu": "2", "added": true}});
    let mut differences = Vec::new();
    compare(&manifest, &typed, "", &mut differences);
    differences.sort();
    assert_eq!(
        differences,
        [
            ".spec.added: appeared (true)",
            ".spec.dropped: dropped (\"x\")",
            ".spec.kept: 1 became 3",
        ]
    );
}
