//! Rendered manifests, read: parsing a YAML stream, finding objects,
//! label selection, the (group, resource, verb) grants of roles (`rbac.rs`,
//! `install_checks.rs`) and Seldon's CRDs as `deploy/crds` holds them
//! (`deploy.rs`, `helm.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

/// (API group, resource, verb).
pub(crate) type Grant = (String, String, String);

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The documents of a YAML stream (empty ones dropped).
pub(crate) fn parse(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .unwrap()
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

pub(crate) fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

/// The one object of `kind`.
pub(crate) fn only<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    match of_kind(docs, kind)[..] {
        [one] => one,
        ref all => panic!("{} objects of kind {kind}, expected one", all.len()),
    }
}

pub(crate) fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

pub(crate) fn labels(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

pub(crate) fn selects(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Every (group, resource, verb) the roles of `kinds` (`Role`,
/// `ClusterRole`) in `docs` grant. No wildcards: least privilege names
/// each one.
pub(crate) fn grants(docs: &[Value], kinds: &[&str]) -> BTreeSet<Grant> {
    let mut out = BTreeSet::new();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    for doc in docs
        .iter()
        .filter(|d| kinds.iter().any(|k| d["kind"] == *k))
    {
        for rule in doc["rules"].as_array().into_iter().flatten() {
            for group in strings(&rule["apiGroups"]) {
                for resource in strings(&rule["resources"]) {
                    for verb in strings(&rule["verbs"]) {
                        for name in [&group, &resource, &verb] {
                            assert_ne!(name, "*", "{}: a wildcard grant", doc["metadata"]["name"]);
                        }
                        out.insert((group.clone(), resource.clone(), verb));
                    }
                }
            }
        }
    }
    out
}

/// The grants of `deploy/base/rbac.yaml`, the roles `rbac.rs` checks.
pub(crate) fn base_grants(kinds: &[&str]) -> BTreeSet<Grant> {
    let text = std::fs::read_to_string(root().join("deploy/base/rbac.yaml")).unwrap();
    grants(&parse(&text), kinds)
}

/// The CRDs in `docs` by name, and the CRDs `deploy/crds` holds (generated
/// from crates/api) by name.
pub(crate) fn crds(docs: &[Value]) -> BTreeMap<String, &Value> {
    of_kind(docs, "CustomResourceDefinition")
        .into_iter()
        .map(|c| (c["metadata"]["name"].as_str().unwrap().to_owned(), c))
        .collect()
}

/// Seldon's seven CRDs, under the names and version Seldon's own
/// seldon-core-v2-crds chart gives them, with `spec` as `deploy/crds` has it.
pub(crate) fn check_seldon_crds(docs: &[Value], src: &str) {
    let committed = parse(
        &[
            "models",
            "pipelines",
            "experiments",
            "servers",
            "serverconfigs",
            "seldonruntimes",
            "seldonconfigs",
        ]
        .map(|plural| {
            let path = root().join(format!("deploy/crds/mlops.seldon.io_{plural}.yaml"));
            std::fs::read_to_string(path).unwrap()
        })
        .join("\n---\n"),
    );
    let committed = crds(&committed);
    let rendered = crds(docs);
    assert_eq!(
        rendered.keys().collect::<Vec<_>>(),
        committed.keys().collect::<Vec<_>>(),
        "{src}: CRD names"
    );
    for (name, crd) in rendered {
        let spec = &crd["spec"];
        assert_eq!(spec["group"], "mlops.seldon.io", "{src}: {name}");
        assert_eq!(
            name,
            format!(
                "{}.mlops.seldon.io",
                spec["names"]["plural"].as_str().unwrap()
            )
        );
        let versions: Vec<&str> = spec["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(versions, ["v1alpha1"], "{src}: {name} versions");
        assert!(
            numbers_as_floats(spec) == numbers_as_floats(&committed[&name]["spec"]),
            "{src}: {name} spec differs from deploy/crds"
        );
    }
}

/// `value` with every number a float: YAML writers disagree on `0` and
/// `0.0` (the committed CRDs say `minimum: 0.0`, Helm and kubectl write `0`).
fn numbers_as_floats(value: &Value) -> Value {
    match value {
        Value::Number(n) => Value::from(n.as_f64().unwrap()),
        Value::Array(items) => items.iter().map(numbers_as_floats).collect(),
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| (k.clone(), numbers_as_floats(v)))
            .collect(),
        other => other.clone(),
    }
}
