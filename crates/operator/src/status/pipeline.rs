//! Pipeline status events -> Pipeline CR status and finalizer (see
//! docs/seldon-compat.md#pipeline-status).
//!
//! `PipelineGwReady`, `PipelineReady` and `ModelsReady` (and `Ready`) plus
//! `observedGeneration`, for the CR's current generation only. The
//! finalizer of a deleting Pipeline goes only on `PipelineTerminated`: Go
//! drops it on any non-terminating state, so a stale Ready event could
//! release a pipeline the scheduler still runs (docs/seldon-compat.md#pipeline-status).

use super::{PIPELINE_FINALIZER, StatusError, event_generation, now, read, skipped};
use crate::writer::ApiWriter;
use switchyard_api::pipeline::{Pipeline, PipelineStatus as CrStatus};
use switchyard_core::bus::{StatusEvent, StatusKind, StatusPayload};
use switchyard_proto::scheduler::pipeline_version_state::PipelineStatus as Pb;
use switchyard_translate::conditions::{
    self,
    pipeline::{PipelineObservation, PipelineStatus},
};

/// The scheduler's status as the condition writer's.
pub fn pipeline_status(status: Pb) -> PipelineStatus {
    match status {
        Pb::Unknown => PipelineStatus::Unknown,
        Pb::PipelineCreate => PipelineStatus::Create,
        Pb::PipelineCreating => PipelineStatus::Creating,
        Pb::PipelineReady => PipelineStatus::Ready,
        Pb::PipelineFailed => PipelineStatus::Failed,
        Pb::PipelineTerminate => PipelineStatus::Terminate,
        Pb::PipelineTerminating => PipelineStatus::Terminating,
        Pb::PipelineTerminated => PipelineStatus::Terminated,
        Pb::PipelineRebalancing => PipelineStatus::Rebalancing,
        Pb::PipelineFailedTerminating => PipelineStatus::FailedTerminating,
    }
}

/// Applies one pipeline status event.
pub async fn apply(writer: &ApiWriter, event: &StatusEvent) -> Result<(), StatusError> {
    let StatusPayload::Pipeline(response) = &*event.payload else {
        return Ok(());
    };
    let ns = &*event.namespace;
    let name = &response.pipeline_name;
    let [version] = response.versions.as_slice() else {
        skipped(StatusKind::Pipeline, "not_one_version");
        return Ok(());
    };
    let meta = version
        .pipeline
        .as_ref()
        .and_then(|p| p.kubernetes_meta.as_ref());
    let Some(generation) = event_generation(StatusKind::Pipeline, ns, name, meta) else {
        return Ok(());
    };
    let state = version.state.clone().unwrap_or_default();
    let status = pipeline_status(state.status());
    let gw_status = pipeline_status(state.pipeline_gw_status());

    if status == PipelineStatus::Terminated
        && let Some(pipeline) = read::<Pipeline>(writer, ns, name).await?
        && pipeline.metadata.deletion_timestamp.is_some()
    {
        writer
            .remove_finalizer(&pipeline, PIPELINE_FINALIZER)
            .await?;
        tracing::info!(
            namespace = ns,
            name,
            "pipeline terminated; finalizer removed"
        );
        return Ok(());
    }

    let observation = PipelineObservation {
        status,
        reason: &state.reason,
        gw_status,
        gw_reason: &state.pipeline_gw_reason,
        models_ready: state.models_ready,
    };
    writer
        .update_status::<Pipeline, CrStatus>(ns, name, |pipeline| {
            if pipeline.metadata.generation != Some(generation) {
                skipped(StatusKind::Pipeline, "old_generation");
                return None;
            }
            let mut new = pipeline.status.clone().unwrap_or_default();
            conditions::pipeline::status_observed(&mut new.duck.conditions, now(), &observation);
            new.duck.observed_generation = Some(generation);
            (pipeline.status.as_ref() != Some(&new)).then_some(new)
        })
        .await?;
    Ok(())
}
