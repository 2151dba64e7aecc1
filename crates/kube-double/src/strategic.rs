//! Strategic merge patch for built-in kinds (custom resources refuse it
//! with 415 before it gets here), as `kubectl patch`, `kubectl edit` and
//! client-side `kubectl apply` send it:
//!
//! - maps merge field by field; `null` removes a field; `$patch: replace`
//!   replaces a map, `$patch: delete` removes it;
//! - lists with a patch merge key (the first key of `fields::list_type`'s
//!   table: containers, env and volumes by `name`, container ports by
//!   `containerPort`, Service ports by `port`, ownerReferences by `uid`,
//!   ...) merge item by item: an item whose key is found is merged, one
//!   that is not is appended, `$patch: delete` on an item removes it and a
//!   `{"$patch": "replace"}` item replaces the list with the others;
//! - `finalizers` merge as a set, `$deleteFromPrimitiveList/finalizers`
//!   removes values;
//! - every other list is replaced.
//!
//! Simplified: `$setElementOrder` and `$retainKeys` are ignored (items
//! keep the live order, new ones are appended), and a Service's ports are
//! merged by `port` alone.

use serde_json::{Map, Value};

use super::catalog::ResourceType;
use super::error::ApiError;
use super::fields::{self, Elem, ListType};

/// Applies the strategic merge patch `patch` to `target`.
pub(crate) fn merge(rt: &ResourceType, target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    merge_map(rt, &mut Vec::new(), target, patch)
}

fn directive(value: &Value) -> Option<&str> {
    value.get("$patch").and_then(Value::as_str)
}

/// `value` without `$` directives, for what is stored as sent.
fn without_directives(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), without_directives(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_directives).collect()),
        other => other.clone(),
    }
}

fn merge_map(
    rt: &ResourceType,
    path: &mut Vec<Elem>,
    target: &mut Value,
    patch: &Value,
) -> Result<(), ApiError> {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return Ok(());
    };
    match directive(patch) {
        Some("replace") => {
            *target = without_directives(patch);
            return Ok(());
        }
        None => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown patch directive in a map: {other:?}"
            )));
        }
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(map) = target else {
        unreachable!("made an object above")
    };
    for (key, value) in patch_map {
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Some(remove)) =
                (map.get_mut(field), value.as_array())
            {
                items.retain(|item| !remove.contains(item));
            }
            continue;
        }
        // `$setElementOrder/...`, `$retainKeys`: hints this double ignores.
        if key.starts_with('$') {
            continue;
        }
        path.push(Elem::Field(key.clone()));
        match value {
            Value::Null => {
                map.remove(key);
            }
            Value::Object(_) if directive(value) == Some("delete") => {
                map.remove(key);
            }
            Value::Object(_) => {
                let entry = map.entry(key.clone()).or_insert(Value::Null);
                merge_map(rt, path, entry, value)?;
            }
            Value::Array(items) => {
                let merged = merge_list(rt, path, map.get(key), items)?;
                map.insert(key.clone(), merged);
            }
            scalar => {
                map.insert(key.clone(), scalar.clone());
            }
        }
        path.pop();
    }
    Ok(())
}

fn merge_list(
    rt: &ResourceType,
    path: &mut Vec<Elem>,
    live: Option<&Value>,
    patch_items: &[Value],
) -> Result<Value, ApiError> {
    let mut result: Vec<Value> = live.and_then(Value::as_array).cloned().unwrap_or_default();
    match fields::list_type(rt, path) {
        ListType::Atomic => Ok(without_directives(&Value::Array(patch_items.to_vec()))),
        ListType::Set => {
            for item in patch_items {
                if !result.contains(item) {
                    result.push(item.clone());
                }
            }
            Ok(Value::Array(result))
        }
        ListType::Map(keys) => {
            let replace = patch_items.iter().any(|i| directive(i) == Some("replace"));
            if replace {
                let kept: Vec<Value> = patch_items
                    .iter()
                    .filter(|i| directive(i).is_none())
                    .map(without_directives)
                    .collect();
                return Ok(Value::Array(kept));
            }
            let merge_key = keys.first().map_or("name", |(k, _)| *k);
            for item in patch_items {
                let Some(id) = item.get(merge_key).filter(|v| !v.is_null()) else {
                    return Err(ApiError::bad_request(format!(
                        "map: {item} does not contain declared merge key: {merge_key}"
                    )));
                };
                let position = result.iter().position(|l| l.get(merge_key) == Some(id));
                match (position, directive(item)) {
                    (Some(index), Some("delete")) => {
                        result.remove(index);
                    }
                    (None, Some("delete")) => {}
                    (Some(index), _) => {
                        path.push(Elem::Key(id.to_string()));
                        merge_map(rt, path, &mut result[index], item)?;
                        path.pop();
                    }
                    (None, _) => result.push(without_directives(item)),
                }
            }
            Ok(Value::Array(result))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use serde_json::json;

    #[test]
    fn containers_merge_by_name_and_directives_work() {
        let catalog = Catalog::new(&[]);
        let rt = catalog.get(catalog.find("apps", "v1", "statefulsets").expect("served"));
        let mut sts = json!({
            "metadata": {"finalizers": ["a", "b"], "labels": {"x": "1", "y": "2"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "agent", "image": "a:1", "ports": [{"containerPort": 9000, "name": "http"}], "args": ["1"]},
                {"name": "proxy", "image": "p:1"},
            ]}}},
        });
        let patch = json!({
            "metadata": {"labels": {"y": null, "z": "3"}, "finalizers": ["c"], "$deleteFromPrimitiveList/finalizers": ["a"]},
            "spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "agent"}],
                "containers": [
                    {"name": "agent", "image": "a:2", "ports": [{"containerPort": 9001}], "args": ["2"]},
                    {"name": "proxy", "$patch": "delete"},
                    {"name": "new", "image": "n:1"},
                ],
            }}},
        });
        merge(rt, &mut sts, &patch).expect("merges");
        assert_eq!(sts["metadata"]["labels"], json!({"x": "1", "z": "3"}));
        assert_eq!(sts["metadata"]["finalizers"], json!(["b", "c"]));
        assert_eq!(
            sts["spec"]["template"]["spec"]["containers"],
            json!([
                {"name": "agent", "image": "a:2", "ports": [{"containerPort": 9000, "name": "http"}, {"containerPort": 9001}], "args": ["2"]},
                {"name": "new", "image": "n:1"},
            ])
        );
        let keyless = json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}});
        assert_eq!(merge(rt, &mut sts, &keyless).map_err(|e| e.code), Err(400));
        let replace = json!({"spec": {"template": {"spec": {"containers": [{"$patch": "replace"}, {"name": "only"}]}}}});
        merge(rt, &mut sts, &replace).expect("merges");
        assert_eq!(
            sts["spec"]["template"]["spec"]["containers"],
            json!([{"name": "only"}])
        );
    }
}
