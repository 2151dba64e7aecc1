//! The model table: one record per model (latest version only), the
//! scheduler's rules for a repeated LoadModel (docs/seldon-compat.md#model-load-repeat: same spec is a
//! no-op, a new ModelSpec is a new version, a new DeploymentSpec updates the
//! version in place, new metadata only updates the generation), and the
//! `ModelStatusResponse` each record is reported as.

use std::{collections::BTreeMap, time::SystemTime};

use crate::error::{Kind, StoreError};
use switchyard_proto::scheduler::{
    KubernetesMeta, Model, ModelReplicaStatus, ModelStatus, ModelStatusResponse,
    ModelVersionStatus, model_replica_status::ModelReplicaState, model_status::ModelState,
    model_status_response::ModelOperation,
};

/// Where a model is in its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ModelPhase {
    /// Being loaded onto its replicas.
    Progressing,
    /// Loaded on every replica and routable.
    Available,
    /// Being unloaded.
    Terminating,
    /// Unloaded; reported once, then forgotten.
    Terminated,
}

/// What the scheduler holds about one model.
#[derive(Clone, Debug)]
pub(crate) struct ModelRecord {
    /// The definition as last loaded.
    pub model: Model,
    /// Scheduler-assigned version, from 1, bumped when the ModelSpec changes.
    pub version: u32,
    /// The server the model is placed on.
    pub server: String,
    pub phase: ModelPhase,
    /// Replicas loaded before the current rescale (reported while Progressing).
    pub previous_replicas: u32,
    pub last_change: SystemTime,
    /// Changes on every state change; a delayed transition only applies to
    /// the revision it was scheduled for.
    pub rev: u64,
}

/// What a LoadModel did to an existing or new model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LoadOutcome {
    /// Identical request: nothing to do.
    Unchanged,
    /// A new model (version 1).
    Created,
    /// The ModelSpec changed: a new version is loading.
    NewVersion,
    /// Only the DeploymentSpec changed: the version is rescaled in place.
    Rescaled,
    /// Only the metadata (generation) changed.
    MetaUpdated,
}

/// Model names: letters, digits, '-' and '_' (so no dots), as the real
/// scheduler requires.
pub(crate) fn validate_name(kind: Kind, name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidName {
            kind,
            name: name.to_string(),
        })
    }
}

impl ModelRecord {
    pub(crate) fn name(&self) -> &str {
        self.model.meta.as_ref().map_or("", |m| m.name.as_str())
    }

    pub(crate) fn kubernetes_meta(&self) -> Option<KubernetesMeta> {
        self.model
            .meta
            .as_ref()
            .and_then(|m| m.kubernetes_meta.clone())
    }

    /// Replicas asked for by the deployment spec.
    pub(crate) fn replicas(&self) -> u32 {
        self.model
            .deployment_spec
            .as_ref()
            .map_or(1, |d| d.replicas)
    }

    /// Replicas counted as loaded on the server.
    pub(crate) fn loaded_replicas(&self) -> u32 {
        match self.phase {
            ModelPhase::Available => self.replicas(),
            ModelPhase::Progressing => self.previous_replicas.min(self.replicas()),
            ModelPhase::Terminating | ModelPhase::Terminated => 0,
        }
    }

    /// The model as every status RPC reports it (latest version only).
    pub(crate) fn status(&self) -> ModelStatusResponse {
        let replicas = self.replicas();
        let (state, gw_state, available, reason, replica_state) = match self.phase {
            ModelPhase::Progressing => (
                ModelState::ModelProgressing,
                ModelState::ModelCreate,
                self.previous_replicas.min(replicas),
                "",
                ModelReplicaState::Loading,
            ),
            ModelPhase::Available => (
                ModelState::ModelAvailable,
                ModelState::ModelAvailable,
                replicas,
                "",
                ModelReplicaState::Available,
            ),
            ModelPhase::Terminating => (
                ModelState::ModelTerminating,
                ModelState::ModelTerminate,
                0,
                "",
                ModelReplicaState::Unloading,
            ),
            ModelPhase::Terminated => (
                ModelState::ModelTerminated,
                ModelState::ModelTerminated,
                0,
                "model unloaded",
                ModelReplicaState::Unloaded,
            ),
        };
        let unavailable = match self.phase {
            ModelPhase::Terminated => 0,
            _ => replicas - available,
        };
        let timestamp = prost_types::Timestamp::from(self.last_change);
        let replica_states = match self.phase {
            ModelPhase::Terminated => Default::default(),
            _ => (0..replicas)
                .map(|idx| {
                    (
                        i32::try_from(idx).unwrap_or(i32::MAX),
                        ModelReplicaStatus {
                            state: replica_state as i32,
                            reason: String::new(),
                            last_change_timestamp: Some(timestamp),
                        },
                    )
                })
                .collect(),
        };
        let deleting = matches!(self.phase, ModelPhase::Terminating | ModelPhase::Terminated);
        ModelStatusResponse {
            model_name: self.name().to_string(),
            versions: vec![ModelVersionStatus {
                version: self.version,
                server_name: self.server.clone(),
                kubernetes_meta: self.kubernetes_meta(),
                model_replica_state: replica_states,
                state: Some(ModelStatus {
                    state: state as i32,
                    reason: reason.to_string(),
                    available_replicas: available,
                    unavailable_replicas: unavailable,
                    last_change_timestamp: Some(timestamp),
                    model_gw_state: gw_state as i32,
                    model_gw_reason: String::new(),
                }),
                model_defn: Some(self.model.clone()),
            }],
            deleted: self.phase == ModelPhase::Terminated,
            keep_topics: false,
            timestamp: unix_nanos(self.last_change),
            operation: if deleting {
                ModelOperation::ModelDelete
            } else {
                ModelOperation::ModelCreate
            } as i32,
        }
    }
}

/// Nanoseconds since the Unix epoch (0 before it).
pub(crate) fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// All models of one scheduler, by name.
#[derive(Debug, Default)]
pub(crate) struct Models {
    records: BTreeMap<String, ModelRecord>,
}

impl Models {
    pub(crate) fn get(&self, name: &str) -> Option<&ModelRecord> {
        self.records.get(name)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &ModelRecord> {
        self.records.values()
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Applies a LoadModel whose name is already validated. `server` is
    /// where a new model or a new version goes; `rev` the next revision.
    pub(crate) fn load(
        &mut self,
        model: Model,
        server: String,
        rev: u64,
        now: SystemTime,
    ) -> Result<LoadOutcome, StoreError> {
        let name = model.meta.as_ref().map_or("", |m| m.name.as_str());
        validate_name(Kind::Model, name)?;
        let name = name.to_string();
        let Some(existing) = self.records.get_mut(&name) else {
            self.records.insert(
                name,
                ModelRecord {
                    model,
                    version: 1,
                    server,
                    phase: ModelPhase::Progressing,
                    previous_replicas: 0,
                    last_change: now,
                    rev,
                },
            );
            return Ok(LoadOutcome::Created);
        };
        if matches!(
            existing.phase,
            ModelPhase::Terminating | ModelPhase::Terminated
        ) {
            return Err(StoreError::BeingDeleted {
                kind: Kind::Model,
                name,
            });
        }
        let outcome = compare(&existing.model, &model);
        match outcome {
            LoadOutcome::Unchanged | LoadOutcome::Created => return Ok(LoadOutcome::Unchanged),
            LoadOutcome::NewVersion => {
                existing.version += 1;
                existing.server = server;
                existing.previous_replicas = 0;
                existing.phase = ModelPhase::Progressing;
                existing.rev = rev;
            }
            LoadOutcome::Rescaled => {
                existing.previous_replicas = existing.loaded_replicas();
                existing.phase = ModelPhase::Progressing;
                existing.rev = rev;
            }
            // A pending transition still applies: only the generation moved.
            LoadOutcome::MetaUpdated => {}
        }
        existing.model = model;
        existing.last_change = now;
        Ok(outcome)
    }

    /// Starts unloading `name`; an unload of a model already terminating is
    /// accepted and changes nothing. Returns whether the model changed.
    pub(crate) fn unload(
        &mut self,
        name: &str,
        version: Option<u32>,
        kubernetes_meta: Option<KubernetesMeta>,
        rev: u64,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let record = self
            .records
            .get_mut(name)
            .ok_or_else(|| StoreError::NotFound {
                kind: Kind::Model,
                name: name.to_string(),
            })?;
        if let Some(version) = version
            && version != record.version
        {
            return Err(StoreError::VersionNotFound {
                kind: Kind::Model,
                name: name.to_string(),
                version,
                latest: record.version,
            });
        }
        if matches!(
            record.phase,
            ModelPhase::Terminating | ModelPhase::Terminated
        ) {
            return Ok(false);
        }
        if let (Some(meta), Some(k8s)) = (record.model.meta.as_mut(), kubernetes_meta) {
            meta.kubernetes_meta = Some(k8s);
        }
        record.phase = ModelPhase::Terminating;
        record.last_change = now;
        record.rev = rev;
        Ok(true)
    }

    /// Moves a model still at revision `rev` to `phase`.
    pub(crate) fn advance(
        &mut self,
        name: &str,
        rev: u64,
        phase: ModelPhase,
        new_rev: u64,
        now: SystemTime,
    ) -> Option<&ModelRecord> {
        let record = self.records.get_mut(name).filter(|r| r.rev == rev)?;
        record.phase = phase;
        record.last_change = now;
        record.rev = new_rev;
        Some(record)
    }

    /// Forgets a terminated model.
    pub(crate) fn remove(&mut self, name: &str) -> Option<ModelRecord> {
        self.records.remove(name)
    }

    /// Touches a model's change time (for the load generator).
    pub(crate) fn touch(&mut self, name: &str, now: SystemTime) -> Option<&ModelRecord> {
        let record = self.records.get_mut(name)?;
        record.last_change = now;
        Some(record)
    }

    /// The name after `after` in name order, wrapping around.
    pub(crate) fn next_name(&self, after: Option<&str>) -> Option<String> {
        use std::ops::Bound::{Excluded, Unbounded};
        let next = match after {
            Some(after) => self
                .records
                .range::<str, _>((Excluded(after), Unbounded))
                .next()
                .or_else(|| self.records.iter().next()),
            None => self.records.iter().next(),
        };
        next.map(|(name, _)| name.clone())
    }
}

/// Classifies a repeated LoadModel by what differs (docs/seldon-compat.md#model-load-repeat).
fn compare(old: &Model, new: &Model) -> LoadOutcome {
    let spec_changed = old.model_spec != new.model_spec
        || old.stream_spec != new.stream_spec
        || old.dataflow_spec != new.dataflow_spec;
    if spec_changed {
        LoadOutcome::NewVersion
    } else if old.deployment_spec != new.deployment_spec {
        LoadOutcome::Rescaled
    } else if old.meta != new.meta {
        LoadOutcome::MetaUpdated
    } else {
        LoadOutcome::Unchanged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_proto::scheduler::{DeploymentSpec, MetaData, ModelSpec};

    fn model(name: &str, uri: &str, replicas: u32, generation: i64) -> Model {
        Model {
            meta: Some(MetaData {
                name: name.to_string(),
                kind: None,
                version: None,
                kubernetes_meta: Some(KubernetesMeta {
                    namespace: "ns1".into(),
                    generation,
                }),
            }),
            model_spec: Some(ModelSpec {
                uri: uri.to_string(),
                ..Default::default()
            }),
            deployment_spec: Some(DeploymentSpec {
                replicas,
                min_replicas: 0,
                max_replicas: u32::MAX,
                log_payloads: false,
            }),
            stream_spec: None,
            dataflow_spec: None,
        }
    }

    #[test]
    fn names_allow_alphanumerics_dash_underscore_only() {
        assert!(validate_name(Kind::Model, "iris-2_b").is_ok());
        assert!(validate_name(Kind::Model, "iris.v2").is_err());
        assert!(validate_name(Kind::Model, "iris/x").is_err());
        assert!(validate_name(Kind::Model, "").is_err());
    }

    #[test]
    fn repeated_loads_follow_the_scheduler_rules() {
        let now = SystemTime::now();
        let mut models = Models::default();
        let load = |m: &mut Models, model| m.load(model, "mlserver".into(), 1, now);
        assert_eq!(
            load(&mut models, model("a", "gs://1", 1, 1)),
            Ok(LoadOutcome::Created)
        );
        assert_eq!(
            load(&mut models, model("a", "gs://1", 1, 1)),
            Ok(LoadOutcome::Unchanged)
        );
        assert_eq!(
            load(&mut models, model("a", "gs://1", 1, 2)),
            Ok(LoadOutcome::MetaUpdated)
        );
        assert_eq!(models.get("a").map(|r| r.version), Some(1));
        assert_eq!(
            load(&mut models, model("a", "gs://1", 3, 3)),
            Ok(LoadOutcome::Rescaled)
        );
        assert_eq!(models.get("a").map(|r| r.version), Some(1));
        assert_eq!(
            load(&mut models, model("a", "gs://2", 3, 4)),
            Ok(LoadOutcome::NewVersion)
        );
        assert_eq!(models.get("a").map(|r| r.version), Some(2));
        assert!(matches!(
            load(&mut models, model("a.b", "gs://2", 3, 4)),
            Err(StoreError::InvalidName { .. })
        ));
    }

    #[test]
    fn deleting_model_cannot_be_loaded_and_unknown_cannot_be_unloaded() {
        let now = SystemTime::now();
        let mut models = Models::default();
        assert!(matches!(
            models.unload("a", None, None, 1, now),
            Err(StoreError::NotFound { .. })
        ));
        models
            .load(model("a", "gs://1", 1, 1), "s".into(), 1, now)
            .ok();
        assert_eq!(models.unload("a", None, None, 2, now), Ok(true));
        assert_eq!(models.unload("a", None, None, 3, now), Ok(false));
        assert!(matches!(
            models.load(model("a", "gs://1", 1, 1), "s".into(), 4, now),
            Err(StoreError::BeingDeleted { .. })
        ));
    }

    #[test]
    fn status_reports_replicas_and_gateway_state() {
        let now = SystemTime::now();
        let mut models = Models::default();
        models
            .load(model("a", "gs://1", 2, 1), "s".into(), 1, now)
            .ok();
        let status = models.get("a").map(ModelRecord::status);
        let version = status.as_ref().and_then(|s| s.versions.first()).cloned();
        let state = version.as_ref().and_then(|v| v.state.clone());
        assert_eq!(
            state.as_ref().map(|s| s.state()),
            Some(ModelState::ModelProgressing)
        );
        assert_eq!(state.as_ref().map(|s| s.unavailable_replicas), Some(2));
        models.advance("a", 1, ModelPhase::Available, 2, now);
        let status = models.get("a").map(ModelRecord::status);
        let version = status.and_then(|s| s.versions.first().cloned());
        let state = version.as_ref().and_then(|v| v.state.clone());
        assert_eq!(state.as_ref().map(|s| s.available_replicas), Some(2));
        assert_eq!(
            state.as_ref().map(|s| s.model_gw_state()),
            Some(ModelState::ModelAvailable)
        );
        assert_eq!(version.map(|v| v.server_name), Some("s".to_string()));
    }
}
