//! The channel every call to a namespace's scheduler goes through (the
//! pool's streams, the operator's calls, the gateway's forwarded calls):
//! the namespace's connections (`link`: hyper's HTTP/2 client for a
//! plaintext scheduler, tonic's channel for TLS) under one tower service,
//! [`UpstreamChannel`], which
//!
//! - counts and times each call as `grpc_client_started_total`,
//!   `grpc_client_handled_total{grpc_code}` and
//!   `grpc_client_handling_seconds` (start to status: a stream's whole
//!   life), labelled with the namespace (bounded: one per runtime;
//!   `client_metrics`);
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
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::Status;
use tonic::body::Body;
use tonic::transport::Channel;

use crate::client_metrics::{CallLabels, ClientMetrics, SCHEDULER_METHODS, UNARY_METHODS};
use crate::connections::{Connections, InFlight};
use crate::link::Link;
use crate::liveness::Liveness;

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

/// Whether `path` is a unary Scheduler method (others, and unknown
/// methods, stay on the primary connection).
fn is_unary(path: &str) -> bool {
    path.strip_prefix("/seldon.mlops.scheduler.Scheduler/")
        .is_some_and(|method| SCHEDULER_METHODS[..UNARY_METHODS].contains(&method))
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
