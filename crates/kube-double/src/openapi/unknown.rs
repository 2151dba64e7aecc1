//! Strict field validation: the fields of a request body its kind's
//! schema does not declare, named as the real server names them
//! (`spec.foo`, `spec.containers[0].bar`, `metadata.foo`). Fields under
//! `x-kubernetes-preserve-unknown-fields`, map values
//! (`additionalProperties`) and an embedded resource's `apiVersion`,
//! `kind` and `metadata` are declared; objects whose schema lists no
//! properties are not checked. Strategic merge patch directives (`$patch`,
//! `$setElementOrder/...`, `$retainKeys`, ...) are not fields.

use serde_json::{Map, Value};

use super::schemas::REF_PREFIX;

/// How deep references and nesting are followed (schemas of Kubernetes
/// kinds are far shallower; a cycle stops here).
const MAX_DEPTH: usize = 64;

/// The undeclared fields of `value` against the schema named `root`.
pub(crate) fn unknown_fields(
    components: &Map<String, Value>,
    root: &str,
    value: &Value,
) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(schema) = components.get(root) {
        walk(components, schema, value, "", 0, &mut found);
    }
    found
}

/// Follows `$ref` and a lone `allOf` (how references carry a description).
fn resolve<'a>(components: &'a Map<String, Value>, mut schema: &'a Value) -> &'a Value {
    for _ in 0..MAX_DEPTH {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            match components.get(reference.trim_start_matches(REF_PREFIX)) {
                Some(target) => schema = target,
                None => return schema,
            }
        } else if schema.get("properties").is_none()
            && let Some([only]) = schema
                .get("allOf")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
        {
            schema = only;
        } else {
            return schema;
        }
    }
    schema
}

fn flag(schema: &Value, name: &str) -> bool {
    schema.get(name).and_then(Value::as_bool).unwrap_or(false)
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(
    components: &Map<String, Value>,
    schema: &Value,
    value: &Value,
    path: &str,
    depth: usize,
    found: &mut Vec<String>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let schema = resolve(components, schema);
    match value {
        Value::Object(fields) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let open = flag(schema, "x-kubernetes-preserve-unknown-fields")
                || schema.get("additionalProperties").and_then(Value::as_bool) == Some(true);
            let embedded = flag(schema, "x-kubernetes-embedded-resource");
            for (key, v) in fields {
                if key.starts_with('$') {
                    continue;
                }
                let at = child(path, key);
                if let Some(declared) = properties.and_then(|p| p.get(key)) {
                    walk(components, declared, v, &at, depth + 1, found);
                } else if let Some(values) = additional {
                    walk(components, values, v, &at, depth + 1, found);
                } else if open
                    || properties.is_none()
                    || (embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata"))
                {
                    continue;
                } else {
                    found.push(at);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    let at = format!("{path}[{i}]");
                    walk(components, item_schema, item, &at, depth + 1, found);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use serde_json::json;

    #[test]
    fn undeclared_fields_are_named_by_path() {
        let catalog = Catalog::new(&crate::config::seldon_crds());
        let models = catalog.in_group_version("mlops.seldon.io", "v1alpha1");
        let schemas = super::super::schemas::group_version(models);
        let root = &schemas
            .roots
            .iter()
            .find(|(k, _)| k == "Model")
            .expect("model")
            .1;
        let model = json!({
            "apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model",
            "metadata": {"name": "m", "labels": {"a": "b"}, "colour": "red"},
            "spec": {"storageUri": "gs://x", "requirements": ["sklearn"], "storageURI": "gs://typo"},
        });
        assert_eq!(
            unknown_fields(&schemas.components, root, &model),
            ["metadata.colour", "spec.storageURI"]
        );

        let apps = Catalog::new(&[]);
        let schemas = super::super::schemas::group_version(apps.in_group_version("apps", "v1"));
        let root = &schemas
            .roots
            .iter()
            .find(|(k, _)| k == "StatefulSet")
            .expect("sts")
            .1;
        let sts = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "imag": "x"}]}},
            "$setElementOrder/x": [], "selector": {"matchLabels": {"any": "thing"}}}});
        assert_eq!(
            unknown_fields(&schemas.components, root, &sts),
            ["spec.template.spec.containers[0].imag"]
        );
    }
}
