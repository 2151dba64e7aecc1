//! gRPC server metrics as a tower layer, in the names people already
//! chart (go-grpc-prometheus): `grpc_server_started_total`,
//! `grpc_server_handled_total`, `grpc_server_handling_seconds` and
//! `grpc_server_msg_sent_total`.
//!
//! In: every HTTP request tonic's server receives, before routing. Out:
//! counters and a histogram labelled by service, method, type and code.
//! The code comes from the `grpc-status` header of a trailers-only
//! response (errors answered at once), else from the trailers at the end of
//! the body, so a stream is recorded when it ends, with the code it ended
//! with. A response dropped before it ended (the client went away) counts as
//! `Canceled`. Messages sent are counted from the gRPC framing of the body.
//! Label values are bounded: method names come from a fixed list of the
//! services we serve; any other path is `unknown`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderName};
use http_body::{Body, Frame, SizeHint};
use tonic::Code;
use tower::{Layer, Service};

use switchyard_core::metrics as m;

pub use crate::metrics_labels::{GrpcType, METHODS, Method, code_label};
use crate::metrics_labels::{Labels, Table, table};

/// `grpc-status`, parsed once.
const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");

/// The code in a `grpc-status` header, if there is one.
fn grpc_status(headers: &HeaderMap) -> Option<Code> {
    let value = headers.get(&GRPC_STATUS)?;
    let code = std::str::from_utf8(value.as_bytes())
        .ok()?
        .trim()
        .parse::<i32>()
        .ok()?;
    Some(Code::from_i32(code))
}

/// One call being measured. Records `handled` exactly once: when told how
/// it ended, or as `Canceled` if dropped first.
struct Call {
    labels: Labels,
    handles: Arc<Table>,
    start: Instant,
    done: bool,
}

impl Call {
    fn start(labels: Labels, handles: Arc<Table>) -> Call {
        let l = labels;
        handles[l.index]
            .started
            .get_or_init(|| metrics::counter!(m::GRPC_SERVER_STARTED_TOTAL, "grpc_service" => l.service, "grpc_method" => l.method, "grpc_type" => l.kind))
            .increment(1);
        Call {
            labels,
            handles,
            start: Instant::now(),
            done: false,
        }
    }

    fn sent(&self, messages: u64) {
        let l = self.labels;
        self.handles[l.index]
            .sent
            .get_or_init(|| metrics::counter!(m::GRPC_SERVER_MSG_SENT_TOTAL, "grpc_service" => l.service, "grpc_method" => l.method, "grpc_type" => l.kind))
            .increment(messages);
    }

    fn finish(mut self, code: Code) {
        self.record(code);
    }

    fn record(&mut self, code: Code) {
        if self.done {
            return;
        }
        self.done = true;
        let l = self.labels;
        let handles = &self.handles[l.index];
        handles.handled[code as usize]
            .get_or_init(|| metrics::counter!(m::GRPC_SERVER_HANDLED_TOTAL, "grpc_service" => l.service, "grpc_method" => l.method, "grpc_type" => l.kind, "grpc_code" => code_label(code)))
            .increment(1);
        handles
            .handling
            .get_or_init(|| metrics::histogram!(m::GRPC_SERVER_HANDLING_SECONDS, "grpc_service" => l.service, "grpc_method" => l.method, "grpc_type" => l.kind))
            .record(self.start.elapsed().as_secs_f64());
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.record(Code::Cancelled);
    }
}

/// Counts gRPC messages in a byte stream (5-byte prefix: flag, length).
#[derive(Debug, Default)]
struct Framing {
    header: [u8; 5],
    filled: usize,
    remaining: usize,
}

impl Framing {
    /// Feeds `data`; returns how many message prefixes it completed.
    fn feed(&mut self, mut data: &[u8]) -> u64 {
        let mut messages = 0;
        while !data.is_empty() {
            if self.remaining > 0 {
                let n = self.remaining.min(data.len());
                self.remaining -= n;
                data = &data[n..];
                continue;
            }
            let n = (5 - self.filled).min(data.len());
            self.header[self.filled..self.filled + n].copy_from_slice(&data[..n]);
            self.filled += n;
            data = &data[n..];
            if self.filled == 5 {
                let [_, a, b, c, d] = self.header;
                self.remaining = u32::from_be_bytes([a, b, c, d]) as usize;
                self.filled = 0;
                messages += 1;
            }
        }
        messages
    }
}

/// The layer: wraps a service in [`GrpcMetrics`].
#[derive(Clone)]
pub struct GrpcMetricsLayer {
    handles: Arc<Table>,
}

impl<S> Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics {
            inner,
            handles: self.handles.clone(),
        }
    }
}

/// Records gRPC server metrics for every request to `S`.
#[derive(Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
    handles: Arc<Table>,
}

impl GrpcMetrics<()> {
    /// The layer that adds these metrics to a tonic server.
    pub fn layer() -> GrpcMetricsLayer {
        GrpcMetricsLayer { handles: table() }
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcMetrics<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: Body<Data = Bytes>,
{
    type Response = http::Response<MeteredBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let call = Call::start(Labels::of_path(request.uri().path()), self.handles.clone());
        ResponseFuture {
            inner: self.inner.call(request),
            call: Some(call),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response of a [`GrpcMetrics`] service.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        call: Option<Call>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    ResBody: Body<Data = Bytes>,
{
    type Output = Result<http::Response<MeteredBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let call = this.call.take();
        Poll::Ready(match result {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                let call = match (call, grpc_status(&parts.headers)) {
                    // Trailers-only: the call ended here.
                    (Some(call), Some(code)) => {
                        call.finish(code);
                        None
                    }
                    (call, _) => call,
                };
                Ok(http::Response::from_parts(
                    parts,
                    MeteredBody {
                        inner: body,
                        call,
                        framing: Framing::default(),
                    },
                ))
            }
            Err(error) => {
                if let Some(call) = call {
                    call.finish(Code::Unknown);
                }
                Err(error)
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// A response body that records how its call ended.
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
        framing: Framing,
    }
}

impl<B> Body for MeteredBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = ready!(this.inner.poll_frame(cx));
        match &polled {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let messages = this.framing.feed(data);
                    if let (Some(call), true) = (this.call.as_ref(), messages > 0) {
                        call.sent(messages);
                    }
                } else if let Some(trailers) = frame.trailers_ref()
                    && let Some(call) = this.call.take()
                {
                    call.finish(grpc_status(trailers).unwrap_or(Code::Unknown));
                }
            }
            Some(Err(_)) | None => {
                if let Some(call) = this.call.take() {
                    call.finish(Code::Unknown);
                }
            }
        }
        Poll::Ready(polled)
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
    use super::*;

    #[test]
    fn framing_counts_messages_across_chunks() {
        let mut f = Framing::default();
        // Two messages of 3 and 0 bytes, then one of 2 split over chunks.
        let bytes = [0u8, 0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 9, 9];
        assert_eq!(f.feed(&bytes[..7]), 1);
        assert_eq!(f.feed(&bytes[7..15]), 1);
        assert_eq!(f.feed(&bytes[15..17]), 0);
        assert_eq!(f.feed(&bytes[17..]), 1);
        assert_eq!(f.remaining, 0);
    }

    #[test]
    fn grpc_status_header_parses() {
        let mut h = HeaderMap::new();
        assert_eq!(grpc_status(&h), None);
        h.insert("grpc-status", "5".parse().unwrap());
        assert_eq!(grpc_status(&h), Some(Code::NotFound));
        h.insert("grpc-status", "99".parse().unwrap());
        assert_eq!(grpc_status(&h), Some(Code::Unknown));
    }
}
