//! The pod-spec merge of Seldon's operator: an override pod spec (a Server's
//! `spec.podSpec`, a runtime override's `podSpec`) over a template's (the
//! ServerConfig's, the SeldonConfig component's). See
//! `docs/seldon-compat.md#workload-building`.
//!
//! The rules, on the JSON form of the two specs:
//! * an override value that is set and not empty (`""`, `0`, `false`) wins;
//!   a field the template lacks takes the override's value whatever it is;
//! * objects merge field by field, except the four that are maps in
//!   Kubernetes' Go types (`nodeSelector`, `overhead`, `resources.limits`,
//!   `resources.requests`), where every key of the override wins;
//! * lists are appended (template first): volumes, tolerations, init
//!   containers, and inside a container env, args, ports, volume mounts;
//! * containers are merged by name: the override's containers come first, in
//!   its order, each merged over the template container of the same name (or
//!   added as is), then the template's containers the override does not name.
//!
//! Does better than Seldon: an override that would make an invalid pod (a
//! new container without an image, a volume or mount path defined twice by
//! the appending) is an error naming the field, not an API server rejection
//! of the workload; and an integer port overriding a named one (or the
//! reverse) wins, where Go's field-by-field merge of `IntOrString` keeps the
//! template's name.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use serde_json::{Map, Value};

/// Objects that are maps (not structs) in the Go types: every key of the
/// override wins, even an empty value.
const MAP_FIELDS: [&str; 4] = ["nodeSelector", "overhead", "limits", "requests"];

/// Why an override cannot be merged; `field` is relative to the override
/// pod spec (`containers[1].image`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeError {
    /// The override's field at fault.
    pub field: String,
    /// What is wrong and what to do.
    pub reason: String,
}

impl MergeError {
    /// The field as seen from the custom resource: `prefix.field`, or
    /// `prefix` when the error names no field.
    pub fn field_under(&self, prefix: &str) -> String {
        if self.field.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{}", self.field)
        }
    }
}

/// `over` merged onto `template` (see the module docs); `template` as is
/// without an override.
pub fn merge(template: &PodSpec, over: Option<&PodSpec>) -> Result<PodSpec, MergeError> {
    let Some(over) = over else {
        return Ok(template.clone());
    };
    check(template, over)?;
    let mut dst = to_object(template)?;
    let mut src = to_object(over)?;
    let template_containers = take_array(&mut dst, "containers");
    let override_containers = take_array(&mut src, "containers");
    merge_struct(&mut dst, src);
    dst.insert(
        "containers".to_owned(),
        Value::Array(merge_containers(template_containers, &override_containers)),
    );
    serde_json::from_value(Value::Object(dst)).map_err(|e| MergeError {
        field: String::new(),
        reason: format!("the merged pod spec is not a valid PodSpec: {e}"),
    })
}

fn to_object(spec: &PodSpec) -> Result<Map<String, Value>, MergeError> {
    match serde_json::to_value(spec) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Ok(Map::new()),
        Err(e) => Err(MergeError {
            field: String::new(),
            reason: format!("cannot serialize the pod spec: {e}"),
        }),
    }
}

fn take_array(object: &mut Map<String, Value>, key: &str) -> Vec<Value> {
    match object.remove(key) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

/// Merges the override's fields onto the template's (Go: a struct).
fn merge_struct(dst: &mut Map<String, Value>, src: Map<String, Value>) {
    for (key, value) in src {
        if value.is_null() {
            continue;
        }
        match dst.get_mut(&key) {
            None | Some(Value::Null) => {
                dst.insert(key, value);
            }
            Some(existing) => merge_field(&key, existing, value),
        }
    }
}

fn merge_field(key: &str, dst: &mut Value, src: Value) {
    match (dst, src) {
        (Value::Object(d), Value::Object(s)) if MAP_FIELDS.contains(&key) => d.extend(s),
        (Value::Object(d), Value::Object(s)) => merge_struct(d, s),
        (Value::Array(d), Value::Array(s)) => d.extend(s),
        (dst, src) => {
            if !is_empty(&src) {
                *dst = src;
            }
        }
    }
}

/// Go's zero values, which never override.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(_) => false,
    }
}

fn name_of(container: &Value) -> &str {
    container
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Containers by name: the override's first (merged or new), then the
/// template's untouched ones.
fn merge_containers(template: Vec<Value>, overrides: &[Value]) -> Vec<Value> {
    let mut merged = Vec::with_capacity(template.len() + overrides.len());
    for over in overrides {
        let mut found = false;
        for existing in template.iter().filter(|c| name_of(c) == name_of(over)) {
            found = true;
            let mut container = existing.clone();
            if let (Value::Object(dst), Value::Object(src)) = (&mut container, over.clone()) {
                merge_struct(dst, src);
            }
            merged.push(container);
        }
        if !found {
            merged.push(over.clone());
        }
    }
    merged.extend(
        template
            .into_iter()
            .filter(|c| !overrides.iter().any(|o| name_of(o) == name_of(c))),
    );
    merged
}

/// The override errors the API server would otherwise report on the
/// workload, named by the override's field.
fn check(template: &PodSpec, over: &PodSpec) -> Result<(), MergeError> {
    let template_volumes: BTreeSet<&str> = template
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .collect();
    let mut seen = BTreeSet::new();
    for (i, volume) in over.volumes.iter().flatten().enumerate() {
        if template_volumes.contains(volume.name.as_str()) || !seen.insert(volume.name.as_str()) {
            return Err(MergeError {
                field: format!("volumes[{i}].name"),
                reason: format!(
                    "volume {:?} is defined twice once the override's volumes are appended to the \
                     template's (volumes are not merged by name); use another name",
                    volume.name
                ),
            });
        }
    }
    for (i, container) in over.containers.iter().enumerate() {
        if container.name.is_empty() {
            return Err(MergeError {
                field: format!("containers[{i}].name"),
                reason: "is empty; containers are merged by name".to_owned(),
            });
        }
        let existing = template
            .containers
            .iter()
            .find(|c| c.name == container.name);
        if existing.is_none() && container.image.as_deref().unwrap_or_default().is_empty() {
            return Err(MergeError {
                field: format!("containers[{i}].image"),
                reason: format!(
                    "container {:?} is not in the template, so the override adds it, and it has no \
                     image",
                    container.name
                ),
            });
        }
        check_mounts(i, existing, container)?;
    }
    Ok(())
}

fn check_mounts(
    i: usize,
    existing: Option<&Container>,
    over: &Container,
) -> Result<(), MergeError> {
    let mut paths: BTreeSet<&str> = existing
        .and_then(|c| c.volume_mounts.as_ref())
        .into_iter()
        .flatten()
        .map(|m| m.mount_path.as_str())
        .collect();
    for (j, mount) in over.volume_mounts.iter().flatten().enumerate() {
        if !paths.insert(mount.mount_path.as_str()) {
            return Err(MergeError {
                field: format!("containers[{i}].volumeMounts[{j}].mountPath"),
                reason: format!(
                    "{:?} is mounted twice in container {:?} once the override's mounts are appended \
                     to the template's; mount elsewhere or change the template",
                    mount.mount_path, over.name
                ),
            });
        }
    }
    Ok(())
}
