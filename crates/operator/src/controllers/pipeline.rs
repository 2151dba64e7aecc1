//! The Pipeline controller: finalizer `seldon.pipeline.finalizer`,
//! LoadPipeline per spec generation, UnloadPipeline once on deletion, which
//! marks `PipelineReady` False "PipelineTerminating" (docs/seldon-compat.md#pipeline-controller).
//! A Pipeline the scheduler reports terminated while its resource is not
//! being deleted (unloaded directly) is loaded again.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use super::lifecycle::{Call, ManagedKind, reported_gone};
use super::presence::{self, GoneCall};
use switchyard_api::{Condition, DuckStatus, Pipeline};
use switchyard_core::schedulers::Scheduler;
use switchyard_translate::conditions::pipeline::PipelineStatus;
use switchyard_translate::conditions::{self, Retryability};
use switchyard_translate::{TranslateError, pipeline};

/// The Pipeline finalizer, as Seldon names it.
pub use crate::status::PIPELINE_FINALIZER;
/// The controller's name in metrics and logs.
pub const PIPELINE_CONTROLLER: &str = "pipeline";

impl ManagedKind for Pipeline {
    const FINALIZER: &'static str = PIPELINE_FINALIZER;
    const APPLY_RPC: &'static str = "LoadPipeline";
    const DELETE_RPC: &'static str = "UnloadPipeline";
    const REASON_APPLY_FAILED: &'static str = "LoadFailed";
    const REASON_DELETE_REQUESTED: &'static str = "UnloadRequested";
    const REASON_DELETE_FAILED: &'static str = "UnloadFailed";

    fn apply_call(&self, client: &dyn Scheduler) -> Result<Call, TranslateError> {
        let request = pipeline::load_pipeline_request(self)?;
        Ok(client.load_pipeline(request))
    }

    fn delete_call(&self, client: &dyn Scheduler) -> Result<Call, TranslateError> {
        let request = pipeline::unload_pipeline_request(self)?;
        Ok(client.unload_pipeline(request))
    }

    fn gone_call(&self, client: &dyn Scheduler) -> GoneCall {
        presence::pipeline_gone(client, self.name_any())
    }

    fn duck(&self) -> Option<&DuckStatus> {
        self.status.as_ref().map(|s| &s.duck)
    }

    fn lost(&self) -> bool {
        reported_gone(
            self.duck(),
            self.metadata.generation,
            conditions::PIPELINE_READY,
            &[PipelineStatus::Terminated.as_str()],
        )
    }

    fn apply_failed(conditions: &mut Vec<Condition>, now: Time, retry: Retryability, error: &str) {
        conditions::pipeline::load_failed(conditions, now, retry, error);
    }

    fn delete_accepted(conditions: &mut Vec<Condition>, now: Time) {
        conditions::pipeline::unload_requested(conditions, now);
    }
}
