//! Model status events -> Model CR status and finalizer (docs/seldon-compat.md#model-status).
//!
//! `ModelReady` (and `Ready`) from the state, `modelgwReady`, `replicas` =
//! available + unavailable, `availableReplicas`, `selector` and
//! `observedGeneration`, for the CR's current generation only, with a
//! ModelNotReady event when a Ready Model stops being Ready and a ModelReady
//! event when it comes back ([`Fallen`]). A terminal state with a
//! terminated gateway releases a deleting CR's finalizer, whatever the
//! generation.

use std::collections::HashSet;

use parking_lot::Mutex;

use kube::ResourceExt;
use kube::runtime::events::EventType;

use super::{MODEL_FINALIZER, StatusError, event_generation, now, read, skipped};
use crate::writer::ApiWriter;
use switchyard_api::model::{Model, ModelStatus};
use switchyard_core::bus::{StatusEvent, StatusKind, StatusPayload};
use switchyard_proto::scheduler::model_status::ModelState as Pb;
use switchyard_translate::conditions::{self, model::ModelState};

/// The scheduler's state as the condition writer's.
pub fn model_state(state: Pb) -> ModelState {
    match state {
        Pb::Unknown => ModelState::Unknown,
        Pb::ModelProgressing => ModelState::Progressing,
        Pb::ModelAvailable => ModelState::Available,
        Pb::ModelFailed => ModelState::Failed,
        Pb::ModelTerminating => ModelState::Terminating,
        Pb::ModelTerminated => ModelState::Terminated,
        Pb::ModelTerminateFailed => ModelState::TerminateFailed,
        Pb::ScheduleFailed => ModelState::ScheduleFailed,
        Pb::ModelScaledDown => ModelState::ScaledDown,
        Pb::ModelCreate => ModelState::Create,
        Pb::ModelTerminate => ModelState::Terminate,
    }
}

/// Whether a deleting Model may lose its finalizer: the model is gone from
/// the servers (or never made it) and from the model gateway.
pub fn is_terminal(state: ModelState, gw_state: ModelState) -> bool {
    matches!(
        state,
        ModelState::Terminated
            | ModelState::TerminateFailed
            | ModelState::Failed
            | ModelState::Unknown
            | ModelState::ScheduleFailed
    ) && gw_state == ModelState::Terminated
}

/// The Models that stopped being Ready (their `ModelNotReady` event was
/// recorded) and have not come back: only their return to Ready gets a
/// `ModelReady` event. A Model becoming Ready for the first time gets none:
/// that is what its `Ready` condition and `observedGeneration` already say,
/// and the event would be one more write per Model. Kept in memory (a
/// replica that takes over announces no recovery it did not see fall);
/// at most one entry per Model, dropped when it comes back or goes.
#[derive(Debug, Default)]
pub struct Fallen {
    keys: Mutex<HashSet<(String, String)>>,
}

impl Fallen {
    fn fell(&self, namespace: &str, name: &str) {
        self.keys
            .lock()
            .insert((namespace.to_owned(), name.to_owned()));
    }

    /// Whether `namespace/name` had fallen; forgets it.
    fn recovered(&self, namespace: &str, name: &str) -> bool {
        self.keys
            .lock()
            .remove(&(namespace.to_owned(), name.to_owned()))
    }
}

/// Applies one model status event.
pub async fn apply(
    writer: &ApiWriter,
    fallen: &Fallen,
    event: &StatusEvent,
) -> Result<(), StatusError> {
    let StatusPayload::Model(response) = &*event.payload else {
        return Ok(());
    };
    let ns = &*event.namespace;
    let name = &response.model_name;
    let Some(version) = response.versions.first() else {
        skipped(StatusKind::Model, "no_versions");
        return Ok(());
    };
    let Some(generation) = event_generation(
        StatusKind::Model,
        ns,
        name,
        version.kubernetes_meta.as_ref(),
    ) else {
        return Ok(());
    };
    let observed = version.state.clone().unwrap_or_default();
    let state = model_state(observed.state());
    let gw_state = model_state(observed.model_gw_state());

    if is_terminal(state, gw_state) {
        let current: Option<Model> = read(writer, ns, name).await?;
        if let Some(model) = current
            && model.metadata.deletion_timestamp.is_some()
        {
            writer.remove_finalizer(&model, MODEL_FINALIZER).await?;
            fallen.recovered(ns, name);
            tracing::info!(namespace = ns, name, "model terminated; finalizer removed");
            return Ok(());
        }
    }

    let readiness = Mutex::new(None::<(bool, bool)>);
    let written = writer
        .update_status::<Model, ModelStatus>(ns, name, |model| {
            if model.metadata.generation != Some(generation) {
                skipped(StatusKind::Model, "old_generation");
                return None;
            }
            let old = model.status.clone().unwrap_or_default();
            let mut status = old.clone();
            conditions::model::status_observed(
                &mut status.duck.conditions,
                now(),
                state,
                &observed.reason,
            );
            status.modelgw_ready =
                conditions::model::modelgw_ready(gw_state, &observed.model_gw_reason);
            status.available_replicas = clamp(observed.available_replicas);
            status.replicas = clamp(
                u64::from(observed.available_replicas) + u64::from(observed.unavailable_replicas),
            );
            status.selector = format!("server={}", version.server_name);
            status.duck.observed_generation = Some(generation);
            if model.status.as_ref() == Some(&status) {
                return None;
            }
            let was = conditions::is_ready(&old.duck.conditions);
            let is = conditions::is_ready(&status.duck.conditions);
            *readiness.lock() = Some((was, is));
            Some(status)
        })
        .await?;
    let transition = *readiness.lock();
    if let (Some(model), Some((was, is))) = (written, transition)
        && was != is
    {
        let (type_, reason) = if is {
            if !fallen.recovered(ns, name) {
                return Ok(());
            }
            (EventType::Normal, "ModelReady")
        } else {
            fallen.fell(ns, name);
            (EventType::Warning, "ModelNotReady")
        };
        let note = format!("Model {} is {}", model.name_any(), state);
        writer
            .event(&model, type_, reason, note, "StatusUpdate")
            .await;
    }
    Ok(())
}

fn clamp(n: impl Into<u64>) -> i32 {
    i32::try_from(n.into()).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_needs_a_terminated_gateway() {
        assert!(is_terminal(ModelState::Terminated, ModelState::Terminated));
        assert!(is_terminal(ModelState::Failed, ModelState::Terminated));
        assert!(is_terminal(
            ModelState::ScheduleFailed,
            ModelState::Terminated
        ));
        assert!(!is_terminal(ModelState::Terminated, ModelState::Unknown));
        assert!(!is_terminal(
            ModelState::Terminating,
            ModelState::Terminated
        ));
        assert!(!is_terminal(ModelState::Available, ModelState::Terminated));
    }

    #[test]
    fn every_scheduler_state_maps_to_its_name() {
        for pb in [
            Pb::Unknown,
            Pb::ModelProgressing,
            Pb::ModelAvailable,
            Pb::ModelFailed,
            Pb::ModelTerminating,
            Pb::ModelTerminated,
            Pb::ModelTerminateFailed,
            Pb::ScheduleFailed,
            Pb::ModelScaledDown,
            Pb::ModelCreate,
            Pb::ModelTerminate,
        ] {
            let name = pb.as_str_name();
            let expected = if name == "Unknown" {
                "ModelStateUnknown"
            } else {
                name
            };
            assert_eq!(model_state(pb).as_str(), expected);
        }
    }
}
