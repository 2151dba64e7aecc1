//! Field paths and field sets, as server-side apply tracks ownership
//! (structured-merge-diff's `fieldpath`): which fields an object (or an
//! applied configuration) sets, the value at a path, removing a path, and
//! the `fieldsV1` encoding of `metadata.managedFields`.
//!
//! A set holds leaf paths (scalars, atomic lists and maps, empty maps)
//! and, for lists merged by key or kept as sets, one path per item
//! (`k:{"name":"app"}`, `v:"x"`) beside the paths of the item's fields.
//! Which lists are merged by key, and by which keys, comes from a small
//! table of the built-in kinds the operator writes (`list_type`), not
//! from an OpenAPI schema; custom resources have atomic lists, as a CRD
//! without `x-kubernetes-list-type` does, except the associative lists of
//! `metadata`.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::catalog::ResourceType;

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Elem {
    /// `f:name`: a field of a map.
    Field(String),
    /// `k:{"name":"app"}`: the item of a list merged by key; the canonical
    /// JSON of its key fields (sorted by name).
    Key(String),
    /// `v:"x"`: the item of a set (a list of scalars); its JSON.
    Value(String),
}

impl Elem {
    fn field(name: &str) -> Self {
        Elem::Field(name.to_string())
    }

    /// The `fieldsV1` key of this step.
    fn encode(&self) -> String {
        match self {
            Elem::Field(name) => format!("f:{name}"),
            Elem::Key(key) => format!("k:{key}"),
            Elem::Value(value) => format!("v:{value}"),
        }
    }

    fn decode(key: &str) -> Option<Self> {
        let (kind, rest) = key.split_at_checked(2)?;
        match kind {
            "f:" => Some(Elem::Field(rest.to_string())),
            "k:" => Some(Elem::Key(rest.to_string())),
            "v:" => Some(Elem::Value(rest.to_string())),
            _ => None,
        }
    }

    fn is_item(&self) -> bool {
        matches!(self, Elem::Key(_) | Elem::Value(_))
    }
}

pub(crate) type Path = Vec<Elem>;

/// A set of paths, ordered so that a path's descendants follow it.
pub(crate) type FieldSet = BTreeSet<Path>;

/// Which part of an object a write owns: the main resource (everything
/// but `status` for kinds with a status subresource) or `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    Main,
    Status,
}

impl Scope {
    /// Whether a top-level field belongs to this scope.
    pub(crate) fn tracks(self, rt: &ResourceType, field: &str) -> bool {
        match (self, field) {
            (_, "apiVersion" | "kind") => false,
            (Scope::Status, "status") => true,
            (Scope::Status, _) => false,
            (Scope::Main, "status") => !rt.status,
            (Scope::Main, _) => true,
        }
    }
}

/// Metadata the server owns: never part of a field set.
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "generateName",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Key fields of a list merged by key, with the default a missing key
/// field takes (`protocol` defaults to TCP).
type Keys = &'static [(&'static str, Option<&'static str>)];

const BY_NAME: Keys = &[("name", None)];
const BY_UID: Keys = &[("uid", None)];
const BY_TYPE: Keys = &[("type", None)];
const BY_MOUNT_PATH: Keys = &[("mountPath", None)];
const BY_DEVICE_PATH: Keys = &[("devicePath", None)];
const BY_IP: Keys = &[("ip", None)];
const BY_CONTAINER_PORT: Keys = &[("containerPort", None), ("protocol", Some("TCP"))];
const BY_SERVICE_PORT: Keys = &[("port", None), ("protocol", Some("TCP"))];
const BY_TOPOLOGY: Keys = &[("topologyKey", None), ("whenUnsatisfiable", None)];

/// How a list is merged and owned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListType {
    /// Replaced and owned as a whole.
    Atomic,
    /// Items merged and owned one by one, identified by these fields.
    Map(Keys),
    /// Scalars merged and owned one by one.
    Set,
}

fn field_at(path: &[Elem], from_end: usize) -> Option<&str> {
    let index = path.len().checked_sub(from_end + 1)?;
    match &path[index] {
        Elem::Field(name) => Some(name),
        _ => None,
    }
}

fn is_container_list(name: &str) -> bool {
    matches!(
        name,
        "containers" | "initContainers" | "ephemeralContainers"
    )
}

/// The type of the list at `path`, from the Kubernetes API's list types
/// for the fields the operator's kinds use.
pub(crate) fn list_type(rt: &ResourceType, path: &[Elem]) -> ListType {
    if path.len() == 2 && field_at(path, 1) == Some("metadata") {
        return match field_at(path, 0) {
            Some("ownerReferences") => ListType::Map(BY_UID),
            Some("finalizers") => ListType::Set,
            _ => ListType::Atomic,
        };
    }
    if rt.custom {
        return ListType::Atomic;
    }
    let Some(last) = field_at(path, 0) else {
        return ListType::Atomic;
    };
    // The list is a field of an item of a containers list.
    let in_container = path.len() >= 3
        && path[path.len() - 2].is_item()
        && field_at(path, 2).is_some_and(is_container_list);
    match last {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims" => ListType::Map(BY_NAME),
        "env" if in_container => ListType::Map(BY_NAME),
        "ports" if in_container => ListType::Map(BY_CONTAINER_PORT),
        "ports" if path.len() == 2 && rt.kind == "Service" && rt.group.is_empty() => {
            ListType::Map(BY_SERVICE_PORT)
        }
        "volumeMounts" => ListType::Map(BY_MOUNT_PATH),
        "volumeDevices" => ListType::Map(BY_DEVICE_PATH),
        "hostAliases" => ListType::Map(BY_IP),
        "topologySpreadConstraints" => ListType::Map(BY_TOPOLOGY),
        "conditions" if path.len() == 2 && field_at(path, 1) == Some("status") => {
            ListType::Map(BY_TYPE)
        }
        _ => ListType::Atomic,
    }
}

/// Maps replaced and owned as a whole: label selectors
/// (`+structType=atomic`), a Service's selector and a pod's node selector
/// (`+mapType=atomic`).
pub(crate) fn is_atomic_map(rt: &ResourceType, path: &[Elem]) -> bool {
    !rt.custom && matches!(field_at(path, 0), Some("selector" | "nodeSelector"))
}

fn json(value: &Value) -> String {
    // Serializing a `Value` cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// The `k:` key of `item` in a list merged by `keys`; `None` when a key
/// field without default is missing.
fn item_key(keys: Keys, item: &Value) -> Option<String> {
    let fields = item.as_object()?;
    let mut sorted: Vec<(&str, Option<&str>)> = keys.to_vec();
    sorted.sort_by_key(|(name, _)| *name);
    let mut parts = Vec::with_capacity(sorted.len());
    for (name, default) in sorted {
        let value = match fields.get(name) {
            Some(v) if !v.is_null() => v.clone(),
            _ => Value::String(default?.to_string()),
        };
        parts.push(format!(
            "{}:{}",
            json(&Value::String(name.into())),
            json(&value)
        ));
    }
    Some(format!("{{{}}}", parts.join(",")))
}

/// The path step of each item of the list at `path`, or `None` when the
/// list is atomic (by type, or because an item cannot be identified or
/// two items share an identity).
pub(crate) fn item_elems(rt: &ResourceType, path: &[Elem], items: &[Value]) -> Option<Vec<Elem>> {
    let elems: Option<Vec<Elem>> = match list_type(rt, path) {
        ListType::Atomic => None,
        ListType::Map(keys) => items
            .iter()
            .map(|item| item_key(keys, item).map(Elem::Key))
            .collect(),
        ListType::Set => items
            .iter()
            .map(|item| match item {
                Value::Object(_) | Value::Array(_) => None,
                scalar => Some(Elem::Value(json(scalar))),
            })
            .collect(),
    };
    let elems = elems?;
    let unique: BTreeSet<&Elem> = elems.iter().collect();
    (unique.len() == elems.len()).then_some(elems)
}

/// The paths `obj` sets within `scope`.
pub(crate) fn fields_of(rt: &ResourceType, obj: &Value, scope: Scope) -> FieldSet {
    let mut set = FieldSet::new();
    let Some(map) = obj.as_object() else {
        return set;
    };
    for (key, value) in map {
        if !scope.tracks(rt, key) {
            continue;
        }
        let path = vec![Elem::field(key)];
        match (key.as_str(), value) {
            ("metadata", Value::Object(meta)) => {
                for (field, value) in meta {
                    if !SERVER_METADATA.contains(&field.as_str()) && !value.is_null() {
                        walk(
                            rt,
                            value,
                            vec![Elem::field("metadata"), Elem::field(field)],
                            &mut set,
                        );
                    }
                }
            }
            ("metadata", _) => {}
            _ => walk(rt, value, path, &mut set),
        }
    }
    set
}

fn walk(rt: &ResourceType, value: &Value, path: Path, set: &mut FieldSet) {
    match value {
        Value::Object(map) if !map.is_empty() && !is_atomic_map(rt, &path) => {
            for (key, child) in map {
                let mut child_path = path.clone();
                child_path.push(Elem::field(key));
                walk(rt, child, child_path, set);
            }
        }
        Value::Array(items) if !items.is_empty() => match item_elems(rt, &path, items) {
            Some(elems) => {
                for (elem, item) in elems.into_iter().zip(items) {
                    let mut item_path = path.clone();
                    item_path.push(elem);
                    if let Value::Object(fields) = item {
                        for (key, child) in fields {
                            let mut child_path = item_path.clone();
                            child_path.push(Elem::field(key));
                            walk(rt, child, child_path, set);
                        }
                    }
                    set.insert(item_path);
                }
            }
            None => {
                set.insert(path);
            }
        },
        _ => {
            set.insert(path);
        }
    }
}

/// The index of the item `elem` names in the list at `list_path`.
fn find_item(rt: &ResourceType, list_path: &[Elem], items: &[Value], elem: &Elem) -> Option<usize> {
    match (list_type(rt, list_path), elem) {
        (ListType::Map(keys), Elem::Key(key)) => items
            .iter()
            .position(|item| item_key(keys, item).as_deref() == Some(key.as_str())),
        (ListType::Set, Elem::Value(value)) => items.iter().position(|item| json(item) == *value),
        _ => None,
    }
}

/// The value at `path`, if present.
pub(crate) fn value_at<'v>(rt: &ResourceType, obj: &'v Value, path: &[Elem]) -> Option<&'v Value> {
    let mut current = obj;
    for (i, elem) in path.iter().enumerate() {
        current = match elem {
            Elem::Field(name) => current.as_object()?.get(name)?,
            item => {
                let items = current.as_array()?;
                &items[find_item(rt, &path[..i], items, item)?]
            }
        };
    }
    Some(current)
}

/// Whether the field at `path` differs between `old` and `new`: for an
/// item, whether it exists in one and not the other; for a field, whether
/// its value differs.
pub(crate) fn differs(rt: &ResourceType, old: Option<&Value>, new: &Value, path: &[Elem]) -> bool {
    let before = old.and_then(|o| value_at(rt, o, path));
    let after = value_at(rt, new, path);
    if path.last().is_some_and(Elem::is_item) {
        before.is_some() != after.is_some()
    } else {
        before != after
    }
}

/// Whether `set` holds `path` or a path below it.
pub(crate) fn covers(set: &FieldSet, path: &[Elem]) -> bool {
    set.range::<[Elem], _>((std::ops::Bound::Included(path), std::ops::Bound::Unbounded))
        .next()
        .is_some_and(|p| p.starts_with(path))
}

/// Removes the field or item at `path`; then removes the maps and lists
/// that removal left empty (never `metadata`), unless `keep` claims them.
/// Returns whether something was removed.
pub(crate) fn remove_at(
    rt: &ResourceType,
    obj: &mut Value,
    path: &[Elem],
    keep: &dyn Fn(&[Elem]) -> bool,
) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return false;
    };
    let removed = {
        let Some(container) = value_at_mut(rt, obj, parent) else {
            return false;
        };
        match (last, container) {
            (Elem::Field(name), Value::Object(map)) => map.remove(name).is_some(),
            (item, Value::Array(items)) => match find_item(rt, parent, items, item) {
                Some(index) => {
                    items.remove(index);
                    true
                }
                None => false,
            },
            _ => false,
        }
    };
    let is_metadata = parent.len() == 1 && parent[0] == Elem::field("metadata");
    if removed && !parent.is_empty() && !is_metadata && !keep(parent) {
        let empty = value_at(rt, obj, parent).is_some_and(|v| match v {
            Value::Object(map) => map.is_empty(),
            Value::Array(items) => items.is_empty(),
            _ => false,
        });
        if empty {
            remove_at(rt, obj, parent, keep);
        }
    }
    removed
}

fn value_at_mut<'v>(rt: &ResourceType, obj: &'v mut Value, path: &[Elem]) -> Option<&'v mut Value> {
    let mut current = obj;
    for (i, elem) in path.iter().enumerate() {
        current = match elem {
            Elem::Field(name) => current.as_object_mut()?.get_mut(name)?,
            item => {
                let index = find_item(rt, &path[..i], current.as_array()?, item)?;
                current.as_array_mut()?.get_mut(index)?
            }
        };
    }
    Some(current)
}

/// The `fieldsV1` object of a set: one nested key per step, `{}` for a
/// leaf, and `".": {}` for an item that also has fields in the set.
pub(crate) fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut node = &mut root;
        for elem in path {
            let child = node
                .entry(elem.encode())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            let Value::Object(child) = child else {
                unreachable!("made an object above")
            };
            node = child;
        }
        node.insert(".".into(), Value::Object(Map::new()));
    }
    compact_members(&mut root);
    Value::Object(root)
}

/// `{".": {}}` alone becomes `{}`.
fn compact_members(node: &mut Map<String, Value>) {
    for child in node.values_mut() {
        if let Value::Object(map) = child {
            compact_members(map);
            if map.len() == 1 && map.contains_key(".") {
                map.clear();
            }
        }
    }
}

/// The set a `fieldsV1` object describes; steps it cannot read are
/// skipped.
pub(crate) fn from_fields_v1(value: &Value) -> FieldSet {
    let mut set = FieldSet::new();
    if let Value::Object(map) = value {
        read_node(map, &mut Vec::new(), &mut set);
    }
    set
}

fn read_node(node: &Map<String, Value>, path: &mut Path, set: &mut FieldSet) {
    for (key, child) in node {
        if key == "." {
            if !path.is_empty() {
                set.insert(path.clone());
            }
            continue;
        }
        let Some(elem) = Elem::decode(key) else {
            continue;
        };
        path.push(elem);
        match child.as_object() {
            Some(map) if !map.is_empty() => read_node(map, path, set),
            _ => {
                set.insert(path.clone());
            }
        }
        path.pop();
    }
}

/// `.spec.template.spec.containers[name="app"].image`, as conflict
/// messages name a field.
pub(crate) fn render(path: &[Elem]) -> String {
    let mut out = String::new();
    for elem in path {
        match elem {
            Elem::Field(name) => {
                out.push('.');
                out.push_str(name);
            }
            Elem::Key(key) => {
                let fields: Map<String, Value> = serde_json::from_str(key).unwrap_or_default();
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", json(v)))
                    .collect();
                out.push_str(&format!("[{}]", parts.join(",")));
            }
            Elem::Value(value) => out.push_str(&format!("[={value}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use serde_json::json;

    fn f(name: &str) -> Elem {
        Elem::field(name)
    }

    fn with_type<T>(plural: &str, test: impl FnOnce(&ResourceType) -> T) -> T {
        let catalog = Catalog::new(&[]);
        let id = catalog
            .iter()
            .find(|(_, t)| t.plural == plural)
            .map(|(id, _)| id)
            .expect("served");
        test(catalog.get(id))
    }

    #[test]
    fn fields_of_a_statefulset() {
        with_type("statefulsets", |rt| {
            let sts = json!({
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": "s", "namespace": "ns", "uid": "u", "labels": {"app": "s"}},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": "s"}},
                    "template": {"spec": {"containers": [{
                        "name": "agent",
                        "image": "a:1",
                        "ports": [{"containerPort": 9000, "name": "http"}],
                        "args": ["x", "y"],
                    }]}},
                },
                "status": {"replicas": 1},
            });
            let set = fields_of(rt, &sts, Scope::Main);
            let v1 = to_fields_v1(&set);
            assert_eq!(
                v1,
                json!({
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {
                        "f:replicas": {},
                        "f:selector": {},
                        "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"agent\"}": {
                            ".": {},
                            "f:name": {},
                            "f:image": {},
                            "f:args": {},
                            "f:ports": {"k:{\"containerPort\":9000,\"protocol\":\"TCP\"}": {
                                ".": {},
                                "f:containerPort": {},
                                "f:name": {},
                            }},
                        }}}},
                    },
                })
            );
            assert_eq!(from_fields_v1(&v1), set);
            let image = vec![
                f("spec"),
                f("template"),
                f("spec"),
                f("containers"),
                Elem::Key(r#"{"name":"agent"}"#.into()),
                f("image"),
            ];
            assert_eq!(value_at(rt, &sts, &image), Some(&json!("a:1")));
            assert_eq!(
                render(&image),
                r#".spec.template.spec.containers[name="agent"].image"#
            );
            let status = fields_of(rt, &sts, Scope::Status);
            assert_eq!(status.len(), 1);
        });
    }

    #[test]
    fn sets_and_removal() {
        with_type("configmaps", |rt| {
            let mut cm = json!({"metadata": {"finalizers": ["a", "b"], "annotations": {"x": "1"}}, "data": {"k": "v"}});
            let set = fields_of(rt, &cm, Scope::Main);
            let finalizer_a = vec![f("metadata"), f("finalizers"), Elem::Value("\"a\"".into())];
            assert!(set.contains(&finalizer_a));
            assert!(covers(&set, &[f("metadata")]));
            assert!(remove_at(rt, &mut cm, &finalizer_a, &|_| false));
            assert_eq!(cm["metadata"]["finalizers"], json!(["b"]));
            let x = vec![f("metadata"), f("annotations"), f("x")];
            assert!(remove_at(rt, &mut cm, &x, &|_| false));
            assert!(
                cm["metadata"].get("annotations").is_none(),
                "emptied map removed"
            );
            assert!(!remove_at(rt, &mut cm, &x, &|_| false));
        });
    }
}
