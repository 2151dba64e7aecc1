//! Whether a deleted object has left its scheduler, asked by name.
//!
//! A deleting object's finalizer normally goes when the status stream
//! reports its end (the status writer). That event can be lost: the stream
//! was down when it was sent, and the scheduler forgets an object once it
//! has reported it gone, so a new subscription's snapshot no longer lists
//! it. The controller therefore asks again after a while; these are the
//! questions. Unknown to the scheduler (FailedPrecondition or NotFound, the
//! real scheduler's answer for a name it lacks) counts as gone.

use futures_util::FutureExt;
use switchyard_core::schedulers::{Call, Code, SUBSCRIBER_NAME, Scheduler, SchedulerError};

use crate::status::model::{is_terminal, model_state};
use switchyard_proto::scheduler::pipeline_version_state::PipelineStatus;
use switchyard_proto::scheduler::{
    ExperimentStatusRequest, ModelReference, ModelStatusRequest, PipelineStatusRequest,
};

/// `Ok(true)` once the scheduler no longer has the object, or reports it
/// at its end.
pub(crate) type GoneCall = Call<bool>;

/// The first answer of a status listing by name; `None` when the
/// scheduler does not know the name.
async fn first<T>(listing: Call<Vec<T>>) -> Result<Option<T>, SchedulerError> {
    match listing.await {
        Err(error) if matches!(error.code, Code::FailedPrecondition | Code::NotFound) => Ok(None),
        other => other.map(|all| all.into_iter().next()),
    }
}

/// Whether model `name` is gone from its servers and the model gateway.
pub(crate) fn model_gone(client: &dyn Scheduler, name: String) -> GoneCall {
    let request = ModelStatusRequest {
        subscriber_name: SUBSCRIBER_NAME.to_owned(),
        model: Some(ModelReference {
            name,
            version: None,
        }),
        all_versions: false,
    };
    let listing = client.model_status(request);
    async move {
        let Some(response) = first(listing).await? else {
            return Ok(true);
        };
        Ok(response.versions.first().is_none_or(|v| {
            let state = v.state.clone().unwrap_or_default();
            is_terminal(
                model_state(state.state()),
                model_state(state.model_gw_state()),
            )
        }))
    }
    .boxed()
}

/// Whether pipeline `name` is terminated.
pub(crate) fn pipeline_gone(client: &dyn Scheduler, name: String) -> GoneCall {
    let request = PipelineStatusRequest {
        subscriber_name: SUBSCRIBER_NAME.to_owned(),
        name: Some(name),
        all_versions: false,
    };
    let listing = client.pipeline_status(request);
    async move {
        let Some(response) = first(listing).await? else {
            return Ok(true);
        };
        Ok(response.versions.last().is_none_or(|v| {
            v.state.as_ref().map(|s| s.status()) == Some(PipelineStatus::PipelineTerminated)
        }))
    }
    .boxed()
}

/// Whether experiment `name` is stopped.
pub(crate) fn experiment_gone(client: &dyn Scheduler, name: String) -> GoneCall {
    let request = ExperimentStatusRequest {
        subscriber_name: SUBSCRIBER_NAME.to_owned(),
        name: Some(name),
    };
    let listing = client.experiment_status(request);
    async move {
        let Some(response) = first(listing).await? else {
            return Ok(true);
        };
        Ok(!response.active)
    }
    .boxed()
}
