//! The Scheduler's unary methods, served as bytes: a tower service in
//! front of the generated `SchedulerServer` that takes the unary paths and
//! hands every other path (listings, subscriptions, the control plane) to
//! the generated, typed server.
//!
//! In: an HTTP/2 request already through the metrics and admission layers.
//! Its message is taken from its framing (`framed`; or by tonic's server
//! with [`RawCodec`] when it is not the plain case: its bytes, not
//! decoded), checked
//! by `route` (validation, namespace, gatekeeper) and forwarded upstream as
//! the same bytes; the scheduler's response comes back as bytes too. The
//! gateway never rewrites a unary response, so nothing is lost in between.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use prost::Message;
use tonic::body::Body;
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};

use super::framed;
use super::namespace::NamespacedMessage;
use super::raw_codec::RawCodec;
use super::scheduler::Shared;
use super::sparse::Sparse;
use super::validate::Validate;
use switchyard_core::access::Rpc;
use switchyard_proto::chainer::PipelineUpdateStatusMessage;
use switchyard_proto::scheduler::scheduler_server::SchedulerServer;
use switchyard_proto::scheduler::{
    LoadModelRequest, LoadPipelineRequest, ModelUpdateStatusMessage, SchedulerStatusRequest,
    ServerNotifyRequest, StartExperimentRequest, StopExperimentRequest, UnloadModelRequest,
    UnloadPipelineRequest,
};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Checks and forwards one call of a unary method (`route::unary` for the
/// method's request type).
type Handler = fn(Arc<Shared>, &'static Method, Request<Bytes>) -> BoxFuture<Answer>;

type Answer = Result<Response<Bytes>, Status>;

/// A unary method of the Scheduler.
pub(super) struct Method {
    pub rpc: Rpc,
    /// Its HTTP/2 path.
    pub path: &'static str,
    handler: Handler,
}

macro_rules! method {
    ($rpc:ident, $request:ty) => {
        Method {
            rpc: Rpc::$rpc,
            path: concat!("/seldon.mlops.scheduler.Scheduler/", stringify!($rpc)),
            handler: |shared, method, request| {
                Box::pin(async move { shared.unary::<$request>(method, request).await })
            },
        }
    };
}

/// Every unary method of the Scheduler.
static METHODS: [Method; 10] = [
    method!(ServerNotify, ServerNotifyRequest),
    method!(LoadModel, LoadModelRequest),
    method!(UnloadModel, UnloadModelRequest),
    method!(LoadPipeline, LoadPipelineRequest),
    method!(UnloadPipeline, UnloadPipelineRequest),
    method!(StartExperiment, StartExperimentRequest),
    method!(StopExperiment, StopExperimentRequest),
    method!(SchedulerStatus, SchedulerStatusRequest),
    method!(PipelineStatusEvent, PipelineUpdateStatusMessage),
    method!(ModelStatusEvent, ModelUpdateStatusMessage),
];

fn by_path(path: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.path == path)
}

fn by_rpc(rpc: Rpc) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.rpc == rpc)
}

/// The Scheduler service: unary paths as bytes, the rest typed.
#[derive(Clone)]
pub struct SchedulerService<S> {
    shared: Arc<Shared>,
    typed: SchedulerServer<S>,
}

impl<S> SchedulerService<S> {
    pub(super) fn new(shared: Arc<Shared>, typed: SchedulerServer<S>) -> Self {
        SchedulerService { shared, typed }
    }
}

impl<S> NamedService for SchedulerService<S> {
    const NAME: &'static str = "seldon.mlops.scheduler.Scheduler";
}

impl<S> tower::Service<http::Request<Body>> for SchedulerService<S>
where
    SchedulerServer<S>: tower::Service<
            http::Request<Body>,
            Response = http::Response<Body>,
            Error = Infallible,
            Future: Send + 'static,
        >,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.typed.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let Some(method) = by_path(request.uri().path()) else {
            return Box::pin(self.typed.call(request));
        };
        let shared = self.shared.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let frame = match framed::read(body).await {
                Ok(frame) => frame,
                Err(status) => return Ok(status.into_http()),
            };
            let max_response = shared.options.max_response_bytes;
            if let Some(message) = framed::message(&frame, &parts.headers) {
                let request = Request::from_http(http::Request::from_parts(parts, message));
                let answer = (method.handler)(shared, method, request).await;
                return Ok(framed::response(answer, max_response));
            }
            // Not the plain case: tonic's server reads it and answers.
            let request = http::Request::from_parts(parts, Body::new(Full::new(frame)));
            let mut grpc = Grpc::new(RawCodec).apply_max_message_size_config(
                Some(shared.options.max_request_bytes),
                Some(max_response),
            );
            Ok(grpc.unary(Call { shared, method }, request).await)
        })
    }
}

/// One unary call being served.
struct Call {
    shared: Arc<Shared>,
    method: &'static Method,
}

impl UnaryService<Bytes> for Call {
    type Response = Bytes;
    type Future = BoxFuture<Answer>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        (self.method.handler)(self.shared.clone(), self.method, request)
    }
}

impl Shared {
    /// A typed unary call (the generated trait's methods) served by the
    /// same path: encoded, checked, forwarded, and its answer decoded.
    /// The server never calls these (it takes the unary paths as bytes).
    pub(super) async fn typed<Req, Resp>(
        self: &Arc<Self>,
        rpc: Rpc,
        request: Request<Req>,
    ) -> Result<Response<Resp>, Status>
    where
        Req: Message + Default,
        Resp: Message + Default,
    {
        let method = by_rpc(rpc).ok_or_else(|| Status::unimplemented(rpc.method()))?;
        let (metadata, extensions, message) = request.into_parts();
        let body = Bytes::from(message.encode_to_vec());
        let request = Request::from_parts(metadata, extensions, body);
        let answer = (method.handler)(self.clone(), method, request).await?;
        let (metadata, body, extensions) = answer.into_parts();
        let message = Resp::decode(body).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::from_parts(metadata, message, extensions))
    }
}

/// Reads a request's message for the gateway's checks (`sparse`: the
/// fields they need) and validates it. The message the gateway forwards is
/// the client's bytes, not this.
pub(super) fn checked<Req>(body: &Bytes) -> Result<Req, Status>
where
    Req: Sparse + Validate + NamespacedMessage,
{
    let message = Req::read(body.clone())
        .map_err(|e| Status::internal(format!("failed to decode Protobuf message: {e}")))?;
    message.validate()?;
    Ok(message)
}
