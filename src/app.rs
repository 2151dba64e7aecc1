//! The wiring of a running switchyard: registry -> pool -> bus -> gateway,
//! plus the admin endpoint. `switchyard run`, `switchyard demo` and the
//! end-to-end tests all start the same [`App`].
//!
//! With [`KubernetesConfig`], the operator side starts too
//! ([`start_kubernetes`]): leader election, SeldonRuntime discovery feeding
//! the registry (instead of the config file's `[[runtimes]]`), and the
//! leader-gated [`ApiWriter`] that the operator's other parts write with.
//! Readiness is then "every runtime watcher has listed once".

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use switchyard_tasks::TaskGroup;
use tokio_util::sync::CancellationToken;

use tokio::sync::{mpsc, watch};

use crate::config::{GatewayConfig, SchedulerOverrides};
use crate::static_runtimes;
use crate::telemetry::admin::{self, ADMIN_LIMITS, Admin};
use switchyard_core::bus::{DEFAULT_SUBSCRIBER_BYTES, DEFAULT_SUBSCRIBER_CAPACITY, StatusBus};
use switchyard_core::control_plane::ControlPlaneEvent;
use switchyard_core::managed::ManagedObjects;
use switchyard_core::registry::{ClientTls, RuntimeRegistry, RuntimeSpec};
use switchyard_core::schedulers::Schedulers;
use switchyard_gateway::{GatewayOptions, TlsFiles};
use switchyard_net::ListenerLimits;
use switchyard_operator::ManagedIndex;
use switchyard_operator::guard;
use switchyard_operator::leader::{self, LeaderElectionConfig};
use switchyard_operator::{
    ApiWriter, Context, Controllers, Resync, RuntimeDiscovery, SchedulerAddressing, StatusWriter,
    WatchScope,
};
use switchyard_scheduler::{SchedulerPool, Spread};

/// Longest a shutdown waits for every task to stop before aborting the
/// stragglers (Kubernetes gives a pod 15 s after SIGTERM by default... our
/// Deployment sets terminationGracePeriodSeconds 15).
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(12);

/// Control-plane events waiting for the resync (per process).
const CONTROL_PLANE_QUEUE: usize = 256;

/// Everything an [`App`] needs to start.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// The gateway endpoint: address, default namespace, TLS.
    pub gateway: GatewayConfig,
    /// Where to bind the gateway (port 0: any free port).
    pub gateway_listen: SocketAddr,
    /// Where to serve `/metrics`, `/healthz`, `/readyz`; `None`: not at all.
    pub metrics_listen: Option<SocketAddr>,
    /// Bounds of that port's connections (`[metrics]`).
    pub admin_limits: ListenerLimits,
    /// How each namespace's unary calls spread over connections (`[pool]`).
    pub spread: Spread,
    /// Where the runtimes come from without Kubernetes.
    pub runtimes: StaticRuntimes,
    /// The operator side; `None`: gateway only, runtimes from the file.
    pub kubernetes: Option<KubernetesConfig>,
}

/// The runtimes of an [`App`] without the operator side (ignored with it:
/// discovery owns the registry).
#[derive(Clone, Debug, Default)]
pub enum StaticRuntimes {
    /// None (tests add them to the registry themselves).
    #[default]
    None,
    /// These, for the life of the process (`--runtime`).
    Fixed(Vec<RuntimeSpec>),
    /// The `[[runtimes]]` of a config file, re-read while running.
    File {
        path: PathBuf,
        /// How often the file is checked for changes.
        poll: Duration,
        /// The command line's `[scheduler]` settings, laid over each read.
        overrides: SchedulerOverrides,
    },
}

/// How to reach the API server.
#[derive(Clone, Debug)]
pub enum KubeConnection {
    /// In-cluster config, else `$KUBECONFIG` / `~/.kube/config`.
    Infer,
    /// This kubeconfig file (its current context).
    Kubeconfig(PathBuf),
    /// A ready config (tests, the demo's API double).
    Config(Box<kube::Config>),
}

/// The operator side of an [`App`].
#[derive(Clone, Debug)]
pub struct KubernetesConfig {
    /// How to reach the API server.
    pub connection: KubeConnection,
    /// Which namespaces' SeldonRuntimes are watched.
    pub scope: WatchScope,
    /// How a discovered namespace's scheduler is reached.
    pub addressing: SchedulerAddressing,
    /// Leader election; `None`: this replica always leads (one replica).
    pub leader_election: Option<LeaderElectionConfig>,
    /// Look for Seldon's own operator this often and wait while it is
    /// active (`operator::guard`); `None`: never look.
    pub seldon_operator_guard: Option<Duration>,
    /// How often deleted runtimes re-check whether they may go.
    pub finalizer_recheck: Duration,
    /// Where ServerConfigs and SeldonConfigs are read: switchyard's own
    /// namespace, as Seldon's operator reads them from its own.
    pub templates_namespace: String,
    /// Run Servers as Deployments instead of StatefulSets (Seldon's
    /// `--use-deployments-for-servers`).
    pub use_deployments_for_servers: bool,
    /// How much the operator does at once.
    pub tuning: OperatorTuning,
}

impl KubernetesConfig {
    /// The operator against the API server of `kube_config` (the API
    /// double, in the demo, tests and benchmarks): every namespace watched,
    /// each namespace's scheduler at the address `schedulers` gives (else
    /// the default template), no leader election, deleted runtimes
    /// re-checked every second. Change the fields as needed.
    pub fn local(kube_config: kube::Config, schedulers: BTreeMap<String, String>) -> Self {
        KubernetesConfig {
            connection: KubeConnection::Config(Box::new(kube_config)),
            scope: WatchScope::AllNamespaces,
            addressing: SchedulerAddressing {
                overrides: schedulers,
                ..Default::default()
            },
            leader_election: None,
            seldon_operator_guard: Some(Duration::from_secs(1)),
            templates_namespace: switchyard_operator::controllers::DEFAULT_TEMPLATES_NAMESPACE
                .to_owned(),
            use_deployments_for_servers: false,
            finalizer_recheck: Duration::from_secs(1),
            tuning: OperatorTuning::default(),
        }
    }
}

impl AppConfig {
    /// Gateway on `gateway_listen` and the operator side, no admin
    /// endpoint, no static runtimes.
    pub fn operator(gateway_listen: SocketAddr, kubernetes: KubernetesConfig) -> Self {
        AppConfig {
            gateway: GatewayConfig::default(),
            gateway_listen,
            metrics_listen: None,
            admin_limits: ADMIN_LIMITS,
            spread: Spread::default(),
            runtimes: StaticRuntimes::None,
            kubernetes: Some(kubernetes),
        }
    }
}

/// How much the operator does at once towards the API server and the
/// schedulers. `Default`: the values the constants explain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperatorTuning {
    /// Reconciles each controller runs at once.
    pub reconcile_concurrency: u16,
    /// Concurrent status writes per kind.
    pub status_workers: usize,
}

impl Default for OperatorTuning {
    fn default() -> Self {
        OperatorTuning {
            reconcile_concurrency: switchyard_operator::controllers::RECONCILE_CONCURRENCY,
            status_workers: switchyard_operator::status::WORKERS_PER_KIND,
        }
    }
}

/// What the operator side hands to its other parts (controllers, status
/// writer): the leader-gated writer and the leadership it follows.
#[derive(Clone)]
pub struct KubernetesParts {
    /// The one way to write to the API server.
    pub writer: ApiWriter,
    /// True while this replica leads.
    pub leadership: watch::Receiver<bool>,
    /// Which Models, Pipelines and Experiments have a custom resource
    /// (every replica, leader or not): the gateway's source-of-truth check.
    pub managed: Arc<dyn ManagedObjects>,
    /// Keeps an always-leader channel open (`--leader-elect=false`).
    _always: Option<std::sync::Arc<watch::Sender<bool>>>,
}

/// Starts the operator side as tasks of `tasks`: leader election,
/// SeldonRuntime discovery (feeding `registry`), the status writer, the
/// resync and the controllers. Returns the parts other code writes with,
/// and the readiness: the first lists are in.
pub async fn start_kubernetes(
    config: KubernetesConfig,
    registry: RuntimeRegistry,
    pool: SchedulerPool,
    bus: StatusBus,
    control_plane: mpsc::Receiver<ControlPlaneEvent>,
    tasks: &TaskGroup,
) -> anyhow::Result<(KubernetesParts, watch::Receiver<bool>)> {
    let cancel = tasks.token();
    let KubernetesConfig {
        connection,
        scope,
        addressing,
        leader_election,
        seldon_operator_guard,
        finalizer_recheck,
        templates_namespace,
        use_deployments_for_servers,
        tuning:
            OperatorTuning {
                reconcile_concurrency,
                status_workers,
            },
    } = config;
    let kube_config = match connection {
        KubeConnection::Infer => kube::Config::infer().await.map_err(|e| {
            anyhow::anyhow!("cannot find a Kubernetes config (in-cluster, $KUBECONFIG or ~/.kube/config): {e}; pass --kubeconfig")
        })?,
        KubeConnection::Kubeconfig(path) => {
            let file = kube::config::Kubeconfig::read_from(&path)
                .map_err(|e| anyhow::anyhow!("cannot read kubeconfig {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
                .await
                .map_err(|e| anyhow::anyhow!("kubeconfig {} is not usable: {e}", path.display()))?
        }
        KubeConnection::Config(config) => *config,
    };
    let api_server = kube_config.cluster_url.to_string();
    // The client's requests are counted and timed (rest_client_*).
    let client = crate::telemetry::kube_client::client(kube_config)
        .map_err(|e| anyhow::anyhow!("cannot build a Kubernetes client: {e}"))?;
    log_start(&scope, leader_election.as_ref(), &api_server);

    let (leadership, always) = match leader_election {
        Some(election) => (leader::spawn(client.clone(), election, tasks)?, None),
        None => {
            let (tx, rx) = leader::always_leader();
            metrics::gauge!(switchyard_core::metrics::LEADER_ELECTION_MASTER_STATUS, "name" => "none")
                .set(1.0);
            (rx, Some(std::sync::Arc::new(tx)))
        }
    };
    // Writers follow this replica's leadership, held back while Seldon's
    // own operator is active.
    let leadership = match seldon_operator_guard {
        Some(poll) => {
            let own = ApiWriter::new(client.clone(), leadership.clone(), "switchyard");
            let seldon = guard::spawn(own, poll, tasks);
            guard::gate(leadership, seldon, tasks)
        }
        None => leadership,
    };
    let namespaces = match &scope {
        WatchScope::AllNamespaces => None,
        WatchScope::Namespaces(list) => Some(list.iter().cloned().collect()),
    };
    let managed: Arc<dyn ManagedObjects> = ManagedIndex::start(&client, &namespaces, tasks);
    let writer = ApiWriter::new(client, leadership.clone(), "switchyard");
    let (discovery, discovery_ready) = RuntimeDiscovery::new(
        writer.clone(),
        registry,
        scope,
        addressing,
        finalizer_recheck,
    );
    essential(tasks, "runtime-discovery", {
        let cancel = cancel.clone();
        async move {
            discovery.run(cancel).await;
            Ok(())
        }
    });
    // Status streams -> CR status, and the schedulers' resync requests;
    // both write (and call schedulers) only while this replica leads.
    StatusWriter::start_with(writer.clone(), bus, status_workers, tasks);
    let schedulers: Arc<dyn Schedulers> = Arc::new(pool);
    Resync::start(writer.clone(), schedulers.clone(), control_plane, tasks);
    // The controllers reconcile only while this replica leads.
    let controllers = Controllers::start(
        Context::new(writer.clone(), schedulers)
            .with_reconcile_concurrency(reconcile_concurrency)
            .with_templates_namespace(templates_namespace)
            .with_deployments_for_servers(use_deployments_for_servers),
        namespaces,
        tasks,
    );
    // Ready once the first lists are in: the SeldonRuntimes, and, when this
    // replica leads by then, the controllers' own. It stays ready after
    // that (a standby taking over keeps serving the gateway).
    let (ready_tx, ready) = watch::channel(false);
    let controllers_listed = controllers.listed();
    let mut runtimes_listed = discovery_ready;
    tasks.spawn("readiness", async move {
        if runtimes_listed.wait_for(|listed| *listed).await.is_ok() {
            controllers_listed.await;
            ready_tx.send_replace(true);
            // Kept open: a closed readiness reads as not ready.
            cancel.cancelled().await;
        }
    });
    Ok((
        KubernetesParts {
            writer,
            leadership,
            managed,
            _always: always,
        },
        ready,
    ))
}

/// The operator's start-up line: version, scope, identity, lease, API server.
fn log_start(scope: &WatchScope, election: Option<&LeaderElectionConfig>, api_server: &str) {
    let scope = match scope {
        WatchScope::AllNamespaces => "cluster-wide".to_owned(),
        WatchScope::Namespaces(list) => {
            format!(
                "namespaces {}",
                list.iter().cloned().collect::<Vec<_>>().join(",")
            )
        }
    };
    let (identity, lease) = match election {
        Some(e) => (
            e.identity.clone(),
            format!("{}/{}", e.namespace, e.lease_name),
        ),
        None => (leader::default_identity(), "none (always leads)".to_owned()),
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        %scope,
        %identity,
        %lease,
        %api_server,
        "operator starting"
    );
}

/// The TLS settings towards schedulers: the operator's, or the static
/// runtimes' (a config file's as it reads now).
fn scheduler_tls(
    runtimes: &StaticRuntimes,
    kubernetes: Option<&KubernetesConfig>,
) -> Vec<ClientTls> {
    let specs = match runtimes {
        StaticRuntimes::Fixed(specs) => specs.clone(),
        StaticRuntimes::File {
            path, overrides, ..
        } => crate::config::FileConfig::load(path)
            .ok()
            .and_then(|mut file| {
                overrides.apply(&mut file.scheduler).ok()?;
                Some(file.runtime_specs())
            })
            .unwrap_or_default(),
        StaticRuntimes::None => Vec::new(),
    };
    kubernetes
        .and_then(|k| k.addressing.tls.clone())
        .into_iter()
        .chain(specs.into_iter().filter_map(|spec| spec.tls))
        .collect()
}

/// A running switchyard.
pub struct App {
    pub registry: RuntimeRegistry,
    pub pool: SchedulerPool,
    pub bus: StatusBus,
    pub gateway_addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    /// The operator side, when started with [`KubernetesConfig`].
    pub kubernetes: Option<KubernetesParts>,
    tasks: TaskGroup,
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
            admin_limits,
            spread,
            runtimes,
            kubernetes,
        } = config;
        crate::telemetry::certificates::watch_config(
            &gateway_config,
            &scheduler_tls(&runtimes, kubernetes.as_ref()),
        );
        // Every task of the app; dropped (a start that fails half-way), it
        // stops them all.
        let tasks = TaskGroup::new("app");
        let cancel = tasks.token();
        let registry = RuntimeRegistry::new();
        let bus = status_bus(&gateway_config);
        // With Kubernetes, the schedulers' control-plane requests (SEND_*)
        // feed the resync; bounded: a slow resync slows only that stream.
        let (control_plane_tx, control_plane_rx) = match &kubernetes {
            Some(_) => {
                let (tx, rx) = mpsc::channel(CONTROL_PLANE_QUEUE);
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        let pool = SchedulerPool::with_spread(bus.clone(), control_plane_tx, spread);
        let listener = switchyard_gateway::bind(gateway_listen).await?;
        let gateway_addr = listener.local_addr()?;

        // ---- the operator side (before the admin endpoint: it decides
        // readiness). Controllers and the status writer start from `parts`.
        let (kubernetes, ready_rx, ready_tx) = match kubernetes {
            Some(kube) => {
                let (parts, ready) = start_kubernetes(
                    kube,
                    registry.clone(),
                    pool.clone(),
                    bus.clone(),
                    control_plane_rx.expect("created with the Kubernetes side"),
                    &tasks,
                )
                .await?;
                (Some(parts), ready, None)
            }
            None => {
                let (tx, rx) = watch::channel(false);
                (None, rx, Some(tx))
            }
        };

        let metrics_addr = match (metrics_listen, metrics) {
            (Some(addr), Some(handle)) => {
                let admin = Admin {
                    metrics: handle,
                    ready: ready_rx,
                    log_level: crate::telemetry::logs::installed(),
                    runtimes: registry.clone(),
                };
                let (bound, serving) = admin::bind(addr, admin, admin_limits, cancel.clone())
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for /metrics: {e}"))?;
                essential(&tasks, "admin", async move {
                    serving.await;
                    Ok(())
                });
                Some(bound)
            }
            _ => None,
        };

        // With Kubernetes, discovery owns the registry: static runtimes
        // would fight it.
        match runtimes {
            _ if kubernetes.is_some() => {}
            StaticRuntimes::None => {}
            StaticRuntimes::Fixed(specs) => {
                registry.reset(specs);
            }
            StaticRuntimes::File {
                path,
                poll,
                overrides,
            } => {
                let (registry, cancel) = (registry.clone(), cancel.clone());
                essential(&tasks, "config-file", async move {
                    static_runtimes::follow(path, registry, poll, overrides, cancel).await;
                    Ok(())
                });
            }
        }
        {
            let (pool, registry, cancel) = (pool.clone(), registry.clone(), cancel.clone());
            essential(&tasks, "pool", async move {
                pool.follow(registry, cancel).await;
                Ok(())
            });
        }
        {
            let (pool, bus, cancel) = (pool.clone(), bus.clone(), cancel.clone());
            let options = gateway_options(&gateway_config);
            let operator = kubernetes
                .as_ref()
                .map(|k| (k.writer.client().clone(), k.managed.clone()));
            let access = crate::gateway_access::gateway_access(&gateway_config, operator)?;
            essential(&tasks, "gateway", async move {
                switchyard_gateway::serve(
                    listener,
                    pool,
                    bus,
                    options,
                    access,
                    cancel.cancelled_owned(),
                )
                .await
                .map_err(anyhow::Error::from)
            });
        }
        // Static discovery is complete once the file is read: the gateway is
        // ready to route (connections come up in the background).
        if let Some(ready_tx) = ready_tx {
            let _ = ready_tx.send(true);
        }
        tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            gateway = %gateway_addr,
            metrics = ?metrics_addr,
            "switchyard running"
        );
        Ok(App {
            registry,
            pool,
            bus,
            gateway_addr,
            metrics_addr,
            kubernetes,
            tasks,
        })
    }

    /// A token that, once cancelled, stops the app (as `shutdown` does).
    pub fn cancel_token(&self) -> CancellationToken {
        self.tasks.token()
    }

    /// Runs until `signal` completes, the app is cancelled, or a task
    /// fails (a panic, an error, or an essential task ending on its own);
    /// then shuts down.
    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let cancelled = self.tasks.token();
        tokio::select! {
            () = signal => tracing::info!("stopping"),
            () = cancelled.cancelled() => {}
            failure = self.tasks.failed() => tracing::error!(%failure, "stopping"),
            failure = self.pool.failed() => tracing::error!(%failure, "stopping"),
        }
        self.shutdown().await
    }

    /// Stops every task and waits for them (aborting and naming those still
    /// running after [`SHUTDOWN_DEADLINE`]); reports the first failure.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.bus.close();
        let stopped = self.tasks.shutdown(SHUTDOWN_DEADLINE).await;
        if let Some(failure) = self.tasks.failure() {
            return Err(failure.into());
        }
        stopped.map_err(anyhow::Error::from)
    }
}

/// Runs `task` in `tasks` as one the app cannot run without: ending before
/// the app is stopped is a failure, as an error or a panic is.
fn essential(
    tasks: &TaskGroup,
    name: &'static str,
    task: impl std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
) {
    let cancel = tasks.token();
    tasks.spawn_fallible(name, async move {
        task.await.map_err(|error| format!("{error:#}"))?;
        if cancel.is_cancelled() {
            Ok(())
        } else {
            Err("ended before the app was stopped".to_owned())
        }
    });
}

/// The status bus, with each subscriber's bounds from `[gateway]`
/// (docs/limits.md); unset: the bus's defaults.
fn status_bus(config: &GatewayConfig) -> StatusBus {
    let count = |n: Option<u64>, default: usize| {
        n.map_or(default, |n| usize::try_from(n).unwrap_or(usize::MAX))
    };
    StatusBus::with_budget(
        count(
            config.subscriber_max_pending_keys,
            DEFAULT_SUBSCRIBER_CAPACITY,
        ),
        count(
            config.subscriber_max_pending_bytes,
            DEFAULT_SUBSCRIBER_BYTES,
        ),
    )
}

/// The gateway's own configuration, from the config file's `[gateway]`
/// (its `listen` is bound by the caller).
pub fn gateway_options(config: &GatewayConfig) -> GatewayOptions {
    let GatewayConfig {
        listen: _,
        default_namespace,
        authority_suffix,
        call_timeout_seconds,
        max_connections,
        max_concurrent_streams,
        max_concurrent_requests,
        max_request_bytes,
        max_inflight_request_bytes,
        max_repeated_entries,
        // The status bus's, read by `status_bus`.
        subscriber_max_pending_keys: _,
        subscriber_max_pending_bytes: _,
        handshake_timeout_seconds,
        idle_timeout_seconds,
        request_read_timeout_seconds,
        tls,
        refuse_direct_writes: _,
        auth: _,
    } = config;
    let mut options = GatewayOptions {
        default_namespace: default_namespace.clone(),
        authority_suffix: authority_suffix.clone(),
        tls: tls.as_ref().map(|tls| TlsFiles {
            cert: tls.cert.clone(),
            key: tls.key.clone(),
            client_ca: tls.client_ca.clone(),
        }),
        ..GatewayOptions::default()
    };
    if let Some(secs) = call_timeout_seconds {
        options.call_timeout = Duration::from_secs(*secs);
    }
    // The gateway's bounds (docs/limits.md); unset: the gateway's defaults.
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let set = |slot: &mut usize, value: &Option<u64>| {
        if let Some(n) = value {
            *slot = count(*n);
        }
    };
    set(&mut options.max_connections, max_connections);
    set(
        &mut options.max_concurrent_requests,
        max_concurrent_requests,
    );
    set(&mut options.max_request_bytes, max_request_bytes);
    set(
        &mut options.max_inflight_request_bytes,
        max_inflight_request_bytes,
    );
    set(&mut options.max_repeated_entries, max_repeated_entries);
    if let Some(n) = max_concurrent_streams {
        options.max_concurrent_streams = *n;
    }
    let secs = |slot: &mut Duration, value: &Option<u64>| {
        if let Some(s) = value {
            *slot = Duration::from_secs(*s);
        }
    };
    secs(&mut options.handshake_timeout, handshake_timeout_seconds);
    secs(&mut options.idle_timeout, idle_timeout_seconds);
    secs(
        &mut options.request_read_timeout,
        request_read_timeout_seconds,
    );
    options
}
