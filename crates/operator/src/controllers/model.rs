//! The Model controller: finalizer `seldon.model.finalizer`, LoadModel per
//! spec generation, UnloadModel once on deletion (docs/seldon-compat.md#model-controller). Failures
//! go to `ModelReady` through `conditions::model::request_failed`. A Model
//! the scheduler reports terminated (or unknown) while its resource is not
//! being deleted (an UnloadModel that bypassed Kubernetes) is loaded again.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use super::lifecycle::{Call, ManagedKind, reported_gone};
use super::presence::{self, GoneCall};
use switchyard_api::{Condition, DuckStatus, Model};
use switchyard_core::schedulers::Scheduler;
use switchyard_translate::conditions::model::ModelState;
use switchyard_translate::conditions::{self, Retryability};
use switchyard_translate::{TranslateError, model};

/// The Model finalizer, as Seldon names it (objects move between operators).
pub use crate::status::MODEL_FINALIZER;
/// The controller's name in metrics and logs.
pub const MODEL_CONTROLLER: &str = "model";

impl ManagedKind for Model {
    const FINALIZER: &'static str = MODEL_FINALIZER;
    const APPLY_RPC: &'static str = "LoadModel";
    const DELETE_RPC: &'static str = "UnloadModel";
    const REASON_APPLY_FAILED: &'static str = "LoadFailed";
    const REASON_DELETE_REQUESTED: &'static str = "UnloadRequested";
    const REASON_DELETE_FAILED: &'static str = "UnloadFailed";

    fn apply_call(&self, client: &dyn Scheduler) -> Result<Call, TranslateError> {
        let request = model::load_model_request(self)?;
        Ok(client.load_model(request))
    }

    fn delete_call(&self, client: &dyn Scheduler) -> Result<Call, TranslateError> {
        let request = model::unload_model_request(self)?;
        Ok(client.unload_model(request))
    }

    fn gone_call(&self, client: &dyn Scheduler) -> GoneCall {
        presence::model_gone(client, self.name_any())
    }

    fn duck(&self) -> Option<&DuckStatus> {
        self.status.as_ref().map(|s| &s.duck)
    }

    fn lost(&self) -> bool {
        reported_gone(
            self.duck(),
            self.metadata.generation,
            conditions::MODEL_READY,
            &[
                ModelState::Terminated.as_str(),
                ModelState::Unknown.as_str(),
            ],
        )
    }

    fn apply_failed(conditions: &mut Vec<Condition>, now: Time, retry: Retryability, error: &str) {
        conditions::model::request_failed(conditions, now, retry, error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;
    use switchyard_api::ModelSpec;
    use switchyard_api::model::ModelStatus;

    fn model(generation: i64, observed: i64, state: ModelState) -> Model {
        let mut m = Model::new("iris", ModelSpec::default());
        m.metadata.generation = Some(generation);
        let mut status = ModelStatus::default();
        conditions::model::status_observed(
            &mut status.duck.conditions,
            Time(Timestamp::UNIX_EPOCH),
            state,
            "",
        );
        status.duck.observed_generation = Some(observed);
        m.status = Some(status);
        m
    }

    #[test]
    fn lost_only_when_the_scheduler_dropped_the_current_generation() {
        assert!(model(1, 1, ModelState::Terminated).lost());
        assert!(model(2, 2, ModelState::Unknown).lost());
        assert!(
            !model(2, 1, ModelState::Terminated).lost(),
            "an older generation"
        );
        for held in [
            ModelState::Available,
            ModelState::Progressing,
            ModelState::Terminating,
            ModelState::Failed,
        ] {
            assert!(!model(1, 1, held).lost(), "{held}");
        }
        assert!(
            !Model::new("fresh", ModelSpec::default()).lost(),
            "no status yet"
        );
    }
}
