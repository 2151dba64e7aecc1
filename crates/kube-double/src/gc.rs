//! Garbage collection of dependents, as Kubernetes' garbage collector
//! does with background propagation: once an object is removed from the
//! store (after its finalizers), every object whose
//! `metadata.ownerReferences` names its uid is deleted too, and theirs in
//! turn, each with its own DELETED event (a dependent with finalizers is
//! marked for deletion and waits for them, as any delete does). A
//! dependent that still has another owner that exists only loses the
//! reference. A namespaced owner only has dependents in its namespace; a
//! cluster-scoped one, anywhere. `propagationPolicy: Orphan` removes the
//! references instead of deleting the dependents.
//!
//! Simplified: collection runs at once, inside the request that removed
//! the owner (the response follows it), not later from informers;
//! `Foreground` is treated as `Background` (the owner goes first) and
//! `blockOwnerDeletion` is ignored; an owner reference to a kind the
//! double does not serve counts as an existing owner. An object written
//! with owner references none of which exists is deleted right after the
//! write (the real collector deletes it shortly after).

use std::collections::HashSet;

use serde_json::{Value, json};

use super::catalog::{ResourceId, ResourceType};
use super::object;
use super::patch::PatchKind;
use super::shared::Shared;
use super::store::Key;
use super::writes::{DeletePreconditions, WriteReport, Writer};

/// The field manager of the collector's writes (its patches of
/// `ownerReferences`), as the real one's User-Agent names it.
const GC_MANAGER: &str = "kube-controller-manager";

/// An object removed from the store, as its dependents name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Owner {
    pub uid: String,
    /// `None` for a cluster-scoped owner.
    pub namespace: Option<String>,
}

impl Owner {
    pub(crate) fn of(rt: &ResourceType, obj: &Value) -> Self {
        Self {
            uid: object::uid(obj).to_string(),
            namespace: rt.namespaced.then(|| object::namespace(obj).to_string()),
        }
    }
}

/// `DeleteOptions.propagationPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Propagation {
    #[default]
    Background,
    Foreground,
    Orphan,
}

impl Propagation {
    pub(crate) fn parse(value: &str) -> Option<Self> {
        match value {
            "Background" => Some(Propagation::Background),
            "Foreground" => Some(Propagation::Foreground),
            "Orphan" => Some(Propagation::Orphan),
            _ => None,
        }
    }
}

fn owner_references(obj: &Value) -> &[Value] {
    object::meta(obj)
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn ref_uid(reference: &Value) -> &str {
    reference.get("uid").and_then(Value::as_str).unwrap_or("")
}

/// A dependent found under its collection's lock.
struct Dependent {
    key: Key,
    uid: String,
    references: Vec<Value>,
}

fn dependents(shared: &Shared, id: ResourceId, owner: &Owner) -> Vec<Dependent> {
    let collection = shared.lock(id);
    let candidates: Box<dyn Iterator<Item = &std::sync::Arc<Value>>> = match &owner.namespace {
        Some(ns) => Box::new(collection.in_namespace(ns)),
        None => Box::new(collection.all()),
    };
    candidates
        .filter(|obj| {
            owner_references(obj)
                .iter()
                .any(|r| ref_uid(r) == owner.uid)
        })
        .map(|obj| Dependent {
            key: (
                object::namespace(obj).to_string(),
                object::name(obj).to_string(),
            ),
            uid: object::uid(obj).to_string(),
            references: owner_references(obj).to_vec(),
        })
        .collect()
}

/// Whether the owner `reference` names (from a dependent in `namespace`)
/// exists. Takes and releases its collection's lock.
fn owner_exists(shared: &Shared, reference: &Value, namespace: &str) -> bool {
    let field = |name: &str| reference.get(name).and_then(Value::as_str).unwrap_or("");
    let api_version = field("apiVersion");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let Some((id, rt)) = shared
        .catalog
        .iter()
        .find(|(_, t)| t.group == group && t.version == version && t.kind == field("kind"))
    else {
        return true;
    };
    let ns = if rt.namespaced { namespace } else { "" };
    shared
        .lock(id)
        .get(&(ns.to_string(), field("name").to_string()))
        .is_some_and(|o| object::uid(o) == field("uid"))
}

/// Deletes the objects of `keys` (just written) whose owner references
/// all name owners that do not exist, and their dependents. Call with no
/// lock held.
pub(crate) fn collect_dangling(shared: &Shared, id: ResourceId, rt: &ResourceType, keys: &[Key]) {
    for key in keys {
        let Some(obj) = shared.lock(id).get(key).cloned() else {
            continue;
        };
        let references = owner_references(&obj);
        if references.is_empty() || references.iter().any(|r| owner_exists(shared, r, &key.0)) {
            continue;
        }
        let dangling = Dependent {
            key: key.clone(),
            uid: object::uid(&obj).to_string(),
            references: references.to_vec(),
        };
        let report = release_or_delete(shared, id, rt, &dangling, Vec::new(), false);
        collect(shared, report.removed, Propagation::Background);
    }
}

/// Deletes (or, with `Orphan`, releases) the dependents of `removed`, and
/// then the dependents of what that removed. Call with no lock held.
pub(crate) fn collect(shared: &Shared, removed: Vec<Owner>, propagation: Propagation) {
    let mut queue = removed;
    let mut seen: HashSet<String> = HashSet::new();
    let orphan = propagation == Propagation::Orphan;
    while let Some(owner) = queue.pop() {
        if owner.uid.is_empty() || !seen.insert(owner.uid.clone()) {
            continue;
        }
        for (id, rt) in shared.catalog.iter() {
            if owner.namespace.is_some() && !rt.namespaced {
                continue;
            }
            for dependent in dependents(shared, id, &owner) {
                let kept: Vec<Value> = dependent
                    .references
                    .iter()
                    .filter(|r| {
                        ref_uid(r) != owner.uid && owner_exists(shared, r, &dependent.key.0)
                    })
                    .cloned()
                    .collect();
                let report = release_or_delete(shared, id, rt, &dependent, kept, orphan);
                queue.extend(report.removed);
            }
        }
    }
}

/// Patches the owner's reference out of `dependent` when it keeps other
/// owners (or is orphaned), else deletes it.
fn release_or_delete(
    shared: &Shared,
    id: ResourceId,
    rt: &ResourceType,
    dependent: &Dependent,
    kept: Vec<Value>,
    orphan: bool,
) -> WriteReport {
    let mut collection = shared.lock(id);
    // It may have changed since it was found.
    if collection
        .get(&dependent.key)
        .is_none_or(|o| object::uid(o) != dependent.uid)
    {
        return WriteReport::default();
    }
    let mut writer = Writer {
        rt,
        revision: &shared.revision,
        collection: &mut collection,
        dry_run: false,
        manager: Some(GC_MANAGER),
        force: false,
        report: WriteReport::default(),
    };
    let result = if orphan || !kept.is_empty() {
        let references = if kept.is_empty() {
            Value::Null
        } else {
            Value::Array(kept)
        };
        let patch = json!({"metadata": {"ownerReferences": references}});
        writer
            .patch(&dependent.key, PatchKind::Merge, &patch, None)
            .map(|_| ())
    } else {
        let deleted = writer
            .delete(&dependent.key, &DeletePreconditions::default())
            .map(|_| ());
        if deleted.is_ok() {
            shared
                .stats
                .add(|s| *s.garbage_collected.entry(rt.plural.clone()).or_default() += 1);
        }
        deleted
    };
    if let Err(error) = result {
        tracing::warn!(
            resource = %rt.plural,
            namespace = %dependent.key.0,
            name = %dependent.key.1,
            %error,
            "API double: garbage collection of a dependent failed"
        );
    }
    writer.report
}
