//! Small schemars helpers that keep the generated OpenAPI schemas equal to
//! what Seldon's CRDs declare, where schemars' defaults would differ.
//!
//! They run while kube's `CustomResource` derive builds each CRD's schema;
//! `crd::all()` then applies the few rewrites that need the whole CRD.

use schemars::Schema;

/// Removes the `default` that schemars derives from `#[serde(default)]` on
/// each direct property of a struct.
///
/// Status fields are always serialized (a status write must be able to reset
/// a count to 0), so schemars would publish `default: 0` for them, and the API
/// server would then write those defaults into every stored object. Seldon's
/// CRDs declare no such defaults, and neither do ours.
pub(crate) fn no_property_defaults(schema: &mut Schema) {
    let Some(properties) = schema
        .get_mut("properties")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    for property in properties.values_mut() {
        if let Some(property) = property.as_object_mut() {
            property.remove("default");
        }
    }
}

/// Marks `fields` as required in a struct's schema, keeping the list sorted
/// and free of duplicates.
pub(crate) fn require(schema: &mut Schema, fields: &[&str]) {
    let mut required: Vec<String> = schema
        .get("required")
        .and_then(serde_json::Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|field| field.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    required.extend(fields.iter().map(|field| (*field).to_owned()));
    required.sort();
    required.dedup();
    schema.insert("required".into(), required.into());
}

#[cfg(test)]
mod tests {
    use schemars::json_schema;

    use super::*;

    #[test]
    fn no_property_defaults_strips_only_property_defaults() {
        let mut schema = json_schema!({
            "type": "object",
            "default": {},
            "properties": {
                "replicas": {"type": "integer", "default": 0},
                "selector": {"type": "string"}
            }
        });
        no_property_defaults(&mut schema);
        assert_eq!(
            schema,
            json_schema!({
                "type": "object",
                "default": {},
                "properties": {
                    "replicas": {"type": "integer"},
                    "selector": {"type": "string"}
                }
            })
        );
    }

    #[test]
    fn require_merges_sorted_without_duplicates() {
        let mut schema = json_schema!({"type": "object", "required": ["b"]});
        require(&mut schema, &["c", "a", "b"]);
        assert_eq!(
            schema.get("required"),
            Some(&serde_json::json!(["a", "b", "c"]))
        );
    }
}
