//! The Experiment controller: finalizer `seldon.experiment.finalizer`,
//! StartExperiment per spec generation, StopExperiment once on deletion
//! (docs/seldon-compat.md#experiment-controller). Failures go to `ExperimentReady` (Seldon wrote a
//! `ModelReady` condition that never affected readiness, docs/seldon-compat.md#experiment-controller).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use super::lifecycle::{Call, ManagedKind};
use super::presence::{self, GoneCall};
use switchyard_api::{Condition, DuckStatus, Experiment};
use switchyard_core::schedulers::Scheduler;
use switchyard_translate::conditions::{self, Retryability};
use switchyard_translate::{TranslateError, experiment};

/// The Experiment finalizer, as Seldon names it.
pub use crate::status::EXPERIMENT_FINALIZER;
/// The controller's name in metrics and logs (Seldon's recorder said
/// "pipeline-controller", docs/seldon-compat.md#events).
pub const EXPERIMENT_CONTROLLER: &str = "experiment";

impl ManagedKind for Experiment {
    const FINALIZER: &'static str = EXPERIMENT_FINALIZER;
    const APPLY_RPC: &'static str = "StartExperiment";
    const DELETE_RPC: &'static str = "StopExperiment";
    const REASON_APPLY_FAILED: &'static str = "StartFailed";
    const REASON_DELETE_REQUESTED: &'static str = "StopRequested";
    const REASON_DELETE_FAILED: &'static str = "StopFailed";

    fn apply_call(&self, client: &dyn Scheduler) -> Result<Call, TranslateError> {
        let request = experiment::start_experiment_request(self)?;
        Ok(client.start_experiment(request))
    }

    fn delete_call(&self, client: &dyn Scheduler) -> Result<Call, TranslateError> {
        let request = experiment::stop_experiment_request(self)?;
        Ok(client.stop_experiment(request))
    }

    fn gone_call(&self, client: &dyn Scheduler) -> GoneCall {
        presence::experiment_gone(client, self.name_any())
    }

    fn duck(&self) -> Option<&DuckStatus> {
        self.status.as_ref().map(|s| &s.duck)
    }

    fn apply_failed(conditions: &mut Vec<Condition>, now: Time, retry: Retryability, error: &str) {
        conditions::experiment::request_failed(conditions, now, retry, error);
    }
}
