//! The channel every call to a namespace's scheduler goes through (the
//! pool's streams, the operator's calls, the gateway's forwarded calls):
//! tonic's shared `Channel` under one tower service, [`UpstreamChannel`],
//! which
//!
//! - counts and times each call as `grpc_client_started_total`,
//!   `grpc_client_handled_total{grpc_code}` and
//!   `grpc_client_handling_seconds` (start to status: a stream's whole
//!   life), labelled with the namespace (bounded: one per runtime);
//! - fails a call at once with UNAVAILABLE while the namespace's scheduler
//!   is known silent, and fails a call already waiting when it becomes so
//!   (`liveness`), instead of leaving it to its deadline.
//!
//! A silent call answers with a gRPC status (a trailers-only response), so
//! callers see UNAVAILABLE, never a transport error.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::Status;
use tonic::body::Body;
use tonic::transport::Channel;

use metrics::SharedString;

use crate::liveness::Liveness;
use switchyard_core::metrics as m;

/// What the service's errors are boxed as.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A namespace's scheduler channel with client metrics and fast failure.
/// Cheap to clone (shares the connection).
#[derive(Clone)]
pub struct UpstreamChannel {
    inner: Channel,
    namespace: Arc<str>,
    liveness: Arc<Liveness>,
}

impl UpstreamChannel {
    pub(crate) fn new(inner: Channel, namespace: Arc<str>, liveness: Arc<Liveness>) -> Self {
        UpstreamChannel {
            inner,
            namespace,
            liveness,
        }
    }

    /// The channel without this layer (the liveness probe's own calls).
    pub(crate) fn raw(&self) -> &Channel {
        &self.inner
    }
}

/// The Scheduler service and its methods, so that the labels of every call
/// the pool makes are static strings, not an allocation per call.
const SCHEDULER_SERVICE: &str = "seldon.mlops.scheduler.Scheduler";
const SCHEDULER_METHODS: [&str; 19] = [
    "ServerNotify",
    "LoadModel",
    "UnloadModel",
    "LoadPipeline",
    "UnloadPipeline",
    "StartExperiment",
    "StopExperiment",
    "ServerStatus",
    "ModelStatus",
    "PipelineStatus",
    "ExperimentStatus",
    "SchedulerStatus",
    "SubscribeServerStatus",
    "SubscribeModelStatus",
    "SubscribeExperimentStatus",
    "SubscribePipelineStatus",
    "PipelineStatusEvent",
    "ModelStatusEvent",
    "SubscribeControlPlane",
];

/// A label value: static when known, else owned.
fn label(value: &str, known: &[&'static str]) -> SharedString {
    match known.iter().find(|k| **k == value) {
        Some(k) => SharedString::const_str(k),
        None => SharedString::from(value.to_owned()),
    }
}

/// Labels of one call: service, method, namespace.
struct CallLabels {
    service: SharedString,
    method: SharedString,
    namespace: SharedString,
    start: Instant,
}

impl CallLabels {
    fn new(path: &str, namespace: &Arc<str>) -> Self {
        let path = path.trim_start_matches('/');
        let (service, method) = path.split_once('/').unwrap_or(("unknown", path));
        let labels = CallLabels {
            service: label(service, &[SCHEDULER_SERVICE]),
            method: label(method, &SCHEDULER_METHODS),
            namespace: SharedString::from_shared(namespace.clone()),
            start: Instant::now(),
        };
        metrics::counter!(m::GRPC_CLIENT_STARTED_TOTAL,
            "grpc_service" => labels.service.clone(),
            "grpc_method" => labels.method.clone(),
            "namespace" => labels.namespace.clone())
        .increment(1);
        labels
    }

    /// Records the call's end with `code`.
    fn handled(&self, code: tonic::Code) {
        metrics::counter!(m::GRPC_CLIENT_HANDLED_TOTAL,
            "grpc_service" => self.service.clone(),
            "grpc_method" => self.method.clone(),
            "grpc_code" => code_name(code),
            "namespace" => self.namespace.clone())
        .increment(1);
        metrics::histogram!(m::GRPC_CLIENT_HANDLING_SECONDS,
            "grpc_service" => self.service.clone(),
            "grpc_method" => self.method.clone(),
            "namespace" => self.namespace.clone())
        .record(self.start.elapsed().as_secs_f64());
    }
}

/// The code as go-grpc-prometheus spells it (`OK`, `Unavailable`, ...).
fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "Canceled",
        Unknown => "Unknown",
        InvalidArgument => "InvalidArgument",
        DeadlineExceeded => "DeadlineExceeded",
        NotFound => "NotFound",
        AlreadyExists => "AlreadyExists",
        PermissionDenied => "PermissionDenied",
        ResourceExhausted => "ResourceExhausted",
        FailedPrecondition => "FailedPrecondition",
        Aborted => "Aborted",
        OutOfRange => "OutOfRange",
        Unimplemented => "Unimplemented",
        Internal => "Internal",
        Unavailable => "Unavailable",
        DataLoss => "DataLoss",
        Unauthenticated => "Unauthenticated",
    }
}

/// The status a response's headers carry (a trailers-only response).
fn header_code(headers: &http::HeaderMap) -> Option<tonic::Code> {
    headers
        .get("grpc-status")
        .map(|v| tonic::Code::from_bytes(v.as_bytes()))
}

type CallFuture = Pin<Box<dyn Future<Output = Result<http::Response<Body>, BoxError>> + Send>>;

impl tower::Service<http::Request<Body>> for UpstreamChannel {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = CallFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        tower::Service::poll_ready(&mut self.inner, cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<Body>) -> CallFuture {
        let labels = CallLabels::new(request.uri().path(), &self.namespace);
        if let Some(status) = self.liveness.fail_fast(&self.namespace) {
            labels.handled(status.code());
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let call = tower::Service::call(&mut self.inner, request);
        let liveness = self.liveness.clone();
        let namespace = self.namespace.clone();
        Box::pin(async move {
            let Some(result) = liveness.unless_silent(call).await else {
                let status = liveness.silent_status(&namespace);
                labels.handled(status.code());
                return Ok(status.into_http());
            };
            match result {
                Ok(response) => {
                    liveness.heard();
                    if let Some(code) = header_code(response.headers()) {
                        labels.handled(code);
                        return Ok(response);
                    }
                    Ok(response.map(|body| {
                        Body::new(Recorded {
                            inner: body,
                            labels: Some(labels),
                        })
                    }))
                }
                Err(error) => {
                    // A transport error (no connection): tonic's client
                    // reports it as UNAVAILABLE.
                    labels.handled(tonic::Code::Unavailable);
                    Err(error.into())
                }
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// A response body that records the call's end when its trailers (or
    /// its end, or its drop: a cancelled call) come.
    struct Recorded {
        #[pin]
        inner: Body,
        labels: Option<CallLabels>,
    }

    impl PinnedDrop for Recorded {
        fn drop(this: Pin<&mut Self>) {
            if let Some(labels) = this.project().labels.take() {
                labels.handled(tonic::Code::Cancelled);
            }
        }
    }
}

impl HttpBody for Recorded {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref()
                    && let Some(labels) = this.labels.take()
                {
                    labels.handled(header_code(trailers).unwrap_or(tonic::Code::Unknown));
                }
            }
            Poll::Ready(Some(Err(status))) => {
                if let Some(labels) = this.labels.take() {
                    labels.handled(status.code());
                }
            }
            Poll::Ready(None) => {
                if let Some(labels) = this.labels.take() {
                    // A stream that ends without trailers: a protocol error.
                    labels.handled(tonic::Code::Internal);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
