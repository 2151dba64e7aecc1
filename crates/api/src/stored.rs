//! How the API server stores a custom resource, where it matters to
//! reading one: members set to null are pruned (structural schemas,
//! Kubernetes 1.20+), so an empty key in a manifest (`requirements:`, as
//! Helm templates leave unset values) reads as absent.

use serde_json::Value;

/// `value` without the null members of its objects, at any depth (array
/// elements are kept).
pub fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nulls_go_at_every_depth_but_not_from_arrays() {
        let stored = without_nulls(json!({
            "spec": {"requirements": null, "memory": "1Mi", "steps": [{"a": null, "b": 1}, null]},
            "status": null,
        }));
        assert_eq!(
            stored,
            json!({"spec": {"memory": "1Mi", "steps": [{"b": 1}, null]}})
        );
    }
}
