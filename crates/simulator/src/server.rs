//! Starting and stopping simulated schedulers: `Simulator::start` binds a
//! real tonic server for one namespace and returns a `SimulatorHandle`
//! (address, knobs, faults, stats, graceful shutdown); `SimulatorFleet`
//! starts N namespaces on consecutive ports.
//!
//! Each simulator owns three tasks, all stopped by its `stop` token: the
//! gRPC server, the life-cycle timer task and the event generator.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use switchyard_tasks::{Stragglers, TaskFailure, TaskGroup};
use tokio::net::TcpListener;
use tonic::{Code, Status, transport::Server};
use tracing::Instrument;

use crate::{
    config::{Knobs, SimulatorConfig},
    conn,
    error::StoreError,
    faults::{FailRule, Rpc},
    health::HealthService,
    keepalive::PingPolicy,
    lifecycle, load,
    service::SchedulerService,
    state::{Shared, SimulatorStats, shutting_down},
};
use switchyard_proto::{
    health::health_check_service_server::HealthCheckServiceServer,
    scheduler::scheduler_server::SchedulerServer,
};

/// How long a graceful shutdown waits for connections to close before
/// resetting them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why a simulator could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    #[error("namespace {namespace}: cannot listen on {addr}: {source}")]
    Bind {
        namespace: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("namespace {namespace}: {source}")]
    Task {
        namespace: String,
        source: TaskFailure,
    },
    #[error("namespace {namespace}: {source}")]
    Stuck {
        namespace: String,
        source: Stragglers,
    },
    #[error(
        "cannot start {count} namespaces from port {base_port}: ports must stay below 65536; lower --base-port or --namespaces"
    )]
    PortRange { base_port: u16, count: usize },
}

/// Entry point: one simulated Seldon scheduler.
pub struct Simulator;

impl Simulator {
    /// Binds `config.listen` and serves the Scheduler and health services
    /// until the returned handle is shut down (or dropped).
    pub async fn start(config: SimulatorConfig) -> Result<SimulatorHandle, SimulatorError> {
        let namespace = config.namespace.clone();
        let bind_error = |source| SimulatorError::Bind {
            namespace: namespace.clone(),
            addr: config.listen,
            source,
        };
        let listener = TcpListener::bind(config.listen).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let shared = Shared::new(&config);
        for model in load::preload(&namespace, config.preload_models) {
            if let Err(err) = shared.update(|store, now| store.load_model(model, now)) {
                tracing::warn!(namespace = %namespace, %err, "preloaded model refused");
            }
        }
        let span = tracing::info_span!("simulator", namespace = %namespace);
        let stop = shared.stop.clone();
        let tasks = TaskGroup::new(format!("simulator/{namespace}"));
        tasks.spawn(
            "timers",
            lifecycle::run_timers(Arc::clone(&shared), stop.clone()).instrument(span.clone()),
        );
        tasks.spawn(
            "generator",
            load::run_generator(Arc::clone(&shared), stop.clone()).instrument(span.clone()),
        );
        tasks.spawn_fallible(
            "server",
            serve(listener, Arc::clone(&shared), config.ping_policy).instrument(span),
        );
        tracing::info!(namespace = %namespace, addr = %local_addr, "simulated scheduler listening");
        Ok(SimulatorHandle {
            namespace,
            local_addr,
            shared,
            tasks: Some(tasks),
        })
    }
}

async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    policy: PingPolicy,
) -> Result<(), tonic::transport::Error> {
    let namespace = shared.namespace.clone();
    let incoming = conn::incoming(listener, Arc::clone(&shared), policy);
    Server::builder()
        // Seldon's scheduler sends no keepalive pings of its own (grpc-go's
        // server default is one ping per 2 h of idleness; none in practice).
        .http2_keepalive_interval(None)
        .trace_fn(move |request| {
            tracing::info_span!("grpc", namespace = %namespace, path = %request.uri().path())
        })
        .add_service(SchedulerServer::new(SchedulerService::new(Arc::clone(&shared))))
        .add_service(HealthCheckServiceServer::new(HealthService::new(Arc::clone(&shared))))
        .serve_with_incoming_shutdown(incoming, shared.stop.clone().cancelled_owned())
        .await
}

/// A running simulated scheduler.
pub struct SimulatorHandle {
    namespace: String,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    /// `None` once shut down.
    tasks: Option<TaskGroup>,
}

impl SimulatorHandle {
    /// The bound address (with the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://ADDR`, for `Endpoint::from_shared`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The current knob values.
    pub fn knobs(&self) -> Knobs {
        self.shared.knobs.borrow().clone()
    }

    fn modify(&self, f: impl FnOnce(&mut Knobs)) {
        self.shared.knobs.send_modify(f);
    }

    /// Background model status updates per second (0 stops them).
    pub fn set_event_rate(&self, per_second: f64) {
        self.modify(|k| k.event_rate = per_second);
    }

    /// Latency added before every call is handled.
    pub fn set_call_latency(&self, latency: Duration) {
        self.modify(|k| k.call_latency = latency);
    }

    /// Fails every call (or only calls of `rpc`) with `code`.
    pub fn fail_calls(&self, code: Code, rpc: Option<Rpc>) {
        self.modify(|k| k.failure = Some(FailRule { code, rpc }));
    }

    /// Freezes the scheduler as a stopped process: connections stay open,
    /// nothing is read or answered (pings included), new connections wait.
    pub fn freeze(&self) {
        tracing::info!(namespace = %self.namespace, "frozen");
        self.shared.freeze.set(true);
    }

    /// Ends a [`SimulatorHandle::freeze`]: everything resumes.
    pub fn thaw(&self) {
        tracing::info!(namespace = %self.namespace, "thawed");
        self.shared.freeze.set(false);
    }

    /// Stops injected failures.
    pub fn clear_failures(&self) {
        self.modify(|k| k.failure = None);
    }

    /// Simulates a scheduler restart: wipes all state, ends every stream
    /// and resets every connection; clients must reconnect and resubscribe,
    /// and the control plane asks for state again.
    pub fn restart(&self) {
        tracing::info!(namespace = %self.namespace, "simulated restart");
        self.shared.restart();
    }

    /// Ends every open stream with UNAVAILABLE, keeping state and
    /// connections. Returns how many streams were dropped.
    pub fn drop_streams(&self) -> usize {
        let dropped = self
            .shared
            .drop_streams(&Status::unavailable("stream dropped by the simulator"));
        tracing::info!(namespace = %self.namespace, dropped, "dropped all streams");
        dropped
    }

    /// Resets every open connection (TCP reset), keeping all state: a
    /// network failure between clients and this scheduler.
    pub fn reset_connections(&self) {
        tracing::info!(namespace = %self.namespace, "resetting every connection");
        self.shared.reset_connections();
    }

    /// Sends a ScalingRequest for a server announced with ServerNotify.
    pub fn request_scaling(&self, server: &str, replicas: i32) -> Result<(), StoreError> {
        let event = self
            .shared
            .read(|store| store.scaling_request(server, replicas))?;
        self.shared.publish_event(&event);
        Ok(())
    }

    /// Calls of `rpc` received so far, failed attempts included.
    pub fn calls(&self, rpc: Rpc) -> u64 {
        self.shared.calls(rpc)
    }

    pub fn stats(&self) -> SimulatorStats {
        self.shared.stats()
    }

    /// Stops gracefully: no new connections, every stream ended with
    /// UNAVAILABLE, connections drained (reset after `SHUTDOWN_GRACE`),
    /// every task awaited.
    pub async fn shutdown(mut self) -> Result<(), SimulatorError> {
        self.shared.freeze.set(false);
        self.shared.stop.cancel();
        self.shared.drop_streams(&shutting_down());
        let mut result = Ok(());
        if let Some(tasks) = self.tasks.take() {
            if let Err(source) = tasks.shutdown(SHUTDOWN_GRACE).await {
                tracing::warn!(namespace = %self.namespace, "connections still open after the grace period; resetting them");
                self.shared.reset_connections();
                result = Err(SimulatorError::Stuck {
                    namespace: self.namespace.clone(),
                    source,
                });
            }
            if let Some(source) = tasks.failure() {
                result = Err(SimulatorError::Task {
                    namespace: self.namespace.clone(),
                    source,
                });
            }
        }
        tracing::info!(namespace = %self.namespace, "simulated scheduler stopped");
        result
    }
}

impl Drop for SimulatorHandle {
    /// A handle dropped without `shutdown` still stops everything it owns
    /// (abruptly: connections are reset).
    fn drop(&mut self) {
        if self.tasks.is_some() {
            self.shared.freeze.set(false);
            self.shared.stop.cancel();
            self.shared.drop_streams(&shutting_down());
            self.shared.reset_connections();
        }
    }
}

/// Several simulated namespaces in one process.
pub struct SimulatorFleet {
    handles: Vec<SimulatorHandle>,
}

impl SimulatorFleet {
    /// Starts `count` simulators named `{prefix}1 ..= {prefix}{count}` on
    /// ports `template.listen.port()` + 0, 1, ...; with port 0 each picks a
    /// free port. Every other setting comes from `template`.
    pub async fn start(
        template: SimulatorConfig,
        count: usize,
        prefix: &str,
    ) -> Result<Self, SimulatorError> {
        let names = (1..=count).map(|i| format!("{prefix}{i}")).collect();
        Self::start_named(template, names).await
    }

    /// Starts one simulator per name in `namespaces`, on consecutive ports
    /// from `template.listen.port()` (or free ports when it is 0).
    pub async fn start_named(
        template: SimulatorConfig,
        namespaces: Vec<String>,
    ) -> Result<Self, SimulatorError> {
        let base_port = template.listen.port();
        let count = namespaces.len();
        if base_port != 0 && usize::from(base_port) + count > usize::from(u16::MAX) + 1 {
            return Err(SimulatorError::PortRange { base_port, count });
        }
        let mut handles = Vec::with_capacity(count);
        for (namespace, offset) in namespaces.into_iter().zip(0_u16..) {
            let mut config = template.clone();
            config.namespace = namespace;
            if base_port != 0 {
                config.listen.set_port(base_port + offset);
            }
            match Simulator::start(config).await {
                Ok(handle) => handles.push(handle),
                Err(err) => {
                    for started in handles {
                        // Already failing: report the start error, not these.
                        let _ignored = started.shutdown().await;
                    }
                    return Err(err);
                }
            }
        }
        Ok(Self { handles })
    }

    /// Each simulator's address by namespace (scheduler address overrides).
    pub fn addresses(&self) -> std::collections::BTreeMap<String, String> {
        self.handles
            .iter()
            .map(|s| (s.namespace().to_owned(), s.local_addr().to_string()))
            .collect()
    }

    pub fn handles(&self) -> &[SimulatorHandle] {
        &self.handles
    }

    /// The simulator of `namespace`.
    pub fn get(&self, namespace: &str) -> Option<&SimulatorHandle> {
        self.handles.iter().find(|h| h.namespace() == namespace)
    }

    /// Shuts every simulator down; returns the first error.
    pub async fn shutdown(self) -> Result<(), SimulatorError> {
        let mut result = Ok(());
        for handle in self.handles {
            result = result.and(handle.shutdown().await);
        }
        result
    }
}
