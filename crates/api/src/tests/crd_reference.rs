//! The seven CRDs say what the docs/seldon-compat.md#crds says: names and
//! short names, scope, the one version, status and scale subresources,
//! printer columns, required fields, defaults, and integer formats. A
//! manifest written for Seldon's CRDs must behave the same against ours.

use std::sync::LazyLock;

use crate::crd;
use serde_json::Value;

/// `(kind, plural, singular, short names)`.
const NAMES: &[(&str, &str, &str, &[&str])] = &[
    ("Model", "models", "model", &["mlm"]),
    ("Pipeline", "pipelines", "pipeline", &["mlp"]),
    ("Experiment", "experiments", "experiment", &["mlx"]),
    ("Server", "servers", "server", &["mls"]),
    ("ServerConfig", "serverconfigs", "serverconfig", &["mlc"]),
    ("SeldonRuntime", "seldonruntimes", "seldonruntime", &[]),
    ("SeldonConfig", "seldonconfigs", "seldonconfig", &[]),
];

/// Printer columns per kind: `(name, type, jsonPath, priority)`; `Age` last.
fn printer_columns(kind: &str) -> Vec<(&'static str, &'static str, &'static str, i32)> {
    const AGE: (&str, &str, &str, i32) = ("Age", "date", ".metadata.creationTimestamp", 0);
    const MESSAGE: (&str, &str, &str, i32) = (
        "Message",
        "string",
        ".status.conditions[?(@.type=='Ready')].message",
        0,
    );
    match kind {
        "Model" => vec![
            (
                "Ready",
                "string",
                ".status.conditions[?(@.type=='ModelReady')].status",
                0,
            ),
            ("Desired Replicas", "integer", ".spec.replicas", 0),
            (
                "Available Replicas",
                "integer",
                ".status.availableReplicas",
                0,
            ),
            ("ModelGw Ready", "string", ".status.modelgwReady", 0),
            AGE,
        ],
        "Pipeline" => vec![
            (
                "Pipeline ready",
                "string",
                ".status.conditions[?(@.type=='Ready')].status",
                0,
            ),
            (
                "Models ready",
                "string",
                ".status.conditions[?(@.type=='ModelsReady')].status",
                1,
            ),
            (
                "PipelineGw ready",
                "string",
                ".status.conditions[?(@.type=='PipelineGwReady')].status",
                1,
            ),
            (
                "Dataflow ready",
                "string",
                ".status.conditions[?(@.type=='PipelineReady')].status",
                1,
            ),
            MESSAGE,
            AGE,
        ],
        "Experiment" => vec![
            (
                "Experiment ready",
                "string",
                ".status.conditions[?(@.type=='ExperimentReady')].status",
                0,
            ),
            (
                "Candidates ready",
                "string",
                ".status.conditions[?(@.type=='CandidatesReady')].status",
                1,
            ),
            (
                "Mirror ready",
                "string",
                ".status.conditions[?(@.type=='MirrorReady')].status",
                1,
            ),
            MESSAGE,
            AGE,
        ],
        "Server" => vec![
            (
                "Ready",
                "string",
                ".status.conditions[?(@.type=='Ready')].status",
                0,
            ),
            ("Replicas", "integer", ".status.replicas", 0),
            ("Loaded Models", "integer", ".status.loadedModels", 0),
            AGE,
        ],
        _ => vec![],
    }
}

/// `(kind, schema path, required fields)` for every object the reference
/// gives required fields (paths use `[]` for array items).
const REQUIRED: &[(&str, &str, &[&str])] = &[
    ("Model", ".spec", &["storageUri"]),
    ("Model", ".spec.parameters[]", &["name", "value"]),
    ("Pipeline", ".spec", &["steps"]),
    ("Pipeline", ".spec.steps[]", &["name"]),
    ("Experiment", ".spec", &["candidates"]),
    ("Experiment", ".spec.candidates[]", &["name", "weight"]),
    ("Experiment", ".spec.mirror", &["name", "percent"]),
    ("Server", ".spec", &["serverConfig"]),
    (
        "Server",
        ".status",
        &["loadedModels", "replicas", "selector"],
    ),
    ("ServerConfig", ".spec", &["podSpec"]),
    (
        "ServerConfig",
        ".spec.volumeClaimTemplates[]",
        &["name", "spec"],
    ),
    ("SeldonRuntime", ".spec", &["seldonConfig"]),
    ("SeldonRuntime", ".spec.overrides[]", &["name"]),
    ("SeldonConfig", ".spec", &[]),
    ("SeldonConfig", ".spec.components[]", &["name"]),
    (
        "SeldonConfig",
        ".spec.components[].volumeClaimTemplates[]",
        &["name", "spec"],
    ),
];

/// `(kind, schema path, type, format)` of the numeric and int-or-string
/// fields; `"int-or-string"` marks `x-kubernetes-int-or-string` nodes.
const NUMBERS: &[(&str, &str, &str, &str)] = &[
    ("Model", ".spec.artifactVersion", "integer", "int32"),
    ("Model", ".spec.replicas", "integer", "int32"),
    ("Model", ".spec.minReplicas", "integer", "int32"),
    ("Model", ".spec.maxReplicas", "integer", "int32"),
    ("Model", ".spec.memory", "int-or-string", ""),
    ("Model", ".status.replicas", "integer", "int32"),
    ("Model", ".status.availableReplicas", "integer", "int32"),
    ("Model", ".status.observedGeneration", "integer", "int64"),
    ("Pipeline", ".spec.input.joinWindowMs", "integer", "int32"),
    ("Pipeline", ".spec.steps[].joinWindowMs", "integer", "int32"),
    ("Pipeline", ".spec.steps[].batch.size", "integer", "int32"),
    (
        "Pipeline",
        ".spec.steps[].batch.windowMs",
        "integer",
        "int32",
    ),
    ("Pipeline", ".spec.output.joinWindowMs", "integer", "int32"),
    ("Pipeline", ".spec.maxStepRevisits", "integer", "int32"),
    (
        "Experiment",
        ".spec.candidates[].weight",
        "integer",
        "int32",
    ),
    ("Experiment", ".spec.mirror.percent", "integer", "int32"),
    ("Server", ".spec.replicas", "integer", "int32"),
    ("Server", ".spec.minReplicas", "integer", "int32"),
    ("Server", ".spec.maxReplicas", "integer", "int32"),
    ("Server", ".status.loadedModels", "integer", "int32"),
    ("Server", ".status.replicas", "integer", "int32"),
    (
        "SeldonRuntime",
        ".spec.overrides[].replicas",
        "integer",
        "int32",
    ),
    (
        "SeldonRuntime",
        ".spec.config.kafkaConfig.consumer[*]",
        "int-or-string",
        "",
    ),
    (
        "SeldonConfig",
        ".spec.config.kafkaConfig.topics[*]",
        "int-or-string",
        "",
    ),
    (
        "SeldonConfig",
        ".spec.config.scalingConfig.servers.scaleDownPackingPercentage",
        "integer",
        "int32",
    ),
    (
        "SeldonConfig",
        ".spec.config.scalingConfig.pipelines.maxShardCountMultiplier",
        "integer",
        "int32",
    ),
    (
        "SeldonConfig",
        ".spec.components[].replicas",
        "integer",
        "int32",
    ),
];

/// Every default in every CRD: only the join types, all `inner`, and not
/// `steps[].triggersJoinType`, which Seldon leaves without a default.
const DEFAULTS: &[(&str, &str, &str)] = &[
    ("Pipeline", ".spec.input.joinType", "inner"),
    ("Pipeline", ".spec.input.triggersJoinType", "inner"),
    ("Pipeline", ".spec.output.stepsJoin", "inner"),
    ("Pipeline", ".spec.steps[].inputsJoinType", "inner"),
];

/// Every CRD as JSON, generated once: building the pod spec schemas is slow
/// in debug builds.
static CRDS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    crd::all()
        .into_iter()
        .map(|crd| serde_json::to_value(crd).unwrap())
        .collect()
});

/// The CRD of `kind` as JSON.
fn crd_json(kind: &str) -> &'static Value {
    CRDS.iter()
        .find(|crd| crd["spec"]["names"]["kind"] == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"))
}

fn schema(kind: &str) -> &'static Value {
    &crd_json(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
}

/// The schema node at `path` (`.a.b[].c`, `[*]` for a map value); printer
/// column filters `[?(...)]` are read as "an item of the array".
fn node_at<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut path = path.to_owned();
    while let Some(start) = path.find("[?(") {
        let end = path[start..].find(")]").map(|i| start + i + 2)?;
        path.replace_range(start..end, "[]");
    }
    let mut node = root;
    for segment in path.split('.').skip(1) {
        let (name, suffix) = match segment.find('[') {
            Some(i) => segment.split_at(i),
            None => (segment, ""),
        };
        node = node.get("properties")?.get(name)?;
        let mut rest = suffix;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("[]") {
                node = node.get("items")?;
                rest = after;
            } else if let Some(after) = rest.strip_prefix("[*]") {
                node = node.get("additionalProperties")?;
                rest = after;
            } else {
                return None;
            }
        }
    }
    Some(node)
}

/// Every `(path, default)` in a schema.
fn defaults(node: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    if let Some(default) = node.get("default") {
        out.push((path.to_owned(), default.clone()));
    }
    if let Some(properties) = node.get("properties").and_then(Value::as_object) {
        for (name, child) in properties {
            defaults(child, &format!("{path}.{name}"), out);
        }
    }
    if let Some(items) = node.get("items") {
        defaults(items, &format!("{path}[]"), out);
    }
    if let Some(additional) = node.get("additionalProperties") {
        defaults(additional, &format!("{path}[*]"), out);
    }
}

#[test]
fn names_scope_and_version() {
    let crds = crd::all();
    assert_eq!(crds.len(), NAMES.len());
    for (crd, (kind, plural, singular, short_names)) in crds.iter().zip(NAMES) {
        let names = &crd.spec.names;
        assert_eq!(names.kind, *kind);
        assert_eq!(names.plural, *plural, "{kind}");
        assert_eq!(names.singular.as_deref(), Some(*singular), "{kind}");
        assert_eq!(
            names.list_kind.as_deref(),
            Some(format!("{kind}List").as_str())
        );
        let expected_short: Option<Vec<String>> = (!short_names.is_empty())
            .then(|| short_names.iter().map(|s| (*s).to_owned()).collect());
        assert_eq!(names.short_names, expected_short, "{kind}");
        assert_eq!(
            crd.metadata.name.as_deref(),
            Some(format!("{plural}.mlops.seldon.io").as_str())
        );
        assert_eq!(crd.spec.group, "mlops.seldon.io");
        assert_eq!(crd.spec.scope, "Namespaced", "{kind}");
        assert_eq!(crd.spec.versions.len(), 1, "{kind}");
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        assert!(version.served && version.storage, "{kind}");
    }
}

#[test]
fn every_kind_has_a_description_of_its_own() {
    for (kind, ..) in NAMES {
        let description = schema(kind)["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            description.contains(kind) && !description.contains("Auto-generated"),
            "{kind}: {description:?}"
        );
    }
}

#[test]
fn status_everywhere_and_scale_on_model_and_server() {
    for (kind, ..) in NAMES {
        let crd = crd_json(kind);
        let subresources = &crd["spec"]["versions"][0]["subresources"];
        assert_eq!(subresources["status"], serde_json::json!({}), "{kind}");
        let scale = &subresources["scale"];
        if matches!(*kind, "Model" | "Server") {
            assert_eq!(
                *scale,
                serde_json::json!({
                    "specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.replicas",
                    "labelSelectorPath": ".status.selector"
                }),
                "{kind}"
            );
            let root = schema(kind);
            for (path, type_) in [
                (".spec.replicas", "integer"),
                (".status.replicas", "integer"),
                (".status.selector", "string"),
            ] {
                let node = node_at(root, path).unwrap_or_else(|| panic!("{kind} {path}"));
                assert_eq!(node["type"], type_, "{kind} {path}");
            }
        } else {
            assert!(scale.is_null(), "{kind} must have no scale subresource");
        }
    }
}

#[test]
fn printer_columns_match_the_reference() {
    for (kind, ..) in NAMES {
        let crd = crd_json(kind);
        let columns: Vec<(String, String, String, i32)> =
            crd["spec"]["versions"][0]["additionalPrinterColumns"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|column| {
                    (
                        column["name"].as_str().unwrap().to_owned(),
                        column["type"].as_str().unwrap().to_owned(),
                        column["jsonPath"].as_str().unwrap().to_owned(),
                        column["priority"].as_i64().unwrap_or(0) as i32,
                    )
                })
                .collect();
        let expected: Vec<(String, String, String, i32)> = printer_columns(kind)
            .into_iter()
            .map(|(n, t, p, prio)| (n.to_owned(), t.to_owned(), p.to_owned(), prio))
            .collect();
        assert_eq!(columns, expected, "{kind}");

        // Each column reads a field the schema declares, with the column's type.
        let root = schema(kind);
        for (name, type_, path, _) in &columns {
            if path.starts_with(".metadata.") {
                continue;
            }
            let node = node_at(root, path)
                .unwrap_or_else(|| panic!("{kind} column {name}: {path} is not in the schema"));
            let node_type = node["type"].as_str().unwrap_or_default();
            assert_eq!(node_type, type_, "{kind} column {name}");
        }
    }
}

#[test]
fn required_fields_match_the_reference() {
    for (kind, path, fields) in REQUIRED {
        let root = schema(kind);
        let node = node_at(root, path).unwrap_or_else(|| panic!("{kind} {path}"));
        let mut required: Vec<&str> = node["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        required.sort();
        assert_eq!(required, *fields, "{kind} {path}");
    }
}

#[test]
fn conditions_need_type_and_status() {
    for (kind, ..) in NAMES {
        if matches!(*kind, "ServerConfig" | "SeldonConfig") {
            continue;
        }
        let root = schema(kind);
        let condition = node_at(root, ".status.conditions[]").unwrap();
        assert_eq!(condition["required"], serde_json::json!(["status", "type"]));
    }
}

#[test]
fn numbers_have_seldons_types() {
    for (kind, path, type_, format) in NUMBERS {
        let root = schema(kind);
        let node = node_at(root, path).unwrap_or_else(|| panic!("{kind} {path}"));
        if *type_ == "int-or-string" {
            assert_eq!(node["x-kubernetes-int-or-string"], true, "{kind} {path}");
            assert!(node.get("type").is_none(), "{kind} {path}");
        } else {
            assert_eq!(node["type"], *type_, "{kind} {path}");
            assert_eq!(node["format"], *format, "{kind} {path}");
        }
    }
}

#[test]
fn join_types_are_enums_and_only_they_have_defaults() {
    let mut found = Vec::new();
    for (kind, ..) in NAMES {
        let mut out = Vec::new();
        defaults(schema(kind), "", &mut out);
        found.extend(out.into_iter().map(|(path, v)| (kind.to_string(), path, v)));
    }
    let expected: Vec<(String, String, Value)> = DEFAULTS
        .iter()
        .map(|(kind, path, v)| (kind.to_string(), path.to_string(), Value::from(*v)))
        .collect();
    assert_eq!(found, expected);

    let root = schema("Pipeline");
    for path in [
        ".spec.input.joinType",
        ".spec.input.triggersJoinType",
        ".spec.output.stepsJoin",
        ".spec.steps[].inputsJoinType",
        ".spec.steps[].triggersJoinType",
    ] {
        let node = node_at(root, path).unwrap();
        assert_eq!(node["type"], "string", "{path}");
        assert_eq!(
            node["enum"],
            serde_json::json!(["inner", "outer", "any"]),
            "{path}"
        );
        // Not nullable, as in Seldon: the API server prunes a `null` and
        // applies the default.
        assert!(node.get("nullable").is_none(), "{path}");
        let description = node["description"].as_str().unwrap_or_default();
        assert!(
            description.starts_with("How the"),
            "{path}: {description:?}"
        );
    }
}
