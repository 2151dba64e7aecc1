//! The seven CRDs must be what a Kubernetes API server accepts: their
//! schemas must be *structural* (Kubernetes docs, "Specifying a structural
//! schema"), or `kubectl apply` of `deploy/crds/` fails.
//!
//! `Checker` walks every schema node of every CRD and reports each rule a
//! node breaks, with the node's path (`.spec.steps[].name`; `[*]` is a map
//! value). The checker's own tests below feed it broken schemas, so a rule
//! that stopped firing would show.
//!
//! When this fails on a real CRD, fix the schema generation (schemars
//! attributes on the type, or the rewrite in `crd::all()`), not the checker.

use std::collections::BTreeSet;

use crate::crd;
use serde_json::{Map, Value};

/// Paths where `x-kubernetes-preserve-unknown-fields: true` is allowed:
/// only data that is genuinely free-form. None of our kinds has any, so an
/// occurrence means a Rust type lost its schema (e.g. a `serde_json::Value`
/// or a `#[serde(flatten)]` map slipped in).
const PRESERVE_UNKNOWN_FIELDS_ALLOWED: &[&str] = &[];

/// Keys a node of a CRD schema may carry (apiextensions/v1 JSONSchemaProps,
/// minus what structural schemas forbid: `$ref`, `definitions`,
/// `dependencies`, `patternProperties`, `additionalItems`, `uniqueItems`, `id`, `$schema`).
const ALLOWED_KEYS: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "properties",
    "required",
    "items",
    "additionalProperties",
    "enum",
    "default",
    "nullable",
    "example",
    "externalDocs",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "anyOf",
    "oneOf",
    "allOf",
    "not",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
];

const TYPES: &[&str] = &["object", "array", "string", "integer", "number", "boolean"];

/// Formats the API server recognizes, per type (others are ignored with a
/// warning, so a format outside this list is a mistake such as `uint32`).
fn known_format(type_: &str, format: &str) -> bool {
    match type_ {
        "integer" => matches!(format, "int32" | "int64"),
        "number" => matches!(format, "float" | "double" | "int32" | "int64"),
        "string" => matches!(
            format,
            "byte"
                | "date"
                | "date-time"
                | "datetime"
                | "duration"
                | "password"
                | "uuid"
                | "uri"
                | "email"
                | "hostname"
                | "ipv4"
                | "ipv6"
                | "cidr"
                | "mac"
        ),
        _ => false,
    }
}

/// Keys a subschema of `anyOf`/`oneOf`/`allOf`/`not` must not carry: those
/// are value validations only; the structure lives outside them.
const FORBIDDEN_IN_JUNCTORS: &[&str] = &[
    "type",
    "description",
    "title",
    "default",
    "nullable",
    "additionalProperties",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
];

/// Walks a CRD schema and collects every broken rule.
struct Checker {
    errors: Vec<String>,
    preserve_allowed: BTreeSet<String>,
}

impl Checker {
    fn new(preserve_allowed: &[&str]) -> Self {
        Checker {
            errors: Vec::new(),
            preserve_allowed: preserve_allowed.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    fn error(&mut self, path: &str, message: impl std::fmt::Display) {
        let path = if path.is_empty() { "<root>" } else { path };
        self.errors.push(format!("{path}: {message}"));
    }

    /// Checks a whole `openAPIV3Schema`.
    fn check_root(&mut self, root: &Value) {
        let Some(node) = root.as_object() else {
            return self.error("", "the schema is not an object");
        };
        if node.get("type").and_then(Value::as_str) != Some("object") {
            self.error("", "the root must be of type object");
        }
        let properties = node.get("properties").and_then(Value::as_object);
        if properties.is_none_or(|p| !p.contains_key("spec")) {
            self.error("", "the root has no `spec` property");
        }
        for key in ["apiVersion", "kind"] {
            if let Some(field) = properties.and_then(|p| p.get(key))
                && field.get("type").and_then(Value::as_str) != Some("string")
            {
                self.error(&format!(".{key}"), "must be of type string");
            }
        }
        if let Some(metadata) = properties.and_then(|p| p.get("metadata")) {
            self.check_metadata(metadata);
        }
        self.check_node(root, "");
    }

    /// `metadata` may only be an object, restricting `name`/`generateName`.
    fn check_metadata(&mut self, metadata: &Value) {
        if metadata.get("type").and_then(Value::as_str) != Some("object") {
            self.error(".metadata", "must be of type object");
        }
        for key in metadata.as_object().into_iter().flat_map(Map::keys) {
            if !matches!(key.as_str(), "type" | "properties" | "description") {
                self.error(".metadata", format!("must not specify `{key}`"));
            }
        }
        if let Some(properties) = metadata.get("properties").and_then(Value::as_object) {
            for (name, field) in properties {
                if !matches!(name.as_str(), "name" | "generateName") {
                    self.error(
                        ".metadata",
                        format!("may only restrict name and generateName, not `{name}`"),
                    );
                }
                if field.get("default").is_some() {
                    self.error(&format!(".metadata.{name}"), "must not have a default");
                }
            }
        }
    }

    /// Checks one structural node and everything under it.
    fn check_node(&mut self, value: &Value, path: &str) {
        let Some(node) = value.as_object() else {
            return self.error(path, "a schema node must be an object");
        };
        for key in node.keys() {
            if !ALLOWED_KEYS.contains(&key.as_str()) {
                self.error(
                    path,
                    format!("`{key}` is not allowed in a structural schema"),
                );
            }
        }

        let int_or_string = flag(node, "x-kubernetes-int-or-string");
        let preserve = flag(node, "x-kubernetes-preserve-unknown-fields");
        if preserve && !self.preserve_allowed.contains(path) {
            self.error(
                path,
                "x-kubernetes-preserve-unknown-fields outside the allowed free-form paths",
            );
        }

        let type_ = match node.get("type") {
            None => {
                if !int_or_string && !preserve {
                    self.error(path, "no `type`");
                }
                None
            }
            Some(Value::String(type_)) if TYPES.contains(&type_.as_str()) => {
                if int_or_string {
                    self.error(path, "x-kubernetes-int-or-string nodes must not set `type`");
                }
                Some(type_.as_str())
            }
            Some(other) => {
                self.error(
                    path,
                    format!("`type` must be one of {TYPES:?}, not {other}"),
                );
                None
            }
        };

        if let (Some(format), Some(type_)) = (node.get("format").and_then(Value::as_str), type_)
            && !known_format(type_, format)
        {
            self.error(
                path,
                format!("format `{format}` is unknown to Kubernetes for type {type_}"),
            );
        }

        let properties = node.get("properties").and_then(Value::as_object);
        let additional = node.get("additionalProperties");
        if properties.is_some() && additional.is_some() {
            self.error(path, "`properties` and `additionalProperties` are both set");
        }
        if (properties.is_some() || additional.is_some()) && type_ != Some("object") {
            self.error(path, "properties on a node that is not of type object");
        }
        if let Some(required) = node.get("required") {
            let names: Vec<&str> = required
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for name in names {
                if properties.is_none_or(|p| !p.contains_key(name)) {
                    self.error(path, format!("required field `{name}` is not a property"));
                }
            }
        }
        match node.get("items") {
            Some(items) if items.is_object() => {
                if type_ != Some("array") {
                    self.error(path, "`items` on a node that is not of type array");
                }
                self.check_node(items, &format!("{path}[]"));
            }
            Some(_) => self.error(path, "`items` must be a single schema"),
            None if type_ == Some("array") => self.error(path, "an array without `items`"),
            None => {}
        }
        if let Some(properties) = properties {
            for (name, child) in properties {
                self.check_node(child, &format!("{path}.{name}"));
            }
        }
        match additional {
            Some(schema @ Value::Object(_)) => self.check_node(schema, &format!("{path}[*]")),
            Some(other) => self.error(
                path,
                format!("`additionalProperties` must be a schema, not {other}"),
            ),
            None => {}
        }

        if let Some(values) = node.get("enum") {
            for value in values.as_array().into_iter().flatten() {
                if !value_fits(value, type_, int_or_string) {
                    self.error(path, format!("enum value {value} does not fit the type"));
                }
            }
        }
        if let Some(default) = node.get("default") {
            self.check_default(node, path, default, type_, int_or_string);
        }
        self.check_list_type(node, path);
        self.check_junctors(node, path, int_or_string);
    }

    /// A default must be a value of the node's type (and of its enum).
    fn check_default(
        &mut self,
        node: &Map<String, Value>,
        path: &str,
        default: &Value,
        type_: Option<&str>,
        int_or_string: bool,
    ) {
        if default.is_null() {
            if !flag(node, "nullable") {
                self.error(path, "default null on a node that is not nullable");
            }
            return;
        }
        if !value_fits(default, type_, int_or_string) {
            self.error(
                path,
                format!("default {default} does not fit type {type_:?}"),
            );
        }
        if let Some(values) = node.get("enum").and_then(Value::as_array)
            && !values.contains(default)
        {
            self.error(
                path,
                format!("default {default} is not one of the enum values"),
            );
        }
    }

    /// `x-kubernetes-list-type: map` needs its keys, on object items.
    fn check_list_type(&mut self, node: &Map<String, Value>, path: &str) {
        match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
            None => {}
            Some("atomic" | "set") => {}
            Some("map") => {
                let keys: Vec<&str> = node
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                if keys.is_empty() {
                    self.error(path, "list-type map without x-kubernetes-list-map-keys");
                }
                let item_properties = node
                    .get("items")
                    .and_then(|items| items.get("properties"))
                    .and_then(Value::as_object);
                for key in keys {
                    if item_properties.is_none_or(|p| !p.contains_key(key)) {
                        self.error(
                            path,
                            format!("list map key `{key}` is not an item property"),
                        );
                    }
                }
            }
            Some(other) => self.error(path, format!("unknown x-kubernetes-list-type `{other}`")),
        }
    }

    /// `anyOf`/`oneOf`/`allOf`/`not` may only add value validations to the
    /// structure declared outside them.
    fn check_junctors(&mut self, node: &Map<String, Value>, path: &str, int_or_string: bool) {
        for junctor in ["anyOf", "oneOf", "allOf", "not"] {
            let Some(value) = node.get(junctor) else {
                continue;
            };
            // The one exception Kubernetes makes: an int-or-string node may
            // spell out its two types.
            if junctor == "anyOf" && int_or_string && is_int_or_string_any_of(value) {
                continue;
            }
            let branches: Vec<&Value> = match value {
                Value::Array(branches) if junctor != "not" => branches.iter().collect(),
                Value::Object(_) if junctor == "not" => vec![value],
                _ => {
                    self.error(path, format!("malformed `{junctor}`"));
                    continue;
                }
            };
            for branch in branches {
                self.check_value_validation(branch, node, &format!("{path}/{junctor}"));
            }
        }
    }

    /// A junctor branch, against the structural node it refines.
    fn check_value_validation(
        &mut self,
        branch: &Value,
        structural: &Map<String, Value>,
        path: &str,
    ) {
        let Some(branch) = branch.as_object() else {
            return self.error(path, "a junctor branch must be a schema object");
        };
        for key in branch.keys() {
            if FORBIDDEN_IN_JUNCTORS.contains(&key.as_str()) {
                self.error(path, format!("`{key}` inside a logical junctor"));
            } else if !ALLOWED_KEYS.contains(&key.as_str()) {
                self.error(
                    path,
                    format!("`{key}` is not allowed in a structural schema"),
                );
            }
        }
        if let Some(properties) = branch.get("properties").and_then(Value::as_object) {
            let outer = structural.get("properties").and_then(Value::as_object);
            for (name, child) in properties {
                match outer
                    .and_then(|outer| outer.get(name))
                    .and_then(Value::as_object)
                {
                    Some(outer_child) => {
                        self.check_value_validation(child, outer_child, &format!("{path}.{name}"))
                    }
                    None => self.error(
                        path,
                        format!("property `{name}` is not declared outside the junctor"),
                    ),
                }
            }
        }
        if let Some(items) = branch.get("items") {
            match structural.get("items").and_then(Value::as_object) {
                Some(outer_items) => {
                    self.check_value_validation(items, outer_items, &format!("{path}[]"))
                }
                None => self.error(path, "`items` is not declared outside the junctor"),
            }
        }
        for junctor in ["anyOf", "oneOf", "allOf"] {
            for nested in branch
                .get(junctor)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.check_value_validation(nested, structural, &format!("{path}/{junctor}"));
            }
        }
        if let Some(not) = branch.get("not") {
            self.check_value_validation(not, structural, &format!("{path}/not"));
        }
    }
}

fn flag(node: &Map<String, Value>, key: &str) -> bool {
    node.get(key).and_then(Value::as_bool) == Some(true)
}

fn is_int_or_string_any_of(value: &Value) -> bool {
    let types: Vec<Option<&str>> = value
        .as_array()
        .into_iter()
        .flatten()
        .map(|branch| branch.get("type").and_then(Value::as_str))
        .collect();
    types == [Some("integer"), Some("string")]
}

/// Whether a JSON value (an enum value or a default) has the node's type.
fn value_fits(value: &Value, type_: Option<&str>, int_or_string: bool) -> bool {
    if int_or_string {
        return value.is_string() || value.is_i64() || value.is_u64();
    }
    match type_ {
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        _ => true,
    }
}

fn check(schema: Value) -> Vec<String> {
    let mut checker = Checker::new(PRESERVE_UNKNOWN_FIELDS_ALLOWED);
    checker.check_root(&schema);
    checker.errors
}

#[test]
fn every_crd_schema_is_structural() {
    let mut failures = Vec::new();
    for crd in crd::all() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        assert_eq!(crd.spec.versions.len(), 1, "{name}: one version");
        let schema = crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|validation| validation.open_api_v3_schema.as_ref())
            .unwrap_or_else(|| panic!("{name} has no schema"));
        let schema = serde_json::to_value(schema).unwrap();
        failures.extend(check(schema).into_iter().map(|e| format!("{name} {e}")));
    }
    assert!(
        failures.is_empty(),
        "{} structural schema violations:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// The checker's own tests: each feeds one broken construct and expects the
// rule to fire at the right path.

fn root_with_spec(spec_properties: Value) -> Value {
    serde_json::json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": spec_properties}}
    })
}

fn assert_flags(schema: Value, path: &str, fragment: &str) {
    let errors = check(schema);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("{path}: ")) && e.contains(fragment)),
        "expected an error at {path} containing {fragment:?}, got {errors:#?}"
    );
}

#[test]
fn a_valid_schema_passes() {
    let schema = root_with_spec(serde_json::json!({
        "memory": {"x-kubernetes-int-or-string": true, "nullable": true},
        "joinType": {"type": "string", "enum": ["inner", "outer"], "default": "inner"},
        "weights": {"type": "object", "additionalProperties": {"type": "integer", "format": "int32"}},
        "steps": {"type": "array", "items": {"type": "object", "required": ["name"],
            "properties": {"name": {"type": "string"}}}},
        "either": {"type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "oneOf": [{"required": ["a"]}, {"required": ["b"]}]}
    }));
    assert_eq!(check(schema), Vec::<String>::new());
}

#[test]
fn flags_a_node_without_type() {
    let schema = root_with_spec(serde_json::json!({"replicas": {"description": "no type"}}));
    assert_flags(schema, ".spec.replicas", "no `type`");
}

#[test]
fn flags_a_type_list() {
    let schema = root_with_spec(serde_json::json!({"replicas": {"type": ["integer", "null"]}}));
    assert_flags(schema, ".spec.replicas", "`type` must be one of");
}

#[test]
fn flags_refs_and_definitions() {
    let mut schema = root_with_spec(serde_json::json!({
        "podSpec": {"$ref": "#/definitions/PodSpec"}
    }));
    schema["definitions"] = serde_json::json!({"PodSpec": {"type": "object"}});
    assert_flags(schema.clone(), ".spec.podSpec", "`$ref` is not allowed");
    assert_flags(schema, "<root>", "`definitions` is not allowed");
}

#[test]
fn flags_properties_with_additional_properties() {
    let schema = root_with_spec(serde_json::json!({"labels": {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "additionalProperties": {"type": "string"}
    }}));
    assert_flags(schema, ".spec.labels", "both set");
}

#[test]
fn flags_types_and_descriptions_inside_junctors() {
    // What schemars produces for `Option<Enum>` before kube's rewrite.
    let schema = root_with_spec(serde_json::json!({"joinType": {
        "type": "string",
        "anyOf": [
            {"type": "string", "enum": ["inner", "outer"], "description": "How to join"},
            {"type": "null"}
        ]
    }}));
    assert_flags(
        schema.clone(),
        ".spec.joinType/anyOf",
        "`type` inside a logical junctor",
    );
    assert_flags(
        schema,
        ".spec.joinType/anyOf",
        "`description` inside a logical junctor",
    );
}

#[test]
fn flags_junctor_properties_missing_outside() {
    let schema = root_with_spec(serde_json::json!({"explainer": {
        "type": "object",
        "properties": {"modelRef": {"type": "string"}},
        "oneOf": [{"properties": {"pipelineRef": {"minLength": 1}}}]
    }}));
    assert_flags(
        schema,
        ".spec.explainer/oneOf",
        "`pipelineRef` is not declared outside",
    );
}

#[test]
fn allows_the_int_or_string_any_of() {
    let schema = root_with_spec(serde_json::json!({"memory": {
        "x-kubernetes-int-or-string": true,
        "anyOf": [{"type": "integer"}, {"type": "string"}]
    }}));
    assert_eq!(check(schema), Vec::<String>::new());
}

#[test]
fn flags_preserve_unknown_fields_outside_the_allowed_paths() {
    let schema = root_with_spec(serde_json::json!({"config": {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    }}));
    assert_flags(
        schema.clone(),
        ".spec.config",
        "preserve-unknown-fields outside",
    );
    let mut checker = Checker::new(&[".spec.config"]);
    checker.check_root(&schema);
    assert_eq!(checker.errors, Vec::<String>::new());
}

#[test]
fn flags_unknown_formats() {
    let schema = root_with_spec(serde_json::json!({"weight": {
        "type": "integer", "format": "uint32", "minimum": 0.0
    }}));
    assert_flags(schema, ".spec.weight", "format `uint32` is unknown");
}

#[test]
fn flags_defaults_of_the_wrong_type() {
    let schema = root_with_spec(serde_json::json!({
        "replicas": {"type": "integer", "default": "1"},
        "joinType": {"type": "string", "enum": ["inner", "outer"], "default": "sideways"},
        "server": {"type": "string", "default": null}
    }));
    assert_flags(schema.clone(), ".spec.replicas", "does not fit type");
    assert_flags(
        schema.clone(),
        ".spec.joinType",
        "not one of the enum values",
    );
    assert_flags(schema, ".spec.server", "not nullable");
}

#[test]
fn flags_required_fields_that_are_not_properties() {
    let mut schema = root_with_spec(serde_json::json!({"name": {"type": "string"}}));
    schema["properties"]["spec"]["required"] = serde_json::json!(["storageUri"]);
    assert_flags(schema, ".spec", "`storageUri` is not a property");
}

#[test]
fn flags_arrays_without_items() {
    let schema = root_with_spec(serde_json::json!({"steps": {"type": "array"}}));
    assert_flags(schema, ".spec.steps", "without `items`");
}

#[test]
fn flags_metadata_beyond_name_and_generate_name() {
    let mut schema = root_with_spec(serde_json::json!({}));
    schema["properties"]["metadata"] = serde_json::json!({
        "type": "object",
        "properties": {"name": {"type": "string"}, "labels": {"type": "object"}}
    });
    assert_flags(schema, ".metadata", "not `labels`");
}

#[test]
fn flags_list_map_without_keys() {
    let schema = root_with_spec(serde_json::json!({"ports": {
        "type": "array",
        "x-kubernetes-list-type": "map",
        "items": {"type": "object", "properties": {"name": {"type": "string"}}}
    }}));
    assert_flags(schema, ".spec.ports", "without x-kubernetes-list-map-keys");
}
