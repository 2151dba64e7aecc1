//! `seldon.mlops.scheduler.Scheduler`, served for every namespace.
//!
//! Each RPC is one line of policy: unary calls and the control plane are
//! routed to one namespace (`route`), the finite listings go to one or all
//! namespaces (`finite`), the subscriptions are served from the status bus
//! (`subscribe`). Validation, namespace resolution and error mapping live
//! in `validate`, `namespace` and `status`.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::guard::Access;
use super::locate;
use super::namespace::NamespaceResolver;
use super::options::GatewayOptions;
use super::streams::ResponseStream;
use super::unary::SchedulerService;
use switchyard_core::access::Rpc;
use switchyard_core::bus::{StatusBus, StatusKind, StatusPayload};
use switchyard_proto::chainer::{PipelineUpdateStatusMessage, PipelineUpdateStatusResponse};
use switchyard_proto::scheduler::scheduler_server::{Scheduler, SchedulerServer};
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
};
use switchyard_scheduler::SchedulerPool;

/// The Scheduler service for every namespace. Cheap to clone (shared).
#[derive(Clone)]
pub struct SchedulerGateway {
    inner: Arc<Shared>,
}

/// What every handler needs.
pub(super) struct Shared {
    pub pool: SchedulerPool,
    pub bus: StatusBus,
    pub resolver: NamespaceResolver,
    pub options: GatewayOptions,
    /// Cancelled when the gateway stops: every open stream ends.
    pub shutdown: CancellationToken,
    /// Who may call what (`guard`).
    pub access: Access,
    /// The authority suffix, normalized (`locate`).
    pub authority_suffix: Option<String>,
}

impl SchedulerGateway {
    /// A gateway routing through `pool`, serving subscriptions from `bus`,
    /// falling back to the options' default namespace for requests that
    /// name none, admitting calls through `access`. Cancelling `shutdown` ends every stream it serves.
    pub fn new(
        pool: SchedulerPool,
        bus: StatusBus,
        options: GatewayOptions,
        access: Access,
        shutdown: CancellationToken,
    ) -> Self {
        SchedulerGateway {
            inner: Arc::new(Shared {
                pool,
                bus,
                resolver: NamespaceResolver::new(options.default_namespace.clone()),
                authority_suffix: locate::normalize_suffix(options.authority_suffix.as_deref()),
                options,
                shutdown,
                access,
            }),
        }
    }

    /// The tonic service, with the message size limits of the options:
    /// unary calls pass through as bytes (`unary`), the rest typed.
    pub fn into_service(self) -> SchedulerService<Self> {
        let shared = self.inner.clone();
        let options = &shared.options;
        let (decode, encode) = (options.max_request_bytes, options.max_response_bytes);
        let typed = SchedulerServer::new(self)
            .max_decoding_message_size(decode)
            .max_encoding_message_size(encode);
        SchedulerService::new(shared, typed)
    }
}

fn model(p: &StatusPayload) -> Option<&ModelStatusResponse> {
    match p {
        StatusPayload::Model(m) => Some(m),
        _ => None,
    }
}

fn pipeline(p: &StatusPayload) -> Option<&PipelineStatusResponse> {
    match p {
        StatusPayload::Pipeline(m) => Some(m),
        _ => None,
    }
}

fn experiment(p: &StatusPayload) -> Option<&ExperimentStatusResponse> {
    match p {
        StatusPayload::Experiment(m) => Some(m),
        _ => None,
    }
}

fn server(p: &StatusPayload) -> Option<&ServerStatusResponse> {
    match p {
        StatusPayload::Server(m) => Some(m),
        _ => None,
    }
}

/// The name a status request asks for, if any (empty is none).
fn named(name: &Option<String>) -> Option<String> {
    name.clone().filter(|n| !n.is_empty())
}

#[tonic::async_trait]
impl Scheduler for SchedulerGateway {
    async fn server_notify(
        &self,
        request: Request<ServerNotifyRequest>,
    ) -> Result<Response<ServerNotifyResponse>, Status> {
        self.inner.typed(Rpc::ServerNotify, request).await
    }

    async fn load_model(
        &self,
        request: Request<LoadModelRequest>,
    ) -> Result<Response<LoadModelResponse>, Status> {
        self.inner.typed(Rpc::LoadModel, request).await
    }

    async fn unload_model(
        &self,
        request: Request<UnloadModelRequest>,
    ) -> Result<Response<UnloadModelResponse>, Status> {
        self.inner.typed(Rpc::UnloadModel, request).await
    }

    async fn load_pipeline(
        &self,
        request: Request<LoadPipelineRequest>,
    ) -> Result<Response<LoadPipelineResponse>, Status> {
        self.inner.typed(Rpc::LoadPipeline, request).await
    }

    async fn unload_pipeline(
        &self,
        request: Request<UnloadPipelineRequest>,
    ) -> Result<Response<UnloadPipelineResponse>, Status> {
        self.inner.typed(Rpc::UnloadPipeline, request).await
    }

    async fn start_experiment(
        &self,
        request: Request<StartExperimentRequest>,
    ) -> Result<Response<StartExperimentResponse>, Status> {
        self.inner.typed(Rpc::StartExperiment, request).await
    }

    async fn stop_experiment(
        &self,
        request: Request<StopExperimentRequest>,
    ) -> Result<Response<StopExperimentResponse>, Status> {
        self.inner.typed(Rpc::StopExperiment, request).await
    }

    type ServerStatusStream = ResponseStream<ServerStatusResponse>;

    async fn server_status(
        &self,
        request: Request<ServerStatusRequest>,
    ) -> Result<Response<Self::ServerStatusStream>, Status> {
        let name = named(&request.get_ref().name);
        self.inner
            .finite(
                Rpc::ServerStatus,
                request,
                (StatusKind::Server, name),
                |mut c, r| async move { c.server_status(r).await },
            )
            .await
    }

    type ModelStatusStream = ResponseStream<ModelStatusResponse>;

    async fn model_status(
        &self,
        request: Request<ModelStatusRequest>,
    ) -> Result<Response<Self::ModelStatusStream>, Status> {
        let name = request.get_ref().model.as_ref().map(|m| m.name.clone());
        self.inner
            .finite(
                Rpc::ModelStatus,
                request,
                (StatusKind::Model, name),
                |mut c, r| async move { c.model_status(r).await },
            )
            .await
    }

    type PipelineStatusStream = ResponseStream<PipelineStatusResponse>;

    async fn pipeline_status(
        &self,
        request: Request<PipelineStatusRequest>,
    ) -> Result<Response<Self::PipelineStatusStream>, Status> {
        let name = named(&request.get_ref().name);
        self.inner
            .finite(
                Rpc::PipelineStatus,
                request,
                (StatusKind::Pipeline, name),
                |mut c, r| async move { c.pipeline_status(r).await },
            )
            .await
    }

    type ExperimentStatusStream = ResponseStream<ExperimentStatusResponse>;

    async fn experiment_status(
        &self,
        request: Request<ExperimentStatusRequest>,
    ) -> Result<Response<Self::ExperimentStatusStream>, Status> {
        let name = named(&request.get_ref().name);
        self.inner
            .finite(
                Rpc::ExperimentStatus,
                request,
                (StatusKind::Experiment, name),
                |mut c, r| async move { c.experiment_status(r).await },
            )
            .await
    }

    async fn scheduler_status(
        &self,
        request: Request<SchedulerStatusRequest>,
    ) -> Result<Response<SchedulerStatusResponse>, Status> {
        self.inner.typed(Rpc::SchedulerStatus, request).await
    }

    type SubscribeServerStatusStream = ResponseStream<ServerStatusResponse>;

    async fn subscribe_server_status(
        &self,
        request: Request<ServerSubscriptionRequest>,
    ) -> Result<Response<Self::SubscribeServerStatusStream>, Status> {
        self.inner
            .subscribe(
                Rpc::SubscribeServerStatus,
                request,
                StatusKind::Server,
                server,
            )
            .await
    }

    type SubscribeModelStatusStream = ResponseStream<ModelStatusResponse>;

    async fn subscribe_model_status(
        &self,
        request: Request<ModelSubscriptionRequest>,
    ) -> Result<Response<Self::SubscribeModelStatusStream>, Status> {
        self.inner
            .subscribe(Rpc::SubscribeModelStatus, request, StatusKind::Model, model)
            .await
    }

    type SubscribeExperimentStatusStream = ResponseStream<ExperimentStatusResponse>;

    async fn subscribe_experiment_status(
        &self,
        request: Request<ExperimentSubscriptionRequest>,
    ) -> Result<Response<Self::SubscribeExperimentStatusStream>, Status> {
        self.inner
            .subscribe(
                Rpc::SubscribeExperimentStatus,
                request,
                StatusKind::Experiment,
                experiment,
            )
            .await
    }

    type SubscribePipelineStatusStream = ResponseStream<PipelineStatusResponse>;

    async fn subscribe_pipeline_status(
        &self,
        request: Request<PipelineSubscriptionRequest>,
    ) -> Result<Response<Self::SubscribePipelineStatusStream>, Status> {
        self.inner
            .subscribe(
                Rpc::SubscribePipelineStatus,
                request,
                StatusKind::Pipeline,
                pipeline,
            )
            .await
    }

    async fn pipeline_status_event(
        &self,
        request: Request<PipelineUpdateStatusMessage>,
    ) -> Result<Response<PipelineUpdateStatusResponse>, Status> {
        self.inner.typed(Rpc::PipelineStatusEvent, request).await
    }

    async fn model_status_event(
        &self,
        request: Request<ModelUpdateStatusMessage>,
    ) -> Result<Response<ModelUpdateStatusResponse>, Status> {
        self.inner.typed(Rpc::ModelStatusEvent, request).await
    }

    type SubscribeControlPlaneStream = ResponseStream<ControlPlaneResponse>;

    async fn subscribe_control_plane(
        &self,
        request: Request<ControlPlaneSubscriptionRequest>,
    ) -> Result<Response<Self::SubscribeControlPlaneStream>, Status> {
        self.inner
            .passthrough(Rpc::SubscribeControlPlane, request, |mut c, r| async move {
                c.subscribe_control_plane(r).await
            })
            .await
    }
}
