//! The `scale` subresource: an `autoscaling/v1` `Scale` view of an object
//! built from the kind's replica paths (`.spec.replicas`,
//! `.status.replicas`, and the selector: `.status.selector` for the Seldon
//! kinds, `.spec.selector` rendered as a string for apps/v1 workloads),
//! and writing `spec.replicas` back into the object.

use serde_json::{Map, Value, json};

use super::catalog::{ResourceType, ScalePaths};
use super::error::ApiError;
use super::object;

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('.').filter(|s| !s.is_empty())
}

/// The value at a `.a.b` path.
pub(crate) fn get_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    segments(path).try_fold(obj, |v, s| v.get(s))
}

/// Sets the value at a `.a.b` path, creating (or replacing non-object)
/// intermediate fields.
pub(crate) fn set_path(obj: &mut Value, path: &str, value: Value) {
    let parts: Vec<&str> = segments(path).collect();
    let Some((last, parents)) = parts.split_last() else {
        return;
    };
    let mut current = obj;
    for part in parents {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        let Value::Object(map) = current else { return };
        current = map
            .entry((*part).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if !current.is_object() {
        *current = Value::Object(Map::new());
    }
    if let Value::Object(map) = current {
        map.insert((*last).to_string(), value);
    }
}

fn paths(rt: &ResourceType) -> Result<&ScalePaths, ApiError> {
    rt.scale.as_ref().ok_or_else(ApiError::no_route)
}

/// The `Scale` of `obj`.
pub(crate) fn scale_of(rt: &ResourceType, obj: &Value) -> Result<Value, ApiError> {
    let paths = paths(rt)?;
    let replicas = |path: &str| get_path(obj, path).and_then(Value::as_i64).unwrap_or(0);
    let mut metadata = Map::new();
    for key in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = object::meta(obj).and_then(|m| m.get(key)) {
            metadata.insert(key.to_string(), v.clone());
        }
    }
    let mut status = json!({"replicas": replicas(&paths.status_replicas)});
    if let Some(selector) = paths
        .label_selector
        .as_deref()
        .and_then(|p| get_path(obj, p))
        .and_then(selector_string)
    {
        status["selector"] = Value::String(selector);
    }
    Ok(json!({
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": metadata,
        "spec": {"replicas": replicas(&paths.spec_replicas)},
        "status": status,
    }))
}

/// A label selector as a string: kept when it is one (custom resources'
/// `labelSelectorPath`), rendered from a `LabelSelector` object (apps/v1
/// workloads' `spec.selector`), requirements sorted by key as the real
/// server renders them.
fn selector_string(selector: &Value) -> Option<String> {
    if let Some(text) = selector.as_str() {
        return Some(text.to_string());
    }
    let selector = selector.as_object()?;
    let mut requirements: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (key, value) in labels {
            let value = value.as_str().unwrap_or_default();
            requirements.push((key.clone(), format!("{key}={value}")));
        }
    }
    let expressions = selector.get("matchExpressions").and_then(Value::as_array);
    for expression in expressions.into_iter().flatten() {
        let field = |name: &str| expression.get(name).and_then(Value::as_str).unwrap_or("");
        let key = field("key");
        let values: Vec<&str> = expression
            .get("values")
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let rendered = match field("operator") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => continue,
        };
        requirements.push((key.to_string(), rendered));
    }
    requirements.sort();
    Some(
        requirements
            .into_iter()
            .map(|(_, r)| r)
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// Checks a `Scale` sent by a client and copies its `spec.replicas` into
/// `obj`.
pub(crate) fn set_replicas(
    rt: &ResourceType,
    name: &str,
    obj: &mut Value,
    scale: &Value,
) -> Result<(), ApiError> {
    let paths = paths(rt)?;
    if !scale.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    if let Some(kind) = scale.get("kind").and_then(Value::as_str)
        && kind != "Scale"
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind (Scale)"
        )));
    }
    let scale_name = object::name(scale);
    if !scale_name.is_empty() && scale_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({scale_name}) does not match the name on the URL ({name})"
        )));
    }
    let replicas = match scale.get("spec").and_then(|s| s.get("replicas")) {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_i64().ok_or_else(|| {
            ApiError::invalid(
                rt,
                name,
                "spec.replicas",
                "Invalid value: must be an integer",
            )
        })?,
    };
    if replicas < 0 || replicas > i64::from(i32::MAX) {
        return Err(ApiError::invalid(
            rt,
            name,
            "spec.replicas",
            &format!("Invalid value: {replicas}: must be greater than or equal to 0"),
        ));
    }
    set_path(obj, &paths.spec_replicas, json!(replicas));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn scale_round_trip() {
        let catalog = Catalog::new(&crate::config::seldon_crds());
        let rt = catalog.get(
            catalog
                .find("mlops.seldon.io", "v1alpha1", "servers")
                .expect("servers"),
        );
        let mut obj = json!({"metadata": {"name": "s", "resourceVersion": "4"}, "spec": {}, "status": {"replicas": 2, "selector": "app=s"}});
        let scale = scale_of(rt, &obj).expect("scale");
        assert_eq!(scale["spec"]["replicas"], 0);
        assert_eq!(scale["status"], json!({"replicas": 2, "selector": "app=s"}));
        set_replicas(rt, "s", &mut obj, &json!({"spec": {"replicas": 3}})).expect("sets");
        assert_eq!(obj["spec"]["replicas"], 3);
        assert_eq!(
            set_replicas(rt, "s", &mut obj, &json!({"spec": {"replicas": -1}})).map_err(|e| e.code),
            Err(422)
        );
        assert_eq!(
            selector_string(
                &json!({"matchLabels": {"b": "2", "a": "1"}, "matchExpressions": [{"key": "c", "operator": "Exists"}]})
            ),
            Some("a=1,b=2,c".to_string())
        );
        let mut bare = json!(null);
        set_path(&mut bare, ".a.b", json!(1));
        assert_eq!(bare, json!({"a": {"b": 1}}));
    }
}
