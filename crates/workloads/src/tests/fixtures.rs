//! Loading the fixtures and comparing objects field by field.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use switchyard_api::{SeldonConfig, SeldonRuntime, Server, ServerConfig};

/// The annotation Seldon's operator keeps its last applied object in;
/// switchyard applies server-side and never writes it.
const LAST_APPLIED: &str = "seldon.io/last-applied";

pub(super) fn text(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(super) fn load<T: DeserializeOwned>(name: &str) -> T {
    serde_saphyr::from_str(&text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub(super) fn seldon_config() -> SeldonConfig {
    load("seldonconfig-default.yaml")
}

pub(super) fn runtime() -> SeldonRuntime {
    load("seldonruntime-fraud.yaml")
}

pub(super) fn mlserver_config() -> ServerConfig {
    load("serverconfig-mlserver.yaml")
}

pub(super) fn triton_config() -> ServerConfig {
    load("serverconfig-triton.yaml")
}

pub(super) fn server() -> Server {
    load("server-mlserver.yaml")
}

pub(super) fn triton_server() -> Server {
    load("server-triton.yaml")
}

/// The documents of a `seldon-built/` file, each normalized through its
/// typed form (as our objects are) and without Seldon's last-applied
/// annotation.
pub(super) fn seldon_built(name: &str) -> Vec<Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text(&format!("seldon-built/{name}")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    docs.into_iter()
        .map(|doc| {
            let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
            let mut value = match kind.as_str() {
                "StatefulSet" => typed::<k8s_openapi::api::apps::v1::StatefulSet>(doc),
                "Deployment" => typed::<k8s_openapi::api::apps::v1::Deployment>(doc),
                "Service" => typed::<k8s_openapi::api::core::v1::Service>(doc),
                "ConfigMap" => typed::<k8s_openapi::api::core::v1::ConfigMap>(doc),
                "ServiceAccount" => typed::<k8s_openapi::api::core::v1::ServiceAccount>(doc),
                "Role" => typed::<k8s_openapi::api::rbac::v1::Role>(doc),
                "RoleBinding" => typed::<k8s_openapi::api::rbac::v1::RoleBinding>(doc),
                other => panic!("{name}: unexpected kind {other}"),
            };
            let meta = &mut value["metadata"];
            if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                annotations.remove(LAST_APPLIED);
                if annotations.is_empty() {
                    meta.as_object_mut().unwrap().remove("annotations");
                }
            }
            value
        })
        .collect()
}

fn typed<T: DeserializeOwned + Serialize>(doc: Value) -> Value {
    let object: T = serde_json::from_value(doc).unwrap();
    serde_json::to_value(object).unwrap()
}

/// Our object as JSON, with its `apiVersion` and `kind`.
pub(super) fn json<T: Serialize + k8s_openapi::Resource>(object: &T) -> Value {
    let mut value = serde_json::to_value(object).unwrap();
    value["apiVersion"] = Value::String(T::API_VERSION.to_owned());
    value["kind"] = Value::String(T::KIND.to_owned());
    value
}

pub(super) fn key(value: &Value) -> (String, String) {
    (
        value["kind"].as_str().unwrap_or_default().to_owned(),
        value["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Every path where `ours` and `expected` differ.
pub(super) fn differences(ours: &Value, expected: &Value) -> Vec<String> {
    let mut found = Vec::new();
    diff(ours, expected, String::new(), &mut found);
    found
}

fn diff(ours: &Value, expected: &Value, path: String, found: &mut Vec<String>) {
    match (ours, expected) {
        (Value::Object(o), Value::Object(e)) => {
            for (k, ev) in e {
                match o.get(k) {
                    Some(ov) => diff(ov, ev, format!("{path}.{k}"), found),
                    None => found.push(format!("{path}.{k}: missing (expected {ev})")),
                }
            }
            for (k, ov) in o {
                if !e.contains_key(k) {
                    found.push(format!("{path}.{k}: unexpected {ov}"));
                }
            }
        }
        (Value::Array(o), Value::Array(e)) if o.len() == e.len() => {
            for (i, (ov, ev)) in o.iter().zip(e).enumerate() {
                diff(ov, ev, format!("{path}[{i}]"), found);
            }
        }
        (o, e) if o == e => {}
        (o, e) => found.push(format!("{path}: {o} (expected {e})")),
    }
}

/// Asserts our objects are exactly Seldon's, naming every differing field.
pub(super) fn assert_same_objects(ours: Vec<Value>, expected: Vec<Value>) {
    let mut ours = ours;
    let mut expected = expected;
    ours.sort_by_key(key);
    expected.sort_by_key(key);
    let our_keys: Vec<_> = ours.iter().map(key).collect();
    let expected_keys: Vec<_> = expected.iter().map(key).collect();
    assert_eq!(our_keys, expected_keys, "the same objects");
    let mut report = Vec::new();
    for (o, e) in ours.iter().zip(&expected) {
        let (kind, name) = key(o);
        report.extend(
            differences(o, e)
                .into_iter()
                .map(|d| format!("{kind} {name}: {d}")),
        );
    }
    assert!(report.is_empty(), "differences:\n{}", report.join("\n"));
}
