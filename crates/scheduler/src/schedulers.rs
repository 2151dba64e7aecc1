//! The pool as the operator's [`Schedulers`]: each call goes over the
//! namespace's shared connection, and tonic's statuses become
//! [`SchedulerError`]s, so the operator never sees the transport.

use std::sync::Arc;

use futures_util::FutureExt;
use switchyard_core::schedulers::{
    Call, Code, Scheduler, SchedulerError, Schedulers, UnknownNamespace,
};
use switchyard_proto::scheduler::scheduler_client::SchedulerClient;
use switchyard_proto::scheduler::{
    ExperimentStatusRequest, ExperimentStatusResponse, LoadModelRequest, LoadPipelineRequest,
    ModelStatusRequest, ModelStatusResponse, PipelineStatusRequest, PipelineStatusResponse,
    ServerNotifyRequest, StartExperimentRequest, StopExperimentRequest, UnloadModelRequest,
    UnloadPipelineRequest,
};
use tonic::{Response, Status, Streaming};

use crate::{SchedulerPool, UpstreamChannel};

impl Schedulers for SchedulerPool {
    fn scheduler(&self, namespace: &str) -> Result<Arc<dyn Scheduler>, UnknownNamespace> {
        Ok(Arc::new(PooledScheduler {
            client: self.client(namespace)?,
        }))
    }

    fn namespaces(&self) -> Vec<String> {
        SchedulerPool::namespaces(self)
    }
}

/// One namespace's scheduler over the pool's connection.
struct PooledScheduler {
    client: SchedulerClient<UpstreamChannel>,
}

/// A tonic status as the operator's error.
fn error(status: Status) -> SchedulerError {
    SchedulerError::new(Code::from_i32(status.code() as i32), status.message())
}

/// A unary call whose answer carries nothing the operator reads.
macro_rules! unary {
    ($name:ident, $request:ty) => {
        fn $name(&self, request: $request) -> Call<()> {
            let mut client = self.client.clone();
            async move { client.$name(request).await.map(drop).map_err(error) }.boxed()
        }
    };
}

/// A finite status listing, collected to its end.
macro_rules! listing {
    ($name:ident, $request:ty, $response:ty) => {
        fn $name(&self, request: $request) -> Call<Vec<$response>> {
            let mut client = self.client.clone();
            async move { collect(client.$name(request).await).await.map_err(error) }.boxed()
        }
    };
}

async fn collect<T>(call: Result<Response<Streaming<T>>, Status>) -> Result<Vec<T>, Status> {
    let mut stream = call?.into_inner();
    let mut all = Vec::new();
    while let Some(message) = stream.message().await? {
        all.push(message);
    }
    Ok(all)
}

impl Scheduler for PooledScheduler {
    unary!(load_model, LoadModelRequest);
    unary!(unload_model, UnloadModelRequest);
    unary!(load_pipeline, LoadPipelineRequest);
    unary!(unload_pipeline, UnloadPipelineRequest);
    unary!(start_experiment, StartExperimentRequest);
    unary!(stop_experiment, StopExperimentRequest);
    unary!(server_notify, ServerNotifyRequest);
    listing!(model_status, ModelStatusRequest, ModelStatusResponse);
    listing!(
        pipeline_status,
        PipelineStatusRequest,
        PipelineStatusResponse
    );
    listing!(
        experiment_status,
        ExperimentStatusRequest,
        ExperimentStatusResponse
    );
}
