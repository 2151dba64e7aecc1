//! The `seldon.mlops.scheduler.Scheduler` service served from memory.
//!
//! Each handler: applies the latency and failure knobs (`enter`), validates
//! the request (`validate`), runs one store operation through `Shared`, and
//! maps store errors to status codes via `StoreError`'s one conversion.

use std::sync::Arc;

use futures_util::StreamExt;
use tonic::{Request, Response, Status};

use crate::{
    control_plane,
    error::{Kind, StoreError},
    fanout::ResponseStream,
    faults::Rpc,
    state::Shared,
    validate,
};
use switchyard_proto::chainer::{PipelineUpdateStatusMessage, PipelineUpdateStatusResponse};
use switchyard_proto::scheduler::{
    ControlPlaneResponse, ControlPlaneSubscriptionRequest, ExperimentStatusRequest,
    ExperimentStatusResponse, ExperimentSubscriptionRequest, LoadModelRequest, LoadModelResponse,
    LoadPipelineRequest, LoadPipelineResponse, ModelStatusRequest, ModelStatusResponse,
    ModelSubscriptionRequest, ModelUpdateStatusMessage, ModelUpdateStatusResponse,
    PipelineStatusRequest, PipelineStatusResponse, PipelineSubscriptionRequest,
    SchedulerStatusRequest, SchedulerStatusResponse, ServerNotifyRequest, ServerNotifyResponse,
    ServerStatusRequest, ServerStatusResponse, ServerSubscriptionRequest, StartExperimentRequest,
    StartExperimentResponse, StopExperimentRequest, StopExperimentResponse, UnloadModelRequest,
    UnloadModelResponse, UnloadPipelineRequest, UnloadPipelineResponse,
    scheduler_server::Scheduler,
};

/// The simulated scheduler's gRPC service.
#[derive(Clone)]
pub(crate) struct SchedulerService {
    shared: Arc<Shared>,
}

impl SchedulerService {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Applies the call-latency and failure knobs to a call of `rpc`.
    async fn enter(&self, rpc: Rpc) -> Result<(), Status> {
        enter(&self.shared, rpc).await
    }
}

/// See `SchedulerService::enter`; shared with the health service.
pub(crate) async fn enter(shared: &Shared, rpc: Rpc) -> Result<(), Status> {
    shared.counters.calls[rpc as usize].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (latency, failure) = {
        let knobs = shared.knobs.borrow();
        (knobs.call_latency, knobs.failure.clone())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(rule) = failure {
        rule.check(rpc).inspect_err(|status| {
            tracing::debug!(namespace = %shared.namespace, %rpc, code = ?status.code(), "injected failure");
        })?;
    }
    Ok(())
}

fn finite<T: Send + 'static>(items: Vec<T>) -> ResponseStream<T> {
    Box::pin(futures_util::stream::iter(items.into_iter().map(Ok)))
}

fn not_found(kind: Kind, name: String) -> Status {
    StoreError::NotFound { kind, name }.into()
}

#[tonic::async_trait]
impl Scheduler for SchedulerService {
    async fn server_notify(
        &self,
        request: Request<ServerNotifyRequest>,
    ) -> Result<Response<ServerNotifyResponse>, Status> {
        self.enter(Rpc::ServerNotify).await?;
        let (servers, first_sync) = validate::server_notify(request.into_inner())?;
        let count = servers.len();
        self.shared
            .update(|store, _| Ok(store.server_notify(servers)))?;
        if first_sync {
            self.shared.mark_synced();
        }
        tracing::info!(namespace = %self.shared.namespace, count, first_sync, "servers notified");
        Ok(Response::new(ServerNotifyResponse {}))
    }

    async fn load_model(
        &self,
        request: Request<LoadModelRequest>,
    ) -> Result<Response<LoadModelResponse>, Status> {
        self.enter(Rpc::LoadModel).await?;
        let model = validate::load_model(request.into_inner())?;
        self.shared
            .update(|store, now| store.load_model(model, now))?;
        Ok(Response::new(LoadModelResponse {}))
    }

    async fn unload_model(
        &self,
        request: Request<UnloadModelRequest>,
    ) -> Result<Response<UnloadModelResponse>, Status> {
        self.enter(Rpc::UnloadModel).await?;
        let (name, version, meta) = validate::unload_model(request.into_inner())?;
        self.shared
            .update(|store, now| store.unload_model(&name, version, meta, now))?;
        Ok(Response::new(UnloadModelResponse {}))
    }

    async fn load_pipeline(
        &self,
        request: Request<LoadPipelineRequest>,
    ) -> Result<Response<LoadPipelineResponse>, Status> {
        self.enter(Rpc::LoadPipeline).await?;
        let pipeline = validate::load_pipeline(request.into_inner())?;
        self.shared
            .update(|store, now| store.load_pipeline(pipeline, now))?;
        Ok(Response::new(LoadPipelineResponse {}))
    }

    async fn unload_pipeline(
        &self,
        request: Request<UnloadPipelineRequest>,
    ) -> Result<Response<UnloadPipelineResponse>, Status> {
        self.enter(Rpc::UnloadPipeline).await?;
        let name = validate::unload_pipeline(request.into_inner())?;
        self.shared
            .update(|store, now| store.unload_pipeline(&name, now))?;
        Ok(Response::new(UnloadPipelineResponse {}))
    }

    async fn start_experiment(
        &self,
        request: Request<StartExperimentRequest>,
    ) -> Result<Response<StartExperimentResponse>, Status> {
        self.enter(Rpc::StartExperiment).await?;
        let experiment = validate::start_experiment(request.into_inner())?;
        self.shared
            .update(|store, _| Ok(store.start_experiment(experiment)))?;
        Ok(Response::new(StartExperimentResponse {}))
    }

    async fn stop_experiment(
        &self,
        request: Request<StopExperimentRequest>,
    ) -> Result<Response<StopExperimentResponse>, Status> {
        self.enter(Rpc::StopExperiment).await?;
        let name = validate::stop_experiment(request.into_inner())?;
        self.shared
            .update(|store, _| store.stop_experiment(&name))?;
        Ok(Response::new(StopExperimentResponse {}))
    }

    type ServerStatusStream = ResponseStream<ServerStatusResponse>;

    async fn server_status(
        &self,
        request: Request<ServerStatusRequest>,
    ) -> Result<Response<Self::ServerStatusStream>, Status> {
        self.enter(Rpc::ServerStatus).await?;
        let items = match validate::name_filter(request.into_inner().name) {
            None => self.shared.read(|store| store.server_statuses()),
            Some(name) => vec![
                self.shared
                    .read(|store| store.server_status(&name))
                    .ok_or_else(|| not_found(Kind::Server, name))?,
            ],
        };
        Ok(Response::new(finite(items)))
    }

    type ModelStatusStream = ResponseStream<ModelStatusResponse>;

    async fn model_status(
        &self,
        request: Request<ModelStatusRequest>,
    ) -> Result<Response<Self::ModelStatusStream>, Status> {
        self.enter(Rpc::ModelStatus).await?;
        let reference = request.into_inner().model.filter(|m| !m.name.is_empty());
        let items = match reference {
            None => self.shared.read(|store| store.model_statuses()),
            Some(reference) => {
                let found = self.shared.read(|store| {
                    store
                        .models
                        .get(&reference.name)
                        .map(|r| (r.version, r.status()))
                });
                let (latest, status) =
                    found.ok_or_else(|| not_found(Kind::Model, reference.name.clone()))?;
                if let Some(version) = reference.version.filter(|v| *v != latest) {
                    return Err(StoreError::VersionNotFound {
                        kind: Kind::Model,
                        name: reference.name,
                        version,
                        latest,
                    }
                    .into());
                }
                vec![status]
            }
        };
        Ok(Response::new(finite(items)))
    }

    type PipelineStatusStream = ResponseStream<PipelineStatusResponse>;

    async fn pipeline_status(
        &self,
        request: Request<PipelineStatusRequest>,
    ) -> Result<Response<Self::PipelineStatusStream>, Status> {
        self.enter(Rpc::PipelineStatus).await?;
        let items = match validate::name_filter(request.into_inner().name) {
            None => self.shared.read(|store| store.pipeline_statuses()),
            Some(name) => vec![
                self.shared
                    .read(|store| store.pipelines.get(&name).map(|r| r.status()))
                    .ok_or_else(|| not_found(Kind::Pipeline, name))?,
            ],
        };
        Ok(Response::new(finite(items)))
    }

    type ExperimentStatusStream = ResponseStream<ExperimentStatusResponse>;

    async fn experiment_status(
        &self,
        request: Request<ExperimentStatusRequest>,
    ) -> Result<Response<Self::ExperimentStatusStream>, Status> {
        self.enter(Rpc::ExperimentStatus).await?;
        let items = match validate::name_filter(request.into_inner().name) {
            None => self.shared.read(|store| store.experiment_statuses()),
            Some(name) => vec![
                self.shared
                    .read(|store| store.experiments.get(&name).map(|r| r.status()))
                    .ok_or_else(|| not_found(Kind::Experiment, name))?,
            ],
        };
        Ok(Response::new(finite(items)))
    }

    async fn scheduler_status(
        &self,
        _request: Request<SchedulerStatusRequest>,
    ) -> Result<Response<SchedulerStatusResponse>, Status> {
        self.enter(Rpc::SchedulerStatus).await?;
        Ok(Response::new(SchedulerStatusResponse {
            application_version: self.shared.application_version.clone(),
        }))
    }

    type SubscribeServerStatusStream = ResponseStream<ServerStatusResponse>;

    async fn subscribe_server_status(
        &self,
        request: Request<ServerSubscriptionRequest>,
    ) -> Result<Response<Self::SubscribeServerStatusStream>, Status> {
        self.enter(Rpc::SubscribeServerStatus).await?;
        log_subscriber(&self.shared, "server", &request.get_ref().subscriber_name);
        Ok(Response::new(self.shared.subscribe_servers()))
    }

    type SubscribeModelStatusStream = ResponseStream<ModelStatusResponse>;

    /// Like the real scheduler, model subscribers get their snapshot only
    /// once the first sync is done (or its deadline passed).
    async fn subscribe_model_status(
        &self,
        request: Request<ModelSubscriptionRequest>,
    ) -> Result<Response<Self::SubscribeModelStatusStream>, Status> {
        self.enter(Rpc::SubscribeModelStatus).await?;
        log_subscriber(&self.shared, "model", &request.get_ref().subscriber_name);
        let shared = Arc::clone(&self.shared);
        let stream = futures_util::stream::once(async move {
            match shared.wait_synced().await {
                Ok(()) => shared.subscribe_models(),
                Err(status) => {
                    Box::pin(futures_util::stream::once(std::future::ready(Err(status))))
                }
            }
        })
        .flatten();
        Ok(Response::new(Box::pin(stream)))
    }

    type SubscribeExperimentStatusStream = ResponseStream<ExperimentStatusResponse>;

    async fn subscribe_experiment_status(
        &self,
        request: Request<ExperimentSubscriptionRequest>,
    ) -> Result<Response<Self::SubscribeExperimentStatusStream>, Status> {
        self.enter(Rpc::SubscribeExperimentStatus).await?;
        log_subscriber(
            &self.shared,
            "experiment",
            &request.get_ref().subscriber_name,
        );
        Ok(Response::new(self.shared.subscribe_experiments()))
    }

    type SubscribePipelineStatusStream = ResponseStream<PipelineStatusResponse>;

    async fn subscribe_pipeline_status(
        &self,
        request: Request<PipelineSubscriptionRequest>,
    ) -> Result<Response<Self::SubscribePipelineStatusStream>, Status> {
        self.enter(Rpc::SubscribePipelineStatus).await?;
        log_subscriber(&self.shared, "pipeline", &request.get_ref().subscriber_name);
        Ok(Response::new(self.shared.subscribe_pipelines()))
    }

    async fn pipeline_status_event(
        &self,
        request: Request<PipelineUpdateStatusMessage>,
    ) -> Result<Response<PipelineUpdateStatusResponse>, Status> {
        self.enter(Rpc::PipelineStatusEvent).await?;
        let msg = request.into_inner();
        tracing::debug!(
            namespace = %self.shared.namespace,
            pipeline = msg.update.as_ref().map_or("", |u| u.pipeline.as_str()),
            success = msg.success,
            "pipeline status event acknowledged"
        );
        Ok(Response::new(PipelineUpdateStatusResponse {}))
    }

    async fn model_status_event(
        &self,
        request: Request<ModelUpdateStatusMessage>,
    ) -> Result<Response<ModelUpdateStatusResponse>, Status> {
        self.enter(Rpc::ModelStatusEvent).await?;
        let msg = request.into_inner();
        tracing::debug!(
            namespace = %self.shared.namespace,
            model = msg.update.as_ref().map_or("", |u| u.model.as_str()),
            success = msg.success,
            "model status event acknowledged"
        );
        Ok(Response::new(ModelUpdateStatusResponse {}))
    }

    type SubscribeControlPlaneStream = ResponseStream<ControlPlaneResponse>;

    async fn subscribe_control_plane(
        &self,
        request: Request<ControlPlaneSubscriptionRequest>,
    ) -> Result<Response<Self::SubscribeControlPlaneStream>, Status> {
        self.enter(Rpc::SubscribeControlPlane).await?;
        log_subscriber(
            &self.shared,
            "control-plane",
            &request.get_ref().subscriber_name,
        );
        Ok(Response::new(control_plane::stream(Arc::clone(
            &self.shared,
        ))))
    }
}

fn log_subscriber(shared: &Shared, stream: &str, subscriber: &str) {
    tracing::info!(namespace = %shared.namespace, stream, subscriber, "new subscriber");
}
