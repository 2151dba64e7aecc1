//! What the gateway admits before tonic decodes anything: the first layer
//! inside the metrics layer, so every refusal is also counted there.
//!
//! Per request, in order (each refusal counted in
//! `switchyard_gateway_rejected_requests_total{reason}`):
//! - HTTP method POST (else HTTP 405 with grpc-status INTERNAL) and a gRPC
//!   content type (else HTTP 415 with grpc-status INVALID_ARGUMENT), as
//!   grpc-go's server answers them;
//! - a slot under the concurrency limit, held until the response (or
//!   stream) ends: RESOURCE_EXHAUSTED when none is free;
//! - the request message, read within the read timeout (else
//!   DEADLINE_EXCEEDED), at most `max_request_bytes` (else
//!   RESOURCE_EXHAUSTED), inside the budget of request bytes held by all
//!   calls at once (else RESOURCE_EXHAUSTED);
//! - exactly one message (every RPC here takes one; a second is refused
//!   with INTERNAL, as grpc-go and grpc-java refuse it) with at most
//!   `max_repeated_entries` repeated entries (`wire`; else
//!   RESOURCE_EXHAUSTED).
//!
//! The connection's activity is marked for as long as the request lives,
//! so the listener never closes a connection with a call in flight; a
//! call that fills its connection's stream limit (HTTP/2 enforces it) is
//! counted.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, StatusCode};
use http_body::{Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use metrics::Gauge;
use prost_reflect::{DescriptorPool, MessageDescriptor};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tonic::body::Body;
use tower::{Layer, Service};

use super::listen::ConnectionInfo;
use super::wire::{Entries, count_entries};
use switchyard_core::metrics as m;
use switchyard_net::ActiveGuard;

/// The bounds the layer enforces (see `GatewayOptions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Only counted here (HTTP/2 enforces it): a call that fills its
    /// connection is counted in `switchyard_gateway_stream_limit_reached_total`.
    pub max_concurrent_streams: u32,
    pub max_concurrent_requests: usize,
    pub max_request_bytes: usize,
    pub max_inflight_request_bytes: usize,
    pub max_repeated_entries: usize,
    pub request_read_timeout: Duration,
}

struct Shared {
    limits: AdmissionLimits,
    slots: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    /// Input type of every unary or server-streaming method, by path.
    inputs: HashMap<String, MessageDescriptor>,
    /// The in-flight gauge, registered on first use (with the recorder in
    /// force when the layer serves) and kept: no lookup per call.
    inflight: OnceLock<Gauge>,
}

/// The layer (see the module docs).
#[derive(Clone)]
pub struct AdmissionLayer {
    shared: Arc<Shared>,
}

impl AdmissionLayer {
    pub fn new(limits: AdmissionLimits) -> Self {
        let mut inputs = HashMap::new();
        // The descriptor set is compiled from proto/ by the build; an
        // unreadable one leaves only the size and concurrency bounds.
        match DescriptorPool::decode(switchyard_proto::DESCRIPTOR_SET) {
            Ok(pool) => {
                for service in pool.services() {
                    for method in service.methods().filter(|m| !m.is_client_streaming()) {
                        let path = format!("/{}/{}", service.full_name(), method.name());
                        inputs.insert(path, method.input());
                    }
                }
            }
            Err(error) => {
                tracing::error!(%error, "no descriptors: repeated entries are not counted")
            }
        }
        AdmissionLayer {
            shared: Arc::new(Shared {
                limits,
                slots: Arc::new(Semaphore::new(limits.max_concurrent_requests.max(1))),
                bytes: Arc::new(Semaphore::new(
                    limits
                        .max_inflight_request_bytes
                        .min(Semaphore::MAX_PERMITS),
                )),
                inputs,
                inflight: OnceLock::new(),
            }),
        }
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = Admission<S>;

    fn layer(&self, inner: S) -> Admission<S> {
        Admission {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service (see the module docs).
#[derive(Clone)]
pub struct Admission<S> {
    inner: S,
    shared: Arc<Shared>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A refusal: the metric's reason, the status, the HTTP status.
struct Refusal {
    reason: &'static str,
    status: Box<Status>,
    http: StatusCode,
}

impl Refusal {
    fn new(reason: &'static str, status: Status) -> Self {
        Refusal {
            reason,
            status: Box::new(status),
            http: StatusCode::OK,
        }
    }

    fn http(mut self, http: StatusCode) -> Self {
        self.http = http;
        self
    }

    /// Counts the refusal and answers with it.
    fn respond(self) -> http::Response<Body> {
        metrics::counter!(m::GATEWAY_REJECTED_TOTAL, "reason" => self.reason).increment(1);
        let mut response = self.status.into_http();
        *response.status_mut() = self.http;
        response
    }
}

/// `application/grpc`, alone or with a `+format` or parameters.
fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("application/grpc"))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('+') || rest.starts_with(';'))
}

/// A slot of the concurrency limit and the in-flight gauge.
struct Slot {
    _permit: OwnedSemaphorePermit,
    inflight: Gauge,
}

impl Slot {
    fn new(permit: OwnedSemaphorePermit, inflight: &Gauge) -> Self {
        inflight.increment(1.0);
        Slot {
            _permit: permit,
            inflight: inflight.clone(),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.inflight.decrement(1.0);
    }
}

impl<S> Service<http::Request<Body>> for Admission<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<http::Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let early = |refusal: Refusal| -> Self::Future {
            let response = refusal.respond();
            Box::pin(async move { Ok(response) })
        };
        if request.method() != Method::POST {
            let message = format!(
                "HTTP method {} is not allowed: gRPC requires POST",
                request.method()
            );
            return early(
                Refusal::new("method", Status::internal(message))
                    .http(StatusCode::METHOD_NOT_ALLOWED),
            );
        }
        if !is_grpc(request.headers()) {
            return early(
                Refusal::new(
                    "content_type",
                    Status::invalid_argument("content-type must be application/grpc"),
                )
                .http(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            );
        }
        let shared = self.shared.clone();
        let Ok(permit) = shared.slots.clone().try_acquire_owned() else {
            return early(Refusal::new(
                "concurrency",
                Status::resource_exhausted(format!(
                    "the gateway is serving its limit of {} concurrent requests and streams; retry later",
                    shared.limits.max_concurrent_requests
                )),
            ));
        };
        let active = ConnectionInfo::of(&request).map(|c| c.activity.begin());
        if active
            .as_ref()
            .is_some_and(|a| a.in_flight() >= shared.limits.max_concurrent_streams as usize)
        {
            metrics::counter!(m::GATEWAY_STREAM_LIMIT_TOTAL).increment(1);
        }
        let held = Held {
            _slot: Slot::new(
                permit,
                shared
                    .inflight
                    .get_or_init(|| metrics::gauge!(m::GATEWAY_INFLIGHT)),
            ),
            _active: active,
        };
        let input = shared.inputs.get(request.uri().path()).cloned();
        // The ready service is taken; a clone waits for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (request, _bytes) = match input {
                None => (request, None),
                Some(input) => match admit(&shared, request, &input).await {
                    Ok((request, bytes)) => (request, bytes),
                    Err(refusal) => return Ok(refusal.respond()),
                },
            };
            let response = inner.call(request).await?;
            Ok(response.map(|body| {
                Body::new(HeldBody {
                    inner: body,
                    _held: held,
                })
            }))
        })
    }
}

/// Reads and checks the one request message (see the module docs); the
/// permit holds its bytes in the budget until the handler is done.
async fn admit(
    shared: &Shared,
    request: http::Request<Body>,
    input: &MessageDescriptor,
) -> Result<(http::Request<Body>, Option<OwnedSemaphorePermit>), Refusal> {
    let limits = &shared.limits;
    let (parts, mut body) = request.into_parts();
    let most = limits.max_request_bytes.saturating_add(5);
    // The body's chunks; most requests arrive in one, kept without a copy.
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut total = 0usize;
    let mut budget: Option<OwnedSemaphorePermit> = None;
    let read = async {
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map(Frame::into_data) else {
                return Err(Refusal::new(
                    "read_error",
                    Status::cancelled("the request body failed"),
                ));
            };
            let Ok(data) = data else { continue };
            if total + data.len() > most {
                return Err(Refusal::new(
                    "message_size",
                    Status::resource_exhausted(format!(
                        "the request message is larger than the gateway's limit of {} bytes",
                        limits.max_request_bytes
                    )),
                ));
            }
            let more = u32::try_from(data.len()).unwrap_or(u32::MAX);
            match shared.bytes.clone().try_acquire_many_owned(more) {
                Ok(permit) => match &mut budget {
                    Some(held) => held.merge(permit),
                    None => budget = Some(permit),
                },
                Err(_) => {
                    return Err(Refusal::new(
                        "inflight_bytes",
                        Status::resource_exhausted(format!(
                            "the gateway holds its limit of {} bytes of requests being read; retry later",
                            limits.max_inflight_request_bytes
                        )),
                    ));
                }
            }
            total += data.len();
            chunks.push(data);
        }
        Ok(())
    };
    match tokio::time::timeout(limits.request_read_timeout, read).await {
        Ok(Ok(())) => {}
        Ok(Err(refusal)) => return Err(refusal),
        Err(_) => {
            return Err(Refusal::new(
                "read_timeout",
                Status::deadline_exceeded(format!(
                    "the request message did not arrive within {:?}",
                    limits.request_read_timeout
                )),
            ));
        }
    }
    let buffer = match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.swap_remove(0),
        _ => {
            let mut joined = BytesMut::with_capacity(total);
            chunks.iter().for_each(|c| joined.extend_from_slice(c));
            joined.freeze()
        }
    };
    check_message(limits, &buffer, input)?;
    let request = http::Request::from_parts(parts, Body::new(Full::new(buffer)));
    Ok((request, budget))
}

/// One message, with few enough repeated entries. Anything else odd
/// (a truncated or compressed message) is the decoder's to report.
fn check_message(
    limits: &AdmissionLimits,
    buffer: &Bytes,
    input: &MessageDescriptor,
) -> Result<(), Refusal> {
    let Some([flag, a, b, c, d]) = buffer.get(..5).and_then(|h| <[u8; 5]>::try_from(h).ok()) else {
        return Ok(());
    };
    let len = u32::from_be_bytes([a, b, c, d]) as usize;
    let Some(message) = buffer.get(5..5 + len) else {
        return Ok(());
    };
    if buffer.len() > 5 + len {
        return Err(Refusal::new(
            "extra_message",
            Status::internal(
                "protocol violation: a second request message on a call that takes one",
            ),
        ));
    }
    // Every counted entry has at least one byte of its own on the wire (a
    // tag, or a packed element), so a message no longer than the limit
    // cannot hold more: no walk needed.
    if flag != 0 || message.len() <= limits.max_repeated_entries {
        return Ok(());
    }
    match count_entries(input, message, limits.max_repeated_entries) {
        Entries::TooMany => Err(Refusal::new(
            "repeated_entries",
            Status::resource_exhausted(format!(
                "the request has more than {} entries in repeated fields, the gateway's limit",
                limits.max_repeated_entries
            )),
        )),
        Entries::Within(_) | Entries::Malformed => Ok(()),
    }
}

/// What a call holds until its response ends.
struct Held {
    _slot: Slot,
    _active: Option<ActiveGuard>,
}

pin_project_lite::pin_project! {
    /// A response body holding its call's slot and activity mark.
    struct HeldBody {
        #[pin]
        inner: Body,
        _held: Held,
    }
}

impl http_body::Body for HeldBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
