//! Whether a deleted object has left its scheduler, asked by name.
//!
//! A deleting object's finalizer normally goes when the status stream
//! reports its end (the status writer). That event can be lost: the stream
//! was down when it was sent, and the scheduler forgets an object once it
//! has reported it gone, so a new subscription's snapshot no longer lists
//! it. The controller therefore asks again after a while; these are the
//! questions. Unknown to the scheduler (FailedPrecondition or NotFound, the
//! real scheduler's answer for a name it lacks) counts as gone.

use std::future::Future;
use std::pin::Pin;

use tonic::transport::Channel;
use tonic::{Code, Response, Status, Streaming};

use crate::operator::status::model::{is_terminal, model_state};
use crate::pool::subscriptions::SUBSCRIBER_NAME;
use crate::proto::scheduler::pipeline_version_state::PipelineStatus;
use crate::proto::scheduler::scheduler_client::SchedulerClient;
use crate::proto::scheduler::{
    ExperimentStatusRequest, ModelReference, ModelStatusRequest, PipelineStatusRequest,
};

/// `Ok(true)` once the scheduler no longer has the object, or reports it
/// at its end.
pub(crate) type GoneCall = Pin<Box<dyn Future<Output = Result<bool, Status>> + Send>>;

/// The first message of a status listing by name; `None` when the
/// scheduler does not know the name.
async fn first<T>(
    call: impl Future<Output = Result<Response<Streaming<T>>, Status>>,
) -> Result<Option<T>, Status> {
    let listing = async { call.await?.into_inner().message().await };
    match listing.await {
        Err(status) if matches!(status.code(), Code::FailedPrecondition | Code::NotFound) => {
            Ok(None)
        }
        other => other,
    }
}

/// Whether model `name` is gone from its servers and the model gateway.
pub(crate) fn model_gone(mut client: SchedulerClient<Channel>, name: String) -> GoneCall {
    Box::pin(async move {
        let request = ModelStatusRequest {
            subscriber_name: SUBSCRIBER_NAME.to_owned(),
            model: Some(ModelReference {
                name,
                version: None,
            }),
            all_versions: false,
        };
        let Some(response) = first(client.model_status(request)).await? else {
            return Ok(true);
        };
        Ok(response.versions.first().is_none_or(|v| {
            let state = v.state.clone().unwrap_or_default();
            is_terminal(
                model_state(state.state()),
                model_state(state.model_gw_state()),
            )
        }))
    })
}

/// Whether pipeline `name` is terminated.
pub(crate) fn pipeline_gone(mut client: SchedulerClient<Channel>, name: String) -> GoneCall {
    Box::pin(async move {
        let request = PipelineStatusRequest {
            subscriber_name: SUBSCRIBER_NAME.to_owned(),
            name: Some(name),
            all_versions: false,
        };
        let Some(response) = first(client.pipeline_status(request)).await? else {
            return Ok(true);
        };
        Ok(response.versions.last().is_none_or(|v| {
            v.state.as_ref().map(|s| s.status()) == Some(PipelineStatus::PipelineTerminated)
        }))
    })
}

/// Whether experiment `name` is stopped.
pub(crate) fn experiment_gone(mut client: SchedulerClient<Channel>, name: String) -> GoneCall {
    Box::pin(async move {
        let request = ExperimentStatusRequest {
            subscriber_name: SUBSCRIBER_NAME.to_owned(),
            name: Some(name),
        };
        let Some(response) = first(client.experiment_status(request)).await? else {
            return Ok(true);
        };
        Ok(!response.active)
    })
}
