//! The pipeline table: one record per pipeline (latest version only), the
//! version and uid the scheduler assigns, and the `PipelineStatusResponse`
//! each record is reported as. Life cycle: Creating -> Ready on load,
//! Terminating -> Terminated on unload, with the gateway status following.

use std::{collections::BTreeMap, time::SystemTime};

use crate::{
    error::{Kind, StoreError},
    models::unix_nanos,
};
use switchyard_proto::scheduler::{
    KubernetesMeta, Pipeline, PipelineStatusResponse, PipelineVersionState, PipelineWithState,
    pipeline_status_response::PipelineOperation, pipeline_version_state::PipelineStatus,
};

/// Where a pipeline is in its life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PipelinePhase {
    Creating,
    Ready,
    Terminating,
    /// Reported once, then forgotten.
    Terminated,
}

/// What the scheduler holds about one pipeline.
#[derive(Clone, Debug)]
pub(crate) struct PipelineRecord {
    /// The definition as last loaded, with the scheduler's version and uid.
    pub pipeline: Pipeline,
    pub phase: PipelinePhase,
    pub last_change: SystemTime,
    /// See `ModelRecord::rev`.
    pub rev: u64,
}

/// What a LoadPipeline did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PipelineLoad {
    Unchanged,
    /// A new pipeline or a new version of one: Creating.
    NewVersion,
    /// Only `kubernetesMeta` changed.
    MetaUpdated,
}

impl PipelineRecord {
    /// The pipeline as every status RPC reports it (latest version only).
    pub(crate) fn status(&self) -> PipelineStatusResponse {
        let (status, reason, models_ready, operation) = match self.phase {
            PipelinePhase::Creating => (
                PipelineStatus::PipelineCreating,
                "",
                false,
                PipelineOperation::PipelineCreate,
            ),
            PipelinePhase::Ready => (
                PipelineStatus::PipelineReady,
                "created pipeline",
                true,
                PipelineOperation::PipelineCreate,
            ),
            PipelinePhase::Terminating => (
                PipelineStatus::PipelineTerminating,
                "",
                false,
                PipelineOperation::PipelineDelete,
            ),
            PipelinePhase::Terminated => (
                PipelineStatus::PipelineTerminated,
                "pipeline removed",
                false,
                PipelineOperation::PipelineDelete,
            ),
        };
        PipelineStatusResponse {
            pipeline_name: self.pipeline.name.clone(),
            versions: vec![PipelineWithState {
                pipeline: Some(self.pipeline.clone()),
                state: Some(PipelineVersionState {
                    pipeline_version: self.pipeline.version,
                    status: status as i32,
                    reason: reason.to_string(),
                    last_change_timestamp: Some(self.last_change.into()),
                    models_ready,
                    pipeline_gw_status: status as i32,
                    pipeline_gw_reason: reason.to_string(),
                }),
            }],
            timestamp: unix_nanos(self.last_change),
            operation: operation as i32,
        }
    }
}

/// All pipelines of one scheduler, by name.
#[derive(Debug, Default)]
pub(crate) struct Pipelines {
    records: BTreeMap<String, PipelineRecord>,
}

impl Pipelines {
    pub(crate) fn get(&self, name: &str) -> Option<&PipelineRecord> {
        self.records.get(name)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &PipelineRecord> {
        self.records.values()
    }

    /// Applies a LoadPipeline. `uid` is used when a new version is created.
    pub(crate) fn load(
        &mut self,
        mut pipeline: Pipeline,
        uid: String,
        rev: u64,
        now: SystemTime,
    ) -> Result<PipelineLoad, StoreError> {
        let name = pipeline.name.clone();
        let previous = match self.records.get_mut(&name) {
            None => 0,
            Some(existing) => {
                if matches!(
                    existing.phase,
                    PipelinePhase::Terminating | PipelinePhase::Terminated
                ) {
                    return Err(StoreError::BeingDeleted {
                        kind: Kind::Pipeline,
                        name,
                    });
                }
                if same_definition(&existing.pipeline, &pipeline) {
                    if existing.pipeline.kubernetes_meta == pipeline.kubernetes_meta {
                        return Ok(PipelineLoad::Unchanged);
                    }
                    existing.pipeline.kubernetes_meta = pipeline.kubernetes_meta;
                    existing.last_change = now;
                    return Ok(PipelineLoad::MetaUpdated);
                }
                existing.pipeline.version
            }
        };
        pipeline.version = previous + 1;
        pipeline.uid = uid;
        self.records.insert(
            name,
            PipelineRecord {
                pipeline,
                phase: PipelinePhase::Creating,
                last_change: now,
                rev,
            },
        );
        Ok(PipelineLoad::NewVersion)
    }

    /// Starts unloading `name`; already terminating is accepted as a no-op.
    pub(crate) fn unload(
        &mut self,
        name: &str,
        rev: u64,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let record = self
            .records
            .get_mut(name)
            .ok_or_else(|| StoreError::NotFound {
                kind: Kind::Pipeline,
                name: name.to_string(),
            })?;
        if matches!(
            record.phase,
            PipelinePhase::Terminating | PipelinePhase::Terminated
        ) {
            return Ok(false);
        }
        record.phase = PipelinePhase::Terminating;
        record.last_change = now;
        record.rev = rev;
        Ok(true)
    }

    /// Moves a pipeline still at revision `rev` to `phase`.
    pub(crate) fn advance(
        &mut self,
        name: &str,
        rev: u64,
        phase: PipelinePhase,
        new_rev: u64,
        now: SystemTime,
    ) -> Option<&PipelineRecord> {
        let record = self.records.get_mut(name).filter(|r| r.rev == rev)?;
        record.phase = phase;
        record.last_change = now;
        record.rev = new_rev;
        Some(record)
    }

    pub(crate) fn remove(&mut self, name: &str) -> Option<PipelineRecord> {
        self.records.remove(name)
    }
}

/// Equal apart from what the scheduler assigns or the operator bumps.
fn same_definition(stored: &Pipeline, new: &Pipeline) -> bool {
    let normalise = |p: &Pipeline| Pipeline {
        uid: String::new(),
        version: 0,
        kubernetes_meta: None::<KubernetesMeta>,
        ..p.clone()
    };
    normalise(stored) == normalise(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_proto::scheduler::PipelineStep;

    fn pipeline(name: &str, step: &str, generation: i64) -> Pipeline {
        Pipeline {
            name: name.to_string(),
            steps: vec![PipelineStep {
                name: step.to_string(),
                ..Default::default()
            }],
            kubernetes_meta: Some(KubernetesMeta {
                namespace: "ns1".into(),
                generation,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn versions_and_uids_are_assigned_by_the_scheduler() {
        let now = SystemTime::now();
        let mut pipelines = Pipelines::default();
        let first = pipelines.load(pipeline("p", "a", 1), "u1".into(), 1, now);
        assert_eq!(first, Ok(PipelineLoad::NewVersion));
        let same = pipelines.load(pipeline("p", "a", 1), "u2".into(), 2, now);
        assert_eq!(same, Ok(PipelineLoad::Unchanged));
        let meta = pipelines.load(pipeline("p", "a", 2), "u3".into(), 3, now);
        assert_eq!(meta, Ok(PipelineLoad::MetaUpdated));
        let changed = pipelines.load(pipeline("p", "b", 3), "u4".into(), 4, now);
        assert_eq!(changed, Ok(PipelineLoad::NewVersion));
        let stored = pipelines.get("p").map(|r| r.pipeline.clone());
        assert_eq!(stored.as_ref().map(|p| p.version), Some(2));
        assert_eq!(stored.map(|p| p.uid), Some("u4".to_string()));
    }

    #[test]
    fn unload_needs_a_known_pipeline() {
        let now = SystemTime::now();
        let mut pipelines = Pipelines::default();
        assert!(pipelines.unload("p", 1, now).is_err());
        pipelines
            .load(pipeline("p", "a", 1), "u".into(), 1, now)
            .ok();
        assert_eq!(pipelines.unload("p", 2, now), Ok(true));
        let status = pipelines.get("p").map(PipelineRecord::status);
        let state = status.and_then(|s| s.versions.first().and_then(|v| v.state.clone()));
        assert_eq!(
            state.map(|s| s.status()),
            Some(PipelineStatus::PipelineTerminating)
        );
    }
}
