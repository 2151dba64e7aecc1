//! The one path for writes to the Kubernetes API server.
//!
//! Reconcilers, the status writer and resync compute *what* to write; this
//! writer applies it, only while this replica holds the leader lease, with a
//! timeout on every call, counting what it drops. Finalizer changes re-read
//! the object and retry on conflict with the fresh copy (Seldon's Go
//! operator retried with the stale one, docs/seldon-compat.md#stale-resource-version).

use std::fmt::Debug;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tokio::sync::watch;

use switchyard_core::metrics as m;

/// Field manager of switchyard's writes to objects (finalizers), so
/// `managedFields` shows which fields are ours.
pub const FIELD_MANAGER: &str = "switchyard";
/// Field manager of switchyard's status writes: conditions and
/// observedGeneration are owned apart from the spec-side fields.
pub const STATUS_FIELD_MANAGER: &str = "switchyard-status";
/// Bound on one API call: a hung API server must not pin a reconcile.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts of a read-modify-write on conflict.
pub const CONFLICT_ATTEMPTS: usize = 5;

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("not written: this replica is not the leader")]
    NotLeader,
    #[error("{what} timed out after {WRITE_TIMEOUT:?}")]
    Timeout { what: String },
    #[error("{what}: {source}")]
    Kube {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("{what}: still conflicting after {CONFLICT_ATTEMPTS} attempts")]
    Conflict { what: String },
}

impl WriteError {
    /// The object is gone: nothing left to write.
    pub fn is_not_found(&self) -> bool {
        matches!(self, WriteError::Kube { source: kube::Error::Api(s), .. } if s.code == 404)
    }

    fn is_conflict(&self) -> bool {
        matches!(self, WriteError::Kube { source: kube::Error::Api(s), .. } if s.code == 409)
    }
}

/// The leader-gated writer. Cheap to clone.
#[derive(Clone)]
pub struct ApiWriter {
    client: Client,
    leader: watch::Receiver<bool>,
    recorder: Recorder,
}

impl ApiWriter {
    /// A writer that writes while `leader` is true. `controller` names the
    /// reporter of the events it records.
    pub fn new(client: Client, leader: watch::Receiver<bool>, controller: &str) -> Self {
        let reporter = Reporter {
            controller: controller.to_owned(),
            instance: std::env::var("POD_NAME").ok(),
        };
        ApiWriter {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            leader,
        }
    }

    /// The client, for reads.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Whether this replica may write now.
    pub fn is_leader(&self) -> bool {
        *self.leader.borrow()
    }

    /// Follows leadership changes.
    pub fn leadership(&self) -> watch::Receiver<bool> {
        self.leader.clone()
    }

    pub(crate) fn gate(&self, kind: &str) -> Result<(), WriteError> {
        if self.is_leader() {
            Ok(())
        } else {
            metrics::counter!(m::WRITES_DROPPED_TOTAL, "kind" => kind.to_owned(), "reason" => "not_leader").increment(1);
            Err(WriteError::NotLeader)
        }
    }

    pub(crate) async fn call<T>(
        &self,
        kind: &str,
        what: impl FnOnce() -> String,
        fut: impl std::future::Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, WriteError> {
        match tokio::time::timeout(WRITE_TIMEOUT, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(source)) => Err(WriteError::Kube {
                what: what(),
                source,
            }),
            Err(_) => {
                metrics::counter!(m::WRITES_DROPPED_TOTAL, "kind" => kind.to_owned(), "reason" => "timeout").increment(1);
                Err(WriteError::Timeout { what: what() })
            }
        }
    }

    /// Merge-patches `.status` of `namespace/name` with `status`.
    pub async fn patch_status<K>(
        &self,
        namespace: &str,
        name: &str,
        status: &impl Serialize,
    ) -> Result<K, WriteError>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + Debug
            + DeserializeOwned,
    {
        let kind = K::kind(&()).to_string();
        self.gate(&kind)?;
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        let patch = json!({ "status": status });
        self.call(
            &kind,
            || format!("patching the status of {kind} {namespace}/{name}"),
            api.patch_status(name, &manager(STATUS_FIELD_MANAGER), &Patch::Merge(&patch)),
        )
        .await
    }

    /// Read-modify-write of `.status`: reads `namespace/name`, asks
    /// `compute` for the new status (`None`: nothing to change, no write),
    /// and patches it guarded by the resourceVersion it read, re-reading on
    /// conflict. Every status writer (reconcilers and the status stream)
    /// goes through here, so none overwrites conditions another just set.
    /// Returns the object as written (or as read, when nothing changed);
    /// `Ok(None)` when the object is gone.
    pub async fn update_status<K, S>(
        &self,
        namespace: &str,
        name: &str,
        compute: impl Fn(&K) -> Option<S>,
    ) -> Result<Option<K>, WriteError>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + Debug
            + DeserializeOwned,
        S: Serialize,
    {
        let kind = K::kind(&()).to_string();
        self.gate(&kind)?;
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        for _ in 0..CONFLICT_ATTEMPTS {
            let current = match self
                .call(
                    &kind,
                    || format!("reading {kind} {namespace}/{name}"),
                    api.get_opt(name),
                )
                .await?
            {
                Some(current) => current,
                None => return Ok(None),
            };
            let Some(status) = compute(&current) else {
                return Ok(Some(current));
            };
            let patch = json!({
                "metadata": { "resourceVersion": current.resource_version() },
                "status": status,
            });
            let result = self
                .call(
                    &kind,
                    || format!("patching the status of {kind} {namespace}/{name}"),
                    api.patch_status(name, &manager(STATUS_FIELD_MANAGER), &Patch::Merge(&patch)),
                )
                .await;
            match result {
                Err(e) if e.is_conflict() => continue,
                Err(e) if e.is_not_found() => return Ok(None),
                other => return other.map(Some),
            }
        }
        Err(WriteError::Conflict {
            what: format!("patching the status of {kind} {namespace}/{name}"),
        })
    }

    /// Merge-patches `namespace/name` (spec or metadata) with `patch`.
    pub async fn patch<K>(
        &self,
        namespace: &str,
        name: &str,
        patch: &serde_json::Value,
    ) -> Result<K, WriteError>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + Debug
            + DeserializeOwned,
    {
        let kind = K::kind(&()).to_string();
        self.gate(&kind)?;
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        self.call(
            &kind,
            || format!("patching {kind} {namespace}/{name}"),
            api.patch(name, &manager(FIELD_MANAGER), &Patch::Merge(patch)),
        )
        .await
    }

    /// Adds `finalizer` to `obj` unless present; returns the updated object.
    pub async fn add_finalizer<K>(&self, obj: &K, finalizer: &str) -> Result<K, WriteError>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + Debug
            + DeserializeOwned,
    {
        if obj.finalizers().iter().any(|f| f == finalizer) {
            return Ok(obj.clone());
        }
        self.change_finalizers(obj, |list| {
            if list.iter().any(|f| f == finalizer) {
                return false;
            }
            list.push(finalizer.to_owned());
            true
        })
        .await
    }

    /// Removes `finalizer` from `obj` if present (re-reading it on conflict).
    /// An object already gone counts as done.
    pub async fn remove_finalizer<K>(&self, obj: &K, finalizer: &str) -> Result<(), WriteError>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + Debug
            + DeserializeOwned,
    {
        match self
            .change_finalizers(obj, |list| {
                let before = list.len();
                list.retain(|f| f != finalizer);
                list.len() != before
            })
            .await
        {
            Err(e) if e.is_not_found() => Ok(()),
            other => other.map(drop),
        }
    }

    /// Read-modify-write of `metadata.finalizers`, guarded by the object's
    /// resourceVersion; on conflict, re-read and try again.
    async fn change_finalizers<K>(
        &self,
        obj: &K,
        change: impl Fn(&mut Vec<String>) -> bool,
    ) -> Result<K, WriteError>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + Debug
            + DeserializeOwned,
    {
        let kind = K::kind(&()).to_string();
        self.gate(&kind)?;
        let namespace = obj.namespace().unwrap_or_default();
        let name = obj.name_any();
        let api: Api<K> = Api::namespaced(self.client.clone(), &namespace);
        let mut current = obj.clone();
        for attempt in 0..CONFLICT_ATTEMPTS {
            if attempt > 0 {
                current = self
                    .call(
                        &kind,
                        || format!("reading {kind} {namespace}/{name}"),
                        api.get(&name),
                    )
                    .await?;
            }
            let mut list = current.finalizers().to_vec();
            if !change(&mut list) {
                return Ok(current);
            }
            let patch = json!({
                "metadata": { "finalizers": list, "resourceVersion": current.resource_version() }
            });
            let result = self
                .call(
                    &kind,
                    || format!("updating the finalizers of {kind} {namespace}/{name}"),
                    api.patch(&name, &manager(FIELD_MANAGER), &Patch::Merge(&patch)),
                )
                .await;
            match result {
                Err(e) if e.is_conflict() => continue,
                other => return other,
            }
        }
        Err(WriteError::Conflict {
            what: format!("updating the finalizers of {kind} {namespace}/{name}"),
        })
    }

    /// Records a Kubernetes event about `obj` (best effort: failures are
    /// logged and counted, never returned).
    pub async fn event<K>(
        &self,
        obj: &K,
        type_: EventType,
        reason: &str,
        note: String,
        action: &str,
    ) where
        K: Resource<DynamicType = ()>,
    {
        let kind = K::kind(&()).to_string();
        self.event_about(&kind, obj.object_ref(&()), type_, reason, note, action)
            .await;
    }

    /// [`ApiWriter::event`] about the object `reference` names (of `kind`),
    /// for callers that hold no copy of it.
    pub async fn event_about(
        &self,
        kind: &str,
        reference: ObjectReference,
        type_: EventType,
        reason: &str,
        note: String,
        action: &str,
    ) {
        if self.gate(kind).is_err() {
            return;
        }
        let event = Event {
            type_,
            reason: reason.to_owned(),
            note: Some(note),
            action: action.to_owned(),
            secondary: None,
        };
        let published =
            tokio::time::timeout(WRITE_TIMEOUT, self.recorder.publish(&event, &reference)).await;
        if !matches!(published, Ok(Ok(()))) {
            metrics::counter!(m::WRITES_DROPPED_TOTAL, "kind" => "Event", "reason" => "error")
                .increment(1);
            tracing::warn!(kind, name = ?reference.name, namespace = ?reference.namespace, reason, "could not record an event");
        }
    }
}

/// Patch parameters naming `field_manager`.
fn manager(field_manager: &str) -> PatchParams {
    PatchParams {
        field_manager: Some(field_manager.to_owned()),
        ..PatchParams::default()
    }
}
