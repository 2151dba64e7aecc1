//! Starting and stopping the double: `ApiDouble::start` binds an HTTP/1.1
//! server (hyper) and returns an `ApiDoubleHandle` with the address, a
//! ready `kube::Client`, the fault knobs, the counters and a graceful
//! `shutdown`.
//!
//! The double owns two tasks, both stopped by its cancellation token: the
//! accept loop (which owns one task per connection) and the bookmark
//! ticker. Shutdown ends every watch stream first, so connections drain
//! quickly; those still open after `SHUTDOWN_GRACE` are aborted.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use switchyard_tasks::{Stragglers, TaskFailure, TaskGroup};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::config::ApiDoubleConfig;
use super::faults::{FailWith, WriteScope};
use super::handler;
use super::review::tokens::TokenUser;
use super::shared::Shared;
use super::stats::ApiStats;

/// How long `shutdown` waits for open connections before aborting them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why the double could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum ApiDoubleError {
    #[error("API double: cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("API double: {0}")]
    Task(#[from] TaskFailure),
    #[error("API double: {0}")]
    Stuck(#[from] Stragglers),
}

/// Entry point: an in-process Kubernetes API server for tests, the demo
/// and the load benchmark.
pub struct ApiDouble;

impl ApiDouble {
    /// Starts with default settings on `addr` (port 0 picks a free port).
    pub async fn start(addr: SocketAddr) -> Result<ApiDoubleHandle, ApiDoubleError> {
        Self::start_with(ApiDoubleConfig::new(addr)).await
    }

    /// Starts with `config`.
    pub async fn start_with(config: ApiDoubleConfig) -> Result<ApiDoubleHandle, ApiDoubleError> {
        let addr = config.listen;
        let bind_error = |source| ApiDoubleError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let bookmark_interval = config.bookmark_interval;
        let shared = Arc::new(Shared::new(config, local_addr));
        let tasks = TaskGroup::new("api-double");
        let stop = tasks.token();
        tasks.spawn(
            "server",
            accept_loop(listener, Arc::clone(&shared), stop.clone()),
        );
        tasks.spawn(
            "bookmarks",
            bookmark_ticker(Arc::clone(&shared), bookmark_interval, stop.clone()),
        );
        tracing::info!(addr = %local_addr, "API double listening");
        Ok(ApiDoubleHandle {
            local_addr,
            shared,
            stop,
            tasks: Some(tasks),
        })
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    let mut connections = JoinSet::new();
    loop {
        let stream = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "API double: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Watch events are small lines that must leave at once.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "API double: cannot set TCP_NODELAY");
        }
        let shared = Arc::clone(&shared);
        let stop = stop.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(handler::serve(shared, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.as_mut().await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, "API double: connection ended with an error");
            }
        });
        // Reap finished connections so the set stays small.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("API double: connections still open after the grace period; aborting them");
        connections.shutdown().await;
    }
}

async fn bookmark_ticker(shared: Arc<Shared>, period: Duration, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(period.max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = ticks.tick() => shared.send_bookmarks(),
        }
    }
}

/// A running API double.
pub struct ApiDoubleHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
    /// `None` once shut down.
    tasks: Option<TaskGroup>,
}

impl ApiDoubleHandle {
    /// The bound address (with the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// A `kube::Config` for this server (default namespace `default`).
    pub fn kube_config(&self) -> kube::Config {
        let uri = hyper::Uri::builder()
            .scheme("http")
            .authority(self.local_addr.to_string())
            .path_and_query("/")
            .build()
            .unwrap_or_default();
        kube::Config::new(uri)
    }

    /// A real `kube::Client` talking to this server over HTTP.
    pub fn client(&self) -> Result<kube::Client, kube::Error> {
        kube::Client::try_from(self.kube_config())
    }

    /// A client that sends `User-Agent: {user_agent}`, so the counters can
    /// tell replicas apart (`ApiStats::writes_by`).
    pub fn client_with_user_agent(&self, user_agent: &str) -> Result<kube::Client, kube::Error> {
        let mut config = self.kube_config();
        let value = hyper::header::HeaderValue::from_str(user_agent)
            .map_err(|e| kube::Error::HttpError(http_error(e)))?;
        config.headers.push((hyper::header::USER_AGENT, value));
        kube::Client::try_from(config)
    }

    /// Creates the SeldonRuntime `seldon` (SeldonConfig `default`) in
    /// `namespace`, as a user installing Seldon there would: the demo, the
    /// tests and the load benchmark start their namespaces with it.
    pub async fn create_runtime(
        &self,
        namespace: &str,
    ) -> Result<switchyard_api::SeldonRuntime, kube::Error> {
        use switchyard_api::{SeldonRuntime, SeldonRuntimeSpec};
        let runtime = SeldonRuntime::new(
            "seldon",
            SeldonRuntimeSpec {
                seldon_config: "default".into(),
                ..Default::default()
            },
        );
        kube::Api::<SeldonRuntime>::namespaced(self.client()?, namespace)
            .create(&kube::api::PostParams::default(), &runtime)
            .await
    }

    /// Makes TokenReviews of `token` authenticate as `user` (replacing
    /// what it authenticated as before).
    pub fn register_token(&self, token: impl Into<String>, user: TokenUser) {
        self.shared.tokens.register(token.into(), user);
    }

    /// Makes TokenReviews of `token` authenticate as the ServiceAccount
    /// `namespace/name` (`system:serviceaccount:{namespace}:{name}`).
    pub fn register_service_account_token(
        &self,
        token: impl Into<String>,
        namespace: &str,
        name: &str,
    ) {
        self.register_token(token, TokenUser::service_account(namespace, name));
    }

    /// Forgets `token`: its reviews no longer authenticate. Whether it was
    /// registered.
    pub fn revoke_token(&self, token: &str) -> bool {
        self.shared.tokens.revoke(token)
    }

    /// Ends every open watch stream now (cleanly, as the server does on a
    /// timeout: clients resume from their last resourceVersion). Returns
    /// how many were open.
    pub fn drop_watches(&self) -> usize {
        let dropped = self.shared.drop_watches();
        tracing::info!(dropped, "API double: dropped every watch");
        dropped
    }

    /// Watch streams open now (tests wait on this to know a watcher has
    /// (re)connected).
    pub fn open_watches(&self) -> usize {
        self.shared.open_watches()
    }

    /// Answers the next `count` watch requests with an ERROR event carrying
    /// 410 Expired (kube-runtime's watcher then lists again).
    pub fn expire_next_watches(&self, count: u32) {
        self.shared.faults.expire_next_watches(count);
    }

    /// Fails the next `count` writes in `scope` with 409 or 500.
    pub fn fail_next_writes(&self, count: u32, fail_with: FailWith, scope: WriteScope) {
        self.shared.faults.fail_next_writes(count, fail_with, scope);
    }

    /// Latency added before every request is handled.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.faults.set_latency(latency);
    }

    /// Disarms every fault and removes the latency.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Forgets the change history: watches and continue tokens from any
    /// resourceVersion issued so far get 410 Expired.
    pub fn compact_history(&self) {
        self.shared.compact();
    }

    /// The latest resourceVersion handed out.
    pub fn resource_version(&self) -> u64 {
        self.shared.revision.current()
    }

    pub fn stats(&self) -> ApiStats {
        self.shared.stats()
    }

    pub fn reset_stats(&self) {
        self.shared.reset_stats();
    }

    /// Stops: no new connections, every watch ended, connections drained
    /// (aborted after `SHUTDOWN_GRACE`), every task awaited.
    pub async fn shutdown(mut self) -> Result<(), ApiDoubleError> {
        self.stop.cancel();
        self.shared.drop_watches();
        let mut result = Ok(());
        if let Some(tasks) = self.tasks.take() {
            // Connections drain within the accept loop's own grace.
            result = tasks
                .shutdown(2 * SHUTDOWN_GRACE)
                .await
                .map_err(ApiDoubleError::from);
            if let Some(failure) = tasks.failure() {
                result = Err(failure.into());
            }
        }
        tracing::info!(addr = %self.local_addr, "API double stopped");
        result
    }
}

fn http_error(error: hyper::header::InvalidHeaderValue) -> hyper::http::Error {
    hyper::http::Error::from(error)
}

impl Drop for ApiDoubleHandle {
    /// A handle dropped without `shutdown` still stops its tasks.
    fn drop(&mut self) {
        if self.tasks.is_some() {
            self.stop.cancel();
            self.shared.drop_watches();
        }
    }
}
