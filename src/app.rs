//! The wiring of a running switchyard: registry -> pool -> bus -> gateway,
//! plus the admin endpoint. `switchyard run`, `switchyard demo` and the
//! end-to-end tests all start the same [`App`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::bus::StatusBus;
use crate::config::GatewayConfig;
use crate::gateway;
use crate::pool::SchedulerPool;
use crate::registry::{RuntimeRegistry, static_file};
use crate::telemetry::admin::{self, Admin};

/// Everything an [`App`] needs to start.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// The gateway endpoint: address, default namespace, TLS.
    pub gateway: GatewayConfig,
    /// Where to bind the gateway (port 0: any free port).
    pub gateway_listen: SocketAddr,
    /// Where to serve `/metrics`, `/healthz`, `/readyz`; `None`: not at all.
    pub metrics_listen: Option<SocketAddr>,
    /// A config file whose `[[runtimes]]` are followed while running.
    pub runtimes_file: Option<PathBuf>,
    /// How often that file is checked for changes.
    pub runtimes_poll: Duration,
}

/// A running switchyard.
pub struct App {
    pub registry: RuntimeRegistry,
    pub pool: SchedulerPool,
    pub bus: StatusBus,
    pub gateway_addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    cancel: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
}

impl App {
    /// Binds every port, then starts every task. `metrics` is the installed
    /// Prometheus recorder's handle (one per process).
    pub async fn start(
        config: AppConfig,
        metrics: Option<PrometheusHandle>,
    ) -> anyhow::Result<App> {
        let AppConfig {
            gateway: gateway_config,
            gateway_listen,
            metrics_listen,
            runtimes_file,
            runtimes_poll,
        } = config;
        let cancel = CancellationToken::new();
        let registry = RuntimeRegistry::new();
        let bus = StatusBus::default();
        let pool = SchedulerPool::new(bus.clone(), None);
        let mut tasks: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)> = Vec::new();
        // Every task stops the whole app when it ends before being asked to:
        // a half-running gateway is worse than a restart.
        let mut spawn =
            |name: &'static str,
             task: futures_util::future::BoxFuture<'static, anyhow::Result<()>>| {
                let cancel = cancel.clone();
                tasks.push((
                name,
                tokio::spawn(async move {
                    let result = task.await;
                    if !cancel.is_cancelled() {
                        match &result {
                            Ok(()) => tracing::error!(task = name, "task ended unexpectedly; stopping"),
                            Err(error) => tracing::error!(task = name, error = %format!("{error:#}"), "task failed; stopping"),
                        }
                        cancel.cancel();
                    }
                    result
                }),
            ));
            };

        let listener = gateway::server::bind(gateway_listen).await?;
        let gateway_addr = listener.local_addr()?;

        let (ready_tx, ready_rx) = tokio::sync::watch::channel(false);
        let metrics_addr = match (metrics_listen, metrics) {
            (Some(addr), Some(handle)) => {
                let admin = Admin {
                    metrics: handle,
                    ready: ready_rx,
                };
                let (bound, serving) = admin::bind(addr, admin, cancel.clone())
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for /metrics: {e}"))?;
                spawn(
                    "admin",
                    Box::pin(async move {
                        serving.await;
                        Ok(())
                    }),
                );
                Some(bound)
            }
            _ => None,
        };

        if let Some(path) = runtimes_file {
            let (registry, cancel) = (registry.clone(), cancel.clone());
            spawn(
                "config-file",
                Box::pin(async move {
                    static_file::follow(path, registry, runtimes_poll, cancel).await;
                    Ok(())
                }),
            );
        }
        {
            let (pool, registry, cancel) = (pool.clone(), registry.clone(), cancel.clone());
            spawn(
                "pool",
                Box::pin(async move {
                    pool.follow(registry, cancel).await;
                    Ok(())
                }),
            );
        }
        {
            let (pool, bus, cancel) = (pool.clone(), bus.clone(), cancel.clone());
            spawn(
                "gateway",
                Box::pin(async move {
                    gateway::server::serve(
                        listener,
                        pool,
                        bus,
                        &gateway_config,
                        cancel.cancelled_owned(),
                    )
                    .await
                    .map_err(anyhow::Error::from)
                }),
            );
        }
        // Static discovery is complete once the file is read: the gateway is
        // ready to route (connections come up in the background).
        let _ = ready_tx.send(true);
        tracing::info!(gateway = %gateway_addr, metrics = ?metrics_addr, "switchyard running");
        Ok(App {
            registry,
            pool,
            bus,
            gateway_addr,
            metrics_addr,
            cancel,
            tasks,
        })
    }

    /// A token that, once cancelled, stops the app (as `shutdown` does).
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Runs until `signal` completes or a task stops the app, then shuts
    /// down.
    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        tokio::select! {
            () = signal => tracing::info!("stopping"),
            () = self.cancel.cancelled() => {}
        }
        self.shutdown().await
    }

    /// Stops every task and waits for them; reports the first failure.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.cancel.cancel();
        self.bus.close();
        let mut first_error = None;
        for (name, task) in self.tasks {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::error!(task = name, error = %format!("{error:#}"), "task failed");
                    first_error.get_or_insert(error);
                }
                Err(join) => {
                    first_error.get_or_insert(anyhow::anyhow!("task {name} panicked: {join}"));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
