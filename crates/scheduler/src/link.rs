//! One connection to a scheduler, as the tower service calls are sent on.
//!
//! A plaintext scheduler is reached over hyper's HTTP/2 client directly
//! ([`Direct`]): a call goes onto the connection's `SendRequest` from the
//! caller's own task. tonic's `Channel` puts a `tower::buffer::Buffer`
//! worker task between every call and its connection (a task hop per call,
//! each way), and arms a timer per call for the `grpc-timeout` it forwards.
//! Neither is needed here: every caller that sets a deadline (the gateway)
//! enforces it itself. A TLS scheduler keeps tonic's channel (its TLS
//! connector is its own).
//!
//! [`Direct`] does what the channel did otherwise: dials on first use,
//! within [`CONNECT_TIMEOUT`], with TCP_NODELAY and the HTTP/2 settings of
//! [`crate::channel`]; puts the scheduler's origin in each request's URI;
//! and dials again on the first call after its connection ended. A failed
//! dial fails that call with UNAVAILABLE (a [`tonic::ConnectError`], as
//! tonic reports it).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::TryFutureExt;
use http::uri::{Authority, PathAndQuery, Scheme, Uri};
use hyper::client::conn::http2::{Builder, SendRequest};
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::Mutex;
use tokio::net::TcpStream;
use tonic::body::Body;
use tonic::transport::{Channel, Endpoint};

use crate::channel::{
    CONNECT_TIMEOUT, KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT, KEEPALIVE_WHILE_IDLE,
    MAX_HEADER_LIST_BYTES,
};
use crate::upstream::BoxError;

type CallFuture = Pin<Box<dyn Future<Output = Result<http::Response<Body>, BoxError>> + Send>>;

/// A connection to a scheduler: hyper's client for plaintext, tonic's
/// channel for TLS (or a channel built elsewhere). Cheap to clone (the
/// clones share the connection).
#[derive(Clone)]
pub enum Link {
    Direct(Direct),
    Tonic(Channel),
}

impl Link {
    /// A connection to `endpoint`, dialled on first use.
    pub(crate) fn lazy(endpoint: &Endpoint) -> Link {
        let uri = endpoint.uri();
        match (uri.scheme(), uri.authority()) {
            (Some(scheme), Some(authority)) if *scheme == Scheme::HTTP => {
                Link::Direct(Direct::new(scheme.clone(), authority.clone()))
            }
            _ => Link::Tonic(endpoint.connect_lazy()),
        }
    }
}

impl tower::Service<http::Request<Body>> for Link {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = CallFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        match self {
            Link::Direct(_) => Poll::Ready(Ok(())),
            Link::Tonic(channel) => channel.poll_ready(cx).map_err(Into::into),
        }
    }

    fn call(&mut self, request: http::Request<Body>) -> CallFuture {
        match self {
            // The futures themselves, not `async` blocks awaiting them: a
            // block would hold the request (or the call) twice.
            Link::Direct(direct) => Box::pin(direct.inner.clone().send(request)),
            Link::Tonic(channel) => Box::pin(channel.call(request).map_err(Into::into)),
        }
    }
}

/// A plaintext HTTP/2 connection through hyper's client (see the module
/// docs).
#[derive(Clone)]
pub struct Direct {
    inner: Arc<Inner>,
}

struct Inner {
    scheme: Scheme,
    authority: Authority,
    /// The connection's sender while it is open (clones share it).
    sender: Mutex<Option<SendRequest<Body>>>,
    /// Held while dialling, so that calls arriving meanwhile wait for that
    /// connection instead of each dialling its own.
    dialing: tokio::sync::Mutex<()>,
}

/// What the pool says it is, as tonic's channel said `tonic/VERSION`.
const USER_AGENT: http::HeaderValue =
    http::HeaderValue::from_static(concat!("switchyard/", env!("CARGO_PKG_VERSION")));

impl Direct {
    fn new(scheme: Scheme, authority: Authority) -> Self {
        Direct {
            inner: Arc::new(Inner {
                scheme,
                authority,
                sender: Mutex::new(None),
                dialing: tokio::sync::Mutex::new(()),
            }),
        }
    }
}

impl Inner {
    async fn send(
        self: Arc<Self>,
        mut request: http::Request<Body>,
    ) -> Result<http::Response<Body>, BoxError> {
        let path = request
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(path);
        *request.uri_mut() = Uri::from_parts(parts)?;
        request
            .headers_mut()
            .insert(http::header::USER_AGENT, USER_AGENT);
        let mut sender = match self.open() {
            Some(sender) => sender,
            // Boxed: dialling is rare, and inline its state (a TCP connect
            // and an HTTP/2 handshake) would size every call's future.
            None => Box::pin(self.dial()).await?,
        };
        let response = sender.send_request(request).await?;
        Ok(response.map(Body::new))
    }

    /// The connection's sender, if it is open.
    fn open(&self) -> Option<SendRequest<Body>> {
        self.sender
            .lock()
            .as_ref()
            .filter(|sender| !sender.is_closed())
            .cloned()
    }

    /// Dials the scheduler (unless a call dialled meanwhile) and keeps the
    /// connection.
    async fn dial(&self) -> Result<SendRequest<Body>, BoxError> {
        let _dialing = self.dialing.lock().await;
        if let Some(sender) = self.open() {
            return Ok(sender);
        }
        // An address without a port is port 80, as in an `http://` URI.
        let host = self.authority.host();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = self.authority.port_u16().unwrap_or(80);
        let connect = async {
            let tcp = TcpStream::connect((host, port)).await?;
            tcp.set_nodelay(true)?;
            Ok::<_, std::io::Error>(tcp)
        };
        tracing::debug!(authority = %self.authority, "connecting to the scheduler");
        let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(error)) => {
                tracing::debug!(authority = %self.authority, %error, "cannot connect to the scheduler");
                return Err(connect_error(error));
            }
            Err(_) => {
                tracing::debug!(authority = %self.authority, timeout = ?CONNECT_TIMEOUT, "connecting to the scheduler timed out");
                return Err(connect_error(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("tcp connect timed out after {CONNECT_TIMEOUT:?}"),
                )));
            }
        };
        let (sender, connection) = Builder::new(Boxed)
            .timer(TokioTimer::new())
            .keep_alive_interval(KEEPALIVE_INTERVAL)
            .keep_alive_timeout(KEEPALIVE_TIMEOUT)
            .keep_alive_while_idle(KEEPALIVE_WHILE_IDLE)
            .max_header_list_size(MAX_HEADER_LIST_BYTES)
            .handshake(TokioIo::new(tcp))
            .await
            .map_err(connect_error)?;
        let authority = self.authority.clone();
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%authority, %error, "scheduler connection ended");
            }
        });
        *self.sender.lock() = Some(sender.clone());
        Ok(sender)
    }
}

/// Spawns the tasks hyper runs per request, boxed: hyper's task type is
/// one enum for every task it spawns, the connection's included, so each
/// request's task would otherwise be as large as a whole connection and
/// copied that large into (and within) the runtime's task cell. tonic's
/// channel boxes them the same way.
#[derive(Clone, Copy)]
struct Boxed;

impl<F> hyper::rt::Executor<F> for Boxed
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, future: F) {
        let future: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(future);
        tokio::spawn(future);
    }
}

/// A failed dial, as tonic reports it (UNAVAILABLE with the cause).
fn connect_error(error: impl Into<BoxError>) -> BoxError {
    Box::new(tonic::ConnectError(error.into()))
}
