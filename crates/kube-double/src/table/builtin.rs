//! The columns the real server prints for the built-in kinds the double
//! serves (its `printers` package), wide columns at priority 1; a kind
//! without its own gets NAME and CREATED AT, as the server's default
//! table convertor gives.

use serde_json::{Value, json};

use super::{Cell, Column, age};
use crate::catalog::ResourceType;

fn text(obj: &Value, pointer: &str) -> String {
    match obj.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn int(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn count(obj: &Value, pointers: &[&str]) -> Value {
    let n: usize = pointers
        .iter()
        .filter_map(|p| obj.pointer(p))
        .map(|v| match v {
            Value::Object(m) => m.len(),
            Value::Array(a) => a.len(),
            _ => 0,
        })
        .sum();
    json!(n)
}

fn or_none(s: String) -> Value {
    json!(if s.is_empty() {
        "<none>".to_string()
    } else {
        s
    })
}

fn status_phase(obj: &Value) -> Value {
    json!(text(obj, "/status/phase"))
}

fn config_map_data(obj: &Value) -> Value {
    count(obj, &["/data", "/binaryData"])
}

fn secret_type(obj: &Value) -> Value {
    json!(text(obj, "/type"))
}

fn secret_data(obj: &Value) -> Value {
    count(obj, &["/data"])
}

fn service_account_secrets(obj: &Value) -> Value {
    count(obj, &["/secrets"])
}

/// As stored; the real server would have defaulted a missing type.
fn service_type(obj: &Value) -> Value {
    let type_ = text(obj, "/spec/type");
    json!(if type_.is_empty() {
        "ClusterIP".to_string()
    } else {
        type_
    })
}

fn cluster_ip(obj: &Value) -> Value {
    or_none(text(obj, "/spec/clusterIP"))
}

fn external_ip(obj: &Value) -> Value {
    let ips = obj
        .pointer("/spec/externalIPs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    or_none(ips)
}

fn ports(obj: &Value) -> Value {
    let ports = obj
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ports| {
            ports
                .iter()
                .map(|p| {
                    let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                    match p.get("nodePort").and_then(Value::as_i64) {
                        Some(node) => format!("{}:{node}/{protocol}", int(p, "/port")),
                        None => format!("{}/{protocol}", int(p, "/port")),
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    or_none(ports)
}

fn selector(obj: &Value) -> Value {
    let labels = obj
        .pointer("/spec/selector/matchLabels")
        .or_else(|| obj.pointer("/spec/selector"))
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    or_none(labels)
}

fn ready_of_desired(obj: &Value) -> Value {
    let desired = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    json!(format!("{}/{desired}", int(obj, "/status/readyReplicas")))
}

fn updated(obj: &Value) -> Value {
    json!(int(obj, "/status/updatedReplicas"))
}

fn available(obj: &Value) -> Value {
    json!(int(obj, "/status/availableReplicas"))
}

fn containers(obj: &Value, field: &str) -> Value {
    let names = obj
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get(field).and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!(names)
}

fn container_names(obj: &Value) -> Value {
    containers(obj, "name")
}

fn container_images(obj: &Value) -> Value {
    containers(obj, "image")
}

fn role_ref(obj: &Value) -> Value {
    json!(format!(
        "{}/{}",
        text(obj, "/roleRef/kind"),
        text(obj, "/roleRef/name")
    ))
}

fn subjects(obj: &Value, kind: &str) -> Value {
    let names = obj
        .get("subjects")
        .and_then(Value::as_array)
        .map(|subjects| {
            subjects
                .iter()
                .filter(|s| s.get("kind").and_then(Value::as_str) == Some(kind))
                .map(
                    |s| match (kind, s.get("namespace").and_then(Value::as_str)) {
                        ("ServiceAccount", Some(ns)) => format!("{ns}/{}", text(s, "/name")),
                        _ => text(s, "/name"),
                    },
                )
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    json!(names)
}

fn users(obj: &Value) -> Value {
    subjects(obj, "User")
}

fn groups(obj: &Value) -> Value {
    subjects(obj, "Group")
}

fn service_accounts(obj: &Value) -> Value {
    subjects(obj, "ServiceAccount")
}

fn pod_ready(obj: &Value) -> Value {
    let statuses = obj
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    let ready = statuses.map_or(0, |s| {
        s.iter()
            .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
            .count()
    });
    let containers = obj
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    json!(format!("{ready}/{containers}"))
}

fn pod_restarts(obj: &Value) -> Value {
    let restarts: i64 = obj
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map_or(0, |s| s.iter().map(|c| int(c, "/restartCount")).sum());
    json!(restarts)
}

fn pod_ip(obj: &Value) -> Value {
    or_none(text(obj, "/status/podIP"))
}

fn pod_node(obj: &Value) -> Value {
    or_none(text(obj, "/spec/nodeName"))
}

fn holder(obj: &Value) -> Value {
    json!(text(obj, "/spec/holderIdentity"))
}

fn created_at(obj: &Value) -> Value {
    json!(text(obj, "/metadata/creationTimestamp"))
}

/// `core/v1` and `events.k8s.io/v1` Events, read either way.
fn event_field(obj: &Value, core: &str, new: &str) -> String {
    let core_value = text(obj, core);
    if core_value.is_empty() {
        text(obj, new)
    } else {
        core_value
    }
}

fn first_seen(obj: &Value) -> Value {
    let first = obj
        .get("firstTimestamp")
        .or_else(|| obj.get("deprecatedFirstTimestamp"))
        .filter(|v| !v.is_null())
        .or_else(|| obj.get("eventTime"));
    age(first)
}

fn last_seen(obj: &Value) -> Value {
    if let Some(series) = obj.pointer("/series/lastObservedTime") {
        return age(Some(series));
    }
    let last = obj
        .get("lastTimestamp")
        .or_else(|| obj.get("deprecatedLastTimestamp"))
        .filter(|v| !v.is_null());
    match last {
        Some(last) => age(Some(last)),
        None => first_seen(obj),
    }
}

fn event_type(obj: &Value) -> Value {
    json!(text(obj, "/type"))
}

fn event_reason(obj: &Value) -> Value {
    json!(text(obj, "/reason"))
}

fn event_object(obj: &Value) -> Value {
    let kind = event_field(obj, "/involvedObject/kind", "/regarding/kind").to_ascii_lowercase();
    let name = event_field(obj, "/involvedObject/name", "/regarding/name");
    json!(if name.is_empty() {
        kind
    } else {
        format!("{kind}/{name}")
    })
}

fn event_subobject(obj: &Value) -> Value {
    json!(event_field(
        obj,
        "/involvedObject/fieldPath",
        "/regarding/fieldPath"
    ))
}

fn event_source(obj: &Value) -> Value {
    let component = event_field(obj, "/source/component", "/reportingController");
    let component = if component.is_empty() {
        text(obj, "/reportingComponent")
    } else {
        component
    };
    let host = event_field(obj, "/source/host", "/reportingInstance");
    json!(match (component.is_empty(), host.is_empty()) {
        (true, _) => String::new(),
        (false, true) => component,
        (false, false) => format!("{component}, {host}"),
    })
}

fn event_message(obj: &Value) -> Value {
    json!(event_field(obj, "/message", "/note").trim())
}

fn event_count(obj: &Value) -> Value {
    let count = obj
        .pointer("/series/count")
        .or_else(|| obj.get("count"))
        .or_else(|| obj.get("deprecatedCount"))
        .and_then(Value::as_i64)
        .filter(|c| *c > 0)
        .unwrap_or(1);
    json!(count.to_string())
}

fn computed(name: &str, priority: i32, f: fn(&Value) -> Value) -> Column {
    Column::new(name, "string", priority, Cell::Computed(f))
}

fn name() -> Column {
    Column::new("Name", "string", 0, Cell::Name)
}

fn age_column() -> Column {
    Column::new("Age", "string", 0, Cell::Age)
}

pub(super) fn columns(rt: &ResourceType) -> Vec<Column> {
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("" | "events.k8s.io", "Event") => vec![
            computed("Last Seen", 0, last_seen),
            computed("Type", 0, event_type),
            computed("Reason", 0, event_reason),
            computed("Object", 0, event_object),
            computed("Subobject", 1, event_subobject),
            computed("Source", 1, event_source),
            computed("Message", 0, event_message),
            computed("First Seen", 1, first_seen),
            computed("Count", 1, event_count),
            Column::new("Name", "string", 1, Cell::Name),
        ],
        ("", "Namespace") => vec![name(), computed("Status", 0, status_phase), age_column()],
        ("", "ConfigMap") => vec![name(), computed("Data", 0, config_map_data), age_column()],
        ("", "Pod") => vec![
            name(),
            computed("Ready", 0, pod_ready),
            computed("Status", 0, status_phase),
            computed("Restarts", 0, pod_restarts),
            age_column(),
            computed("IP", 1, pod_ip),
            computed("Node", 1, pod_node),
        ],
        ("", "Secret") => vec![
            name(),
            computed("Type", 0, secret_type),
            computed("Data", 0, secret_data),
            age_column(),
        ],
        ("", "ServiceAccount") => vec![
            name(),
            computed("Secrets", 0, service_account_secrets),
            age_column(),
        ],
        ("", "Service") => vec![
            name(),
            computed("Type", 0, service_type),
            computed("Cluster-IP", 0, cluster_ip),
            computed("External-IP", 0, external_ip),
            computed("Port(s)", 0, ports),
            age_column(),
            computed("Selector", 1, selector),
        ],
        ("apps", "StatefulSet") => vec![
            name(),
            computed("Ready", 0, ready_of_desired),
            age_column(),
            computed("Containers", 1, container_names),
            computed("Images", 1, container_images),
        ],
        ("apps", "Deployment") => vec![
            name(),
            computed("Ready", 0, ready_of_desired),
            computed("Up-to-date", 0, updated),
            computed("Available", 0, available),
            age_column(),
            computed("Containers", 1, container_names),
            computed("Images", 1, container_images),
            computed("Selector", 1, selector),
        ],
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => vec![
            name(),
            computed("Role", 0, role_ref),
            age_column(),
            computed("Users", 1, users),
            computed("Groups", 1, groups),
            computed("ServiceAccounts", 1, service_accounts),
        ],
        ("coordination.k8s.io", "Lease") => {
            vec![name(), computed("Holder", 0, holder), age_column()]
        }
        _ => vec![name(), computed("Created At", 0, created_at)],
    }
}
