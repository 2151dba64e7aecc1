//! What follows a write, as a real cluster would show it:
//!
//! - the Namespace of an object written in one that does not exist yet is
//!   created (status Active), so `kubectl` finds it (unless the double
//!   requires namespaces, when such writes are refused instead);
//! - an `events.k8s.io/v1` Event is also a `core/v1` Event, as both are
//!   one object in a real server's storage: each write to the first is
//!   mirrored into the second, converted (`regarding` as
//!   `involvedObject`, `note` as `message`, `reportingController` as
//!   `reportingComponent`, the `deprecated*` fields as `source`,
//!   `firstTimestamp`, `lastTimestamp` and `count`), with the same uid,
//!   so `kubectl get events` and `kubectl describe` see what controllers
//!   record. Writes to `core/v1` Events are not mirrored back, and the
//!   mirror gets its own resourceVersion.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::catalog::ResourceType;
use super::object;
use super::shared::Shared;
use super::store::{Change, ChangeKind, Key};
use super::writes::{WriteReport, Writer};

/// Creates the Namespace `namespace` if it is missing.
pub(crate) fn ensure_namespace(shared: &Shared, namespace: &str) {
    let Some(id) = shared.catalog.find("", "v1", "namespaces") else {
        return;
    };
    let rt = shared.catalog.get(id);
    let mut collection = shared.lock(id);
    if collection.contains(&(String::new(), namespace.to_string())) {
        return;
    }
    let mut writer = Writer {
        rt,
        revision: &shared.revision,
        collection: &mut collection,
        dry_run: false,
        manager: None,
        force: false,
        report: WriteReport::default(),
    };
    let namespace_object =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}});
    if let Err(error) = writer.create("", namespace_object) {
        tracing::debug!(%namespace, %error, "API double: no implicit namespace");
    }
}

/// Mirrors the `events.k8s.io/v1` Events at `keys` (as they are now,
/// or gone) into `core/v1` Events.
pub(crate) fn mirror_events(shared: &Shared, source: &ResourceType, keys: &[Key]) {
    if source.custom || source.group != "events.k8s.io" || source.kind != "Event" {
        return;
    }
    let (Some(from), Some(to)) = (
        shared.catalog.find("events.k8s.io", "v1", "events"),
        shared.catalog.find("", "v1", "events"),
    ) else {
        return;
    };
    let core = shared.catalog.get(to);
    for key in keys {
        let now = shared.lock(from).get(key).cloned();
        let mut collection = shared.lock(to);
        let prev = collection.get(key).cloned();
        let (kind, object) = match (now, &prev) {
            (Some(event), None) => (ChangeKind::Added, to_core(&event)),
            (Some(event), Some(_)) => (ChangeKind::Modified, to_core(&event)),
            (None, Some(last)) => (ChangeKind::Deleted, (**last).clone()),
            (None, None) => continue,
        };
        let rv = shared.revision.next();
        let mut object = object;
        object::set_meta(&mut object, "resourceVersion", Some(json!(rv.to_string())));
        collection.commit(
            core,
            Change {
                rv,
                key: key.clone(),
                kind,
                prev,
                object: Arc::new(object),
            },
        );
    }
}

/// An `events.k8s.io/v1` Event as the `core/v1` Event it also is.
fn to_core(event: &Value) -> Value {
    let field = |name: &str| event.get(name).filter(|v| !v.is_null()).cloned();
    let mut core = Map::new();
    core.insert("apiVersion".into(), json!("v1"));
    core.insert("kind".into(), json!("Event"));
    let mut metadata = object::meta(event).cloned().unwrap_or_default();
    metadata.remove("managedFields");
    core.insert("metadata".into(), Value::Object(metadata));
    let renamed = [
        ("regarding", "involvedObject"),
        ("note", "message"),
        ("reportingController", "reportingComponent"),
        ("deprecatedSource", "source"),
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedCount", "count"),
    ];
    for (from, to) in renamed {
        if let Some(value) = field(from) {
            core.insert(to.into(), value);
        }
    }
    for same in [
        "reason",
        "type",
        "action",
        "eventTime",
        "series",
        "related",
        "reportingInstance",
    ] {
        if let Some(value) = field(same) {
            core.insert(same.into(), value);
        }
    }
    core.entry("involvedObject").or_insert_with(|| json!({}));
    core.entry("source").or_insert_with(|| json!({}));
    Value::Object(core)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_convert_field_by_field() {
        let event = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "m.1", "namespace": "ns", "uid": "u", "managedFields": [{}]},
            "regarding": {"kind": "Model", "name": "m", "namespace": "ns", "uid": "mu"},
            "note": "loaded", "reason": "Loaded", "type": "Normal", "action": "Load",
            "reportingController": "switchyard", "reportingInstance": "switchyard-0",
            "eventTime": "2026-01-01T00:00:00.000000Z",
            "series": {"count": 3, "lastObservedTime": "2026-01-01T00:01:00.000000Z"},
            "deprecatedCount": 2,
        });
        let core = to_core(&event);
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["involvedObject"]["uid"], "mu");
        assert_eq!(core["message"], "loaded");
        assert_eq!(core["reportingComponent"], "switchyard");
        assert_eq!(core["count"], 2);
        assert_eq!(core["series"]["count"], 3);
        assert_eq!(core["metadata"]["uid"], "u");
        assert!(core["metadata"].get("managedFields").is_none());
        assert_eq!(core["source"], json!({}));
    }
}
