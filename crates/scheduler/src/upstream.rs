//! The channel every call to a namespace's scheduler goes through (the
//! pool's streams, the operator's calls, the gateway's forwarded calls):
//! the namespace's connections (`link`: hyper's HTTP/2 client for a
//! plaintext scheduler, tonic's channel for TLS) under one tower service,
//! [`UpstreamChannel`], which
//!
//! - counts and times each call as `grpc_client_started_total`,
//!   `grpc_client_handled_total{grpc_code}` and
//!   `grpc_client_handling_seconds` (start to status: a stream's whole
//!   life), labelled with the namespace (bounded: one per runtime); a
//!   unary call that ends OK records on handles kept per namespace;
//! - fails a call at once with UNAVAILABLE while the namespace's scheduler
//!   is known silent, and fails a call already waiting when it becomes so
//!   (`liveness`), instead of leaving it to its deadline;
//! - sends unary calls over the namespace's connections, more than one
//!   under load (`connections`); streams stay on the primary connection.
//!
//! A silent call answers with a gRPC status (a trailers-only response), so
//! callers see UNAVAILABLE, never a transport error.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::Status;
use tonic::body::Body;
use tonic::transport::Channel;

use metrics::{Counter, Histogram, SharedString};

use crate::connections::{Connections, InFlight};
use crate::link::Link;
use crate::liveness::Liveness;
use switchyard_core::metrics as m;

/// What the service's errors are boxed as.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A namespace's scheduler channel with client metrics and fast failure.
/// Cheap to clone (shares the connections).
#[derive(Clone)]
pub struct UpstreamChannel {
    connections: Arc<Connections>,
    namespace: Arc<str>,
    liveness: Arc<Liveness>,
    metrics: Arc<ClientMetrics>,
}

impl UpstreamChannel {
    pub(crate) fn new(
        connections: Arc<Connections>,
        namespace: Arc<str>,
        liveness: Arc<Liveness>,
    ) -> Self {
        UpstreamChannel {
            connections,
            metrics: ClientMetrics::new(&namespace),
            namespace,
            liveness,
        }
    }

    /// Over `channel` alone, never spreading.
    pub fn single(channel: Channel, namespace: Arc<str>, liveness: Arc<Liveness>) -> Self {
        Self::new(
            Connections::single(channel, namespace.clone()),
            namespace,
            liveness,
        )
    }

    /// The primary connection without this layer (the liveness probe's
    /// own calls).
    pub(crate) fn raw(&self) -> &Link {
        self.connections.primary()
    }

    /// Connections open (or being dialled) to the scheduler, the primary
    /// included.
    pub fn open_connections(&self) -> usize {
        self.connections.open()
    }
}

/// The Scheduler service and its methods, so that the labels of every call
/// the pool makes are static strings, not an allocation per call.
const SCHEDULER_SERVICE: &str = "seldon.mlops.scheduler.Scheduler";
const SCHEDULER_METHODS: [&str; 19] = [
    // Unary (the first `UNARY_METHODS`): spread over the connections.
    "ServerNotify",
    "LoadModel",
    "UnloadModel",
    "LoadPipeline",
    "UnloadPipeline",
    "StartExperiment",
    "StopExperiment",
    "SchedulerStatus",
    "PipelineStatusEvent",
    "ModelStatusEvent",
    // Server streams: on the primary connection.
    "ServerStatus",
    "ModelStatus",
    "PipelineStatus",
    "ExperimentStatus",
    "SubscribeServerStatus",
    "SubscribeModelStatus",
    "SubscribeExperimentStatus",
    "SubscribePipelineStatus",
    "SubscribeControlPlane",
];
/// How many of `SCHEDULER_METHODS` are unary.
const UNARY_METHODS: usize = 10;

/// Whether `path` is a unary Scheduler method (others, and unknown
/// methods, stay on the primary connection).
fn is_unary(path: &str) -> bool {
    path.strip_prefix("/seldon.mlops.scheduler.Scheduler/")
        .is_some_and(|method| SCHEDULER_METHODS[..UNARY_METHODS].contains(&method))
}

/// A label value: static when known, else owned.
fn label(value: &str, known: &[&'static str]) -> SharedString {
    match known.iter().find(|k| **k == value) {
        Some(k) => SharedString::const_str(k),
        None => SharedString::from(value.to_owned()),
    }
}

/// One unary method's handles for the calls that end OK, registered with
/// the recorder on first use and kept: such a call records without
/// building keys or looking them up. Other calls (streams, errors) look
/// their series up.
#[derive(Default)]
struct UnaryHandles {
    started: OnceLock<Counter>,
    handling: OnceLock<Histogram>,
    ok: OnceLock<Counter>,
}

/// The client metrics of one namespace: its label, and the unary methods'
/// handles, allocated on the first unary call (a runtime that only
/// streams pays for none).
pub(crate) struct ClientMetrics {
    namespace: SharedString,
    unary: OnceLock<Box<[UnaryHandles; UNARY_METHODS]>>,
}

impl ClientMetrics {
    fn new(namespace: &Arc<str>) -> Arc<Self> {
        Arc::new(ClientMetrics {
            namespace: SharedString::from_shared(namespace.clone()),
            unary: OnceLock::new(),
        })
    }

    fn unary(&self, index: usize) -> &UnaryHandles {
        &self.unary.get_or_init(Box::default)[index]
    }
}

/// Labels of one call: service, method, namespace.
struct CallLabels {
    /// The method's place in `SCHEDULER_METHODS`, when unary.
    unary: Option<usize>,
    service: SharedString,
    method: SharedString,
    metrics: Arc<ClientMetrics>,
    start: Instant,
}

impl CallLabels {
    fn new(path: &str, metrics: &Arc<ClientMetrics>) -> Self {
        let path = path.trim_start_matches('/');
        let (service, method) = path.split_once('/').unwrap_or(("unknown", path));
        let service = label(service, &[SCHEDULER_SERVICE]);
        let unary = (*service == *SCHEDULER_SERVICE)
            .then(|| {
                SCHEDULER_METHODS[..UNARY_METHODS]
                    .iter()
                    .position(|m| *m == method)
            })
            .flatten();
        let labels = CallLabels {
            unary,
            method: label(method, &SCHEDULER_METHODS),
            service,
            metrics: metrics.clone(),
            start: Instant::now(),
        };
        let started = || {
            metrics::counter!(m::GRPC_CLIENT_STARTED_TOTAL,
                "grpc_service" => labels.service.clone(),
                "grpc_method" => labels.method.clone(),
                "namespace" => labels.metrics.namespace.clone())
        };
        match unary {
            Some(i) => metrics.unary(i).started.get_or_init(started).increment(1),
            None => started().increment(1),
        }
        labels
    }

    /// Records the call's end with `code`.
    fn handled(&self, code: tonic::Code) {
        let handled = || {
            metrics::counter!(m::GRPC_CLIENT_HANDLED_TOTAL,
                "grpc_service" => self.service.clone(),
                "grpc_method" => self.method.clone(),
                "grpc_code" => code_name(code),
                "namespace" => self.metrics.namespace.clone())
        };
        let handling = || {
            metrics::histogram!(m::GRPC_CLIENT_HANDLING_SECONDS,
                "grpc_service" => self.service.clone(),
                "grpc_method" => self.method.clone(),
                "namespace" => self.metrics.namespace.clone())
        };
        let seconds = self.start.elapsed().as_secs_f64();
        match self.unary.map(|i| self.metrics.unary(i)) {
            Some(kept) => {
                if code == tonic::Code::Ok {
                    kept.ok.get_or_init(handled).increment(1);
                } else {
                    handled().increment(1);
                }
                kept.handling.get_or_init(handling).record(seconds);
            }
            None => {
                handled().increment(1);
                handling().record(seconds);
            }
        }
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
    const GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");
    headers
        .get(&GRPC_STATUS)
        .map(|v| tonic::Code::from_bytes(v.as_bytes()))
}

type CallFuture = Pin<Box<dyn Future<Output = Result<http::Response<Body>, BoxError>> + Send>>;

impl tower::Service<http::Request<Body>> for UpstreamChannel {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = CallFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness is the chosen connection's, awaited in the call (the
        // connection is chosen by the request).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> CallFuture {
        let labels = CallLabels::new(request.uri().path(), &self.metrics);
        if let Some(status) = self.liveness.fail_fast(&self.namespace) {
            labels.handled(status.code());
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let (channel, held) = if is_unary(request.uri().path()) {
            let held = self.connections.pick();
            (held.channel(), Some(held))
        } else {
            (self.connections.primary().clone(), None)
        };
        let call = tower::ServiceExt::oneshot(channel, request);
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
                            _held: held,
                        })
                    }))
                }
                Err(error) => {
                    // A transport error (no connection): tonic's client
                    // reports it as UNAVAILABLE. An extra connection is
                    // dropped; the primary reconnects by itself.
                    if let Some(held) = &held {
                        held.transport_failed();
                    }
                    labels.handled(tonic::Code::Unavailable);
                    Err(error)
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
        // A unary call's hold on its connection, until the body ends.
        _held: Option<InFlight>,
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

#[cfg(test)]
mod tests {
    use super::is_unary;

    #[test]
    fn only_unary_scheduler_methods_are_spread() {
        let path = |m: &str| format!("/seldon.mlops.scheduler.Scheduler/{m}");
        for unary in ["LoadModel", "SchedulerStatus", "ModelStatusEvent"] {
            assert!(is_unary(&path(unary)), "{unary}");
        }
        for stream in [
            "ModelStatus",
            "SubscribeModelStatus",
            "SubscribeControlPlane",
        ] {
            assert!(!is_unary(&path(stream)), "{stream}");
        }
        assert!(!is_unary(&path("Unknown")));
        assert!(!is_unary("/other.Service/LoadModel"));
    }
}
