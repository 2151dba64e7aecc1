//! After a status stream (re)opens, the bus is made to follow what the
//! scheduler holds now: objects of that kind the bus still holds for the
//! namespace but the scheduler no longer lists are forgotten, and their
//! subscribers told they are gone (`StatusBus::retain_listed`).
//!
//! Seldon's subscription snapshot has no end marker (the scheduler sends
//! one message per object, then changes, on the same stream), so the
//! stream alone cannot say when the snapshot is complete. The finite
//! status RPC of the same kind (`ModelStatus`, `PipelineStatus`,
//! `ExperimentStatus`, `ServerStatus` with no name) does: it lists every
//! object and ends. It is called once the stream is open and before any of
//! the stream's messages are read, so nothing the new stream says can be
//! undone by it; an object deleted after the listing arrives as a final
//! state on the stream. Nothing is called when the bus holds nothing for
//! the namespace (a first connection), so a thousand runtimes connecting
//! cost no listing. A listing that fails or times out leaves the bus as it
//! was (logged): stale objects then stay until the next reconnect.

use std::collections::HashSet;
use std::time::Duration;

use switchyard_core::bus::{StatusBus, StatusKind};
use switchyard_core::metrics as m;
use switchyard_proto::scheduler::scheduler_client::SchedulerClient;
use switchyard_proto::scheduler::{
    ExperimentStatusRequest, ModelStatusRequest, PipelineStatusRequest, ServerStatusRequest,
};
use tonic::{Response, Status, Streaming};

use crate::UpstreamChannel;
use crate::subscriptions::SUBSCRIBER_NAME;

/// Longest wait for a listing (it is one finite stream of every object).
pub(crate) const LISTING_TIMEOUT: Duration = Duration::from_secs(30);

/// Forgets what the scheduler of `namespace` (behind `channel`) no longer
/// lists of `kind`; returns how many objects were forgotten.
pub(crate) async fn follow_listing(
    channel: &UpstreamChannel,
    bus: &StatusBus,
    namespace: &str,
    kind: StatusKind,
) -> Result<usize, Status> {
    if !bus.holds(namespace, kind) {
        return Ok(0);
    }
    let listed = tokio::time::timeout(LISTING_TIMEOUT, list(channel, kind))
        .await
        .map_err(|_| {
            Status::deadline_exceeded(format!("no complete listing in {LISTING_TIMEOUT:?}"))
        })??;
    let forgotten = bus.retain_listed(namespace, kind, &listed);
    if forgotten > 0 {
        metrics::counter!(m::UPSTREAM_UNLISTED_TOTAL, "namespace" => namespace.to_owned(), "kind" => kind.as_str())
            .increment(forgotten as u64);
        tracing::info!(
            namespace,
            kind = kind.as_str(),
            forgotten,
            "objects the scheduler no longer lists are gone"
        );
    }
    Ok(forgotten)
}

/// The names of every object of `kind` the scheduler holds.
async fn list(channel: &UpstreamChannel, kind: StatusKind) -> Result<HashSet<String>, Status> {
    let mut client =
        SchedulerClient::new(channel.clone()).max_decoding_message_size(crate::MAX_MESSAGE_BYTES);
    let subscriber_name = SUBSCRIBER_NAME.to_owned();
    match kind {
        StatusKind::Model => {
            let req = ModelStatusRequest {
                subscriber_name,
                model: None,
                all_versions: false,
            };
            names(client.model_status(req).await, |m| m.model_name).await
        }
        StatusKind::Pipeline => {
            let req = PipelineStatusRequest {
                subscriber_name,
                name: None,
                all_versions: false,
            };
            names(client.pipeline_status(req).await, |p| p.pipeline_name).await
        }
        StatusKind::Experiment => {
            let req = ExperimentStatusRequest {
                subscriber_name,
                name: None,
            };
            names(client.experiment_status(req).await, |e| e.experiment_name).await
        }
        StatusKind::Server => {
            let req = ServerStatusRequest {
                subscriber_name,
                name: None,
            };
            names(client.server_status(req).await, |s| s.server_name).await
        }
    }
}

async fn names<T>(
    call: Result<Response<Streaming<T>>, Status>,
    name: impl Fn(T) -> String,
) -> Result<HashSet<String>, Status> {
    let mut stream = call?.into_inner();
    let mut all = HashSet::new();
    while let Some(message) = stream.message().await? {
        all.insert(name(message));
    }
    Ok(all)
}
