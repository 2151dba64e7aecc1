//! The admin endpoint: `/metrics` (Prometheus text), `/healthz` (the
//! process is serving), `/readyz` (the first sync is done) and
//! `/log-level` (GET the log filter, PUT a new one), on their own port so
//! scraping and probing never compete with gateway traffic. Connections
//! are capped, closed when unused and given a header read timeout
//! (`switchyard_net`, shared with the gateway's port).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::logs::LogLevel;
use switchyard_core::registry::RuntimeRegistry;
use switchyard_net::{IdleBy, Listener, ListenerLimits};

/// What the admin endpoint serves.
#[derive(Clone)]
pub struct Admin {
    pub metrics: PrometheusHandle,
    /// True once the process is ready to serve (e.g. first lists synced).
    pub ready: watch::Receiver<bool>,
    /// The log filter `/log-level` reads and replaces; `None`: not served.
    pub log_level: Option<LogLevel>,
    /// The namespaces whose per-namespace series stay exported.
    pub runtimes: RuntimeRegistry,
}

/// Longest `/log-level` body read.
const MAX_FILTER_BYTES: usize = 4096;

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

impl Admin {
    async fn respond(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        if req.uri().path() == "/log-level" {
            return self.log_level(req).await;
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n".into());
        }
        match req.uri().path() {
            "/metrics" => Response::builder()
                .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
                .body(Full::new(Bytes::from(super::render(
                    &self.metrics,
                    &self.runtimes.snapshot(),
                ))))
                .unwrap_or_default(),
            "/healthz" => text(StatusCode::OK, "ok\n".into()),
            "/readyz" => {
                if *self.ready.borrow() {
                    text(StatusCode::OK, "ready\n".into())
                } else {
                    text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n".into())
                }
            }
            _ => text(
                StatusCode::NOT_FOUND,
                "try /metrics, /healthz, /readyz or /log-level\n".into(),
            ),
        }
    }

    /// GET: the filter in force. PUT: a new filter (an `EnvFilter`
    /// directive as the body), in force at once; 400 naming the problem
    /// when it does not parse.
    async fn log_level(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let Some(level) = &self.log_level else {
            return text(StatusCode::NOT_FOUND, "logging is not set up\n".into());
        };
        match *req.method() {
            Method::GET | Method::HEAD => text(StatusCode::OK, format!("{}\n", level.current())),
            Method::PUT => {
                let body = match Limited::new(req.into_body(), MAX_FILTER_BYTES)
                    .collect()
                    .await
                {
                    Ok(body) => body.to_bytes(),
                    Err(error) => {
                        return text(
                            StatusCode::BAD_REQUEST,
                            format!(
                                "cannot read the filter (at most {MAX_FILTER_BYTES} bytes): {error}\n"
                            ),
                        );
                    }
                };
                let Ok(directive) = std::str::from_utf8(&body) else {
                    return text(StatusCode::BAD_REQUEST, "the filter is not UTF-8\n".into());
                };
                match level.set(directive) {
                    Ok(()) => {
                        tracing::info!(filter = %level.current(), "log level changed");
                        text(StatusCode::OK, format!("{}\n", level.current()))
                    }
                    Err(error) => text(StatusCode::BAD_REQUEST, format!("{error}\n")),
                }
            }
            _ => text(
                StatusCode::METHOD_NOT_ALLOWED,
                "GET the log filter, or PUT a new one\n".into(),
            ),
        }
    }
}

/// Default bounds of the admin port (`[metrics]` options): probes and
/// scrapes are few and short, so a small cap is plenty and keeps a flood
/// from exhausting file descriptors.
pub const ADMIN_LIMITS: ListenerLimits = ListenerLimits {
    max_connections: 256,
    handshake_timeout: Duration::from_secs(10),
    idle_timeout: Duration::from_secs(60),
};

/// Time a client has to send a request's headers once it started (hyper's
/// header read timeout); the listener's idle timeout covers the wait
/// between requests.
pub const ADMIN_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds `addr` with `limits` ([`ADMIN_LIMITS`] unless configured) and
/// returns the bound address with the serving future.
pub async fn bind(
    addr: SocketAddr,
    admin: Admin,
    limits: ListenerLimits,
    cancel: CancellationToken,
) -> std::io::Result<(SocketAddr, impl std::future::Future<Output = ()>)> {
    let listener = Listener::new(
        TcpListener::bind(addr).await?,
        "admin",
        limits,
        IdleBy::Reads,
    );
    let local = listener.local_addr()?;
    Ok((local, serve(listener, admin, cancel)))
}

async fn serve(mut listener: Listener, admin: Admin, cancel: CancellationToken) {
    let mut connections = tokio::task::JoinSet::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(ADMIN_HEADER_READ_TIMEOUT);
    loop {
        // Accept errors are logged (throttled) and backed off inside.
        let stream = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let admin = admin.clone();
        let cancel = cancel.clone();
        let http = http.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| {
                let admin = admin.clone();
                async move { Ok::<_, Infallible>(admin.respond(req).await) }
            });
            let conn = http.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = cancel.cancelled() => conn.as_mut().graceful_shutdown(),
            }
        });
        // Reap finished connections so the set stays small.
        while connections.try_join_next().is_some() {}
    }
    connections.shutdown().await;
}
