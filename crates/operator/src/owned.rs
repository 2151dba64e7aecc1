//! Objects switchyard owns (a Server's StatefulSet and Services, a
//! runtime's components): written by server-side apply with one field
//! manager ([`FIELD_MANAGER`]), through the leader-gated writer, and not
//! written at all when nothing changed.
//!
//! [`Applier::ensure`] remembers, per object, a hash of the intent it last
//! applied and the version the API server answered (the `generation` of a
//! workload, whose status the kubelet keeps writing; else the
//! resourceVersion). When the intent is the same and the live object still
//! has that version, there is nothing to do: a steady state costs one read
//! per object and no write. When someone changed the object, the
//! intent is applied again: fields switchyard owns are put back, fields
//! others own (an autoscaler's, a user's annotation) stay, as server-side
//! apply decides.

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::{DefaultHasher, Hash, Hasher};

use k8s_openapi::NamespaceResourceScope;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::writer::{ApiWriter, FIELD_MANAGER, WriteError};

/// What an object's last apply was.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Applied {
    intent: u64,
    seen: Version,
}

/// What says whether an object changed since we applied it: its
/// `generation` where it has one (a workload: status writes, such as the
/// kubelet's, do not count; spec drift does), else its resourceVersion.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Version {
    Generation(i64),
    Resource(String),
}

impl Version {
    fn of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<Version> {
        match (meta.generation, &meta.resource_version) {
            (Some(generation), _) => Some(Version::Generation(generation)),
            (None, Some(rv)) => Some(Version::Resource(rv.clone())),
            (None, None) => None,
        }
    }
}

type Key = (&'static str, String, String);

/// The intents applied so far. Shared by the controllers; cheap to clone
/// behind an `Arc`.
#[derive(Debug, Default)]
pub struct Applier {
    applied: Mutex<HashMap<Key, Applied>>,
}

/// Whether [`Applier::ensure`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ensured {
    Unchanged,
    Applied,
}

trait Owned:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
}

impl<K> Owned for K where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned
        + Send
        + Sync
        + 'static
{
}

impl Applier {
    /// Applies `desired` unless this intent was applied already and the
    /// live object has not changed since.
    #[allow(private_bounds)]
    pub async fn ensure<K: Owned>(
        &self,
        writer: &ApiWriter,
        desired: &K,
    ) -> Result<Ensured, WriteError> {
        let kind = leak_kind::<K>();
        let namespace = desired.namespace().unwrap_or_default();
        let name = desired.name_any();
        let key = (kind, namespace.clone(), name.clone());
        let intent = hash(desired);
        let api: Api<K> = Api::namespaced(writer.client().clone(), &namespace);
        let live = writer
            .call(
                kind,
                || format!("reading {kind} {namespace}/{name}"),
                api.get_metadata_opt(&name),
            )
            .await?;
        let live_version = live.and_then(|m| Version::of(&m.metadata));
        let known = self.applied.lock().get(&key).cloned();
        if let (Some(known), Some(live)) = (&known, &live_version)
            && known.intent == intent
            && &known.seen == live
        {
            return Ok(Ensured::Unchanged);
        }
        let applied = writer.apply(desired).await?;
        match Version::of(applied.meta()) {
            Some(seen) => {
                self.applied.lock().insert(key, Applied { intent, seen });
            }
            None => {
                self.applied.lock().remove(&key);
            }
        }
        Ok(Ensured::Applied)
    }

    /// Deletes `namespace/name` of kind `K` (gone already is fine) and
    /// forgets its intent.
    #[allow(private_bounds)]
    pub async fn delete<K: Owned>(
        &self,
        writer: &ApiWriter,
        namespace: &str,
        name: &str,
    ) -> Result<(), WriteError> {
        let kind = leak_kind::<K>();
        self.applied
            .lock()
            .remove(&(kind, namespace.to_owned(), name.to_owned()));
        writer.gate(kind)?;
        let api: Api<K> = Api::namespaced(writer.client().clone(), namespace);
        match writer
            .call(
                kind,
                || format!("deleting {kind} {namespace}/{name}"),
                api.delete(name, &DeleteParams::background()),
            )
            .await
        {
            Err(e) if e.is_not_found() => Ok(()),
            other => other.map(drop),
        }
    }
}

impl ApiWriter {
    /// Server-side applies `obj` as [`FIELD_MANAGER`], taking over fields
    /// another manager set (`force`), as controllers do.
    async fn apply<K: Owned>(&self, obj: &K) -> Result<K, WriteError> {
        let kind = leak_kind::<K>();
        self.gate(kind)?;
        let namespace = obj.namespace().unwrap_or_default();
        let name = obj.name_any();
        let api: Api<K> = Api::namespaced(self.client().clone(), &namespace);
        let params = PatchParams::apply(FIELD_MANAGER).force();
        self.call(
            kind,
            || format!("applying {kind} {namespace}/{name}"),
            api.patch(&name, &params, &Patch::Apply(obj)),
        )
        .await
    }
}

/// Whether `dependent` names `owner` as its controller (an owner without
/// a uid controls nothing).
pub fn controlled_by<O: Resource>(owner: &O, dependent: &impl Resource) -> bool {
    let Some(uid) = owner.meta().uid.as_deref() else {
        return false;
    };
    dependent
        .meta()
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.controller == Some(true) && o.uid == uid)
}

fn hash<K: Serialize>(obj: &K) -> u64 {
    let mut hasher = DefaultHasher::new();
    // Serializing a typed object cannot fail; an empty intent would only
    // cost one extra apply.
    serde_json::to_vec(obj)
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

/// The kind's name as a `'static` label (kinds are a small fixed set).
fn leak_kind<K: Resource<DynamicType = ()>>() -> &'static str {
    match K::kind(&()).as_ref() {
        "StatefulSet" => "StatefulSet",
        "Deployment" => "Deployment",
        "Service" => "Service",
        "ConfigMap" => "ConfigMap",
        "ServiceAccount" => "ServiceAccount",
        "Role" => "Role",
        "RoleBinding" => "RoleBinding",
        _ => "Object",
    }
}
