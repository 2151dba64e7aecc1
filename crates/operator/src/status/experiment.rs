//! Experiment status events -> Experiment CR status and finalizer
//! (docs/seldon-compat.md#experiment-status).
//!
//! `ExperimentReady`, `CandidatesReady` and `MirrorReady` (and `Ready`)
//! plus `observedGeneration`, for the CR's current generation only. An
//! inactive experiment releases a deleting CR's finalizer.

use super::{EXPERIMENT_FINALIZER, StatusError, event_generation, now, read};
use crate::writer::ApiWriter;
use switchyard_api::experiment::{Experiment, ExperimentStatus};
use switchyard_core::bus::{StatusEvent, StatusKind, StatusPayload};
use switchyard_translate::conditions::{self, experiment::ExperimentObservation};

/// Applies one experiment status event.
pub async fn apply(writer: &ApiWriter, event: &StatusEvent) -> Result<(), StatusError> {
    let StatusPayload::Experiment(response) = &*event.payload else {
        return Ok(());
    };
    let ns = &*event.namespace;
    let name = &response.experiment_name;
    let Some(generation) = event_generation(
        StatusKind::Experiment,
        ns,
        name,
        response.kubernetes_meta.as_ref(),
    ) else {
        return Ok(());
    };

    if !response.active
        && let Some(experiment) = read::<Experiment>(writer, ns, name).await?
        && experiment.metadata.deletion_timestamp.is_some()
    {
        writer
            .remove_finalizer(&experiment, EXPERIMENT_FINALIZER)
            .await?;
        tracing::info!(
            namespace = ns,
            name,
            "experiment stopped; finalizer removed"
        );
        return Ok(());
    }

    let observation = ExperimentObservation {
        active: response.active,
        candidates_ready: response.candidates_ready,
        mirror_ready: response.mirror_ready,
        status_description: &response.status_description,
    };
    writer
        .update_status::<Experiment, ExperimentStatus>(ns, name, |experiment| {
            if experiment.metadata.generation != Some(generation) {
                super::skipped(StatusKind::Experiment, "old_generation");
                return None;
            }
            let mut new = experiment.status.clone().unwrap_or_default();
            conditions::experiment::status_observed(&mut new.duck.conditions, now(), &observation);
            new.duck.observed_generation = Some(generation);
            (experiment.status.as_ref() != Some(&new)).then_some(new)
        })
        .await?;
    Ok(())
}
