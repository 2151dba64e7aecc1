//! A gateway in front of simulated schedulers, all on 127.0.0.1, with
//! clients and deadline-bounded waits for the gateway tests.

pub(super) use std::time::Duration;

pub(super) use switchyard::config::GatewayConfig;
pub(super) use switchyard_core::bus::StatusBus;
pub(super) use switchyard_core::registry::{RuntimeRegistry, RuntimeSpec};
pub(super) use switchyard_gateway::{Access, GatewayOptions, NAMESPACE_METADATA, ServeError};
pub(super) use switchyard_proto::gateway::gateway_client::GatewayClient;
pub(super) use switchyard_proto::scheduler::{
    ControlPlaneSubscriptionRequest, Experiment, KubernetesMeta, LoadModelRequest,
    LoadPipelineRequest, MetaData, Model, ModelReference, ModelSpec, ModelStatusRequest,
    ModelStatusResponse, ModelSubscriptionRequest, Pipeline, PipelineStep, SchedulerStatusRequest,
    ServerNotify, ServerNotifyRequest, StartExperimentRequest, UnloadModelRequest,
    UnloadPipelineRequest, control_plane_response::Event, model_status::ModelState,
    scheduler_client::SchedulerClient,
};
pub(super) use switchyard_scheduler::{ConnectionState, SchedulerPool};
pub(super) use switchyard_simulator::{Rpc, Simulator, SimulatorConfig, SimulatorHandle};
pub(super) use tokio::time::{Instant, timeout};
pub(super) use tokio_util::sync::CancellationToken;
pub(super) use tonic::{Code, Request, Status, Streaming, transport::Channel, transport::Endpoint};

/// Upper bound on every wait in these tests.
pub(super) const DEADLINE: Duration = Duration::from_secs(15);

/// The settings of a test simulator for `namespace` on a free port.
pub(super) fn simulator_config(namespace: &str) -> SimulatorConfig {
    let mut config = SimulatorConfig::new(namespace, "127.0.0.1:0".parse().expect("address"));
    config.sync_timeout = Duration::ZERO;
    config.knobs.transition_delay = Duration::from_millis(10);
    config
}

/// A 127.0.0.1 address where nothing listens.
pub(super) async fn closed_port() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

pub(super) fn runtime(namespace: &str, address: impl ToString) -> RuntimeSpec {
    RuntimeSpec {
        namespace: namespace.into(),
        address: address.to_string(),
        tls: None,
    }
}

/// Registry, pool, bus and a gateway serving them on 127.0.0.1:0.
pub(super) struct Env {
    pub registry: RuntimeRegistry,
    pub pool: SchedulerPool,
    pub bus: StatusBus,
    pub addr: std::net::SocketAddr,
    pub sims: Vec<SimulatorHandle>,
    stop_pool: CancellationToken,
    follower: tokio::task::JoinHandle<()>,
    stop_gateway: CancellationToken,
    server: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl Env {
    /// A gateway in front of one simulator per name in `namespaces`.
    pub(super) async fn start(namespaces: &[&str]) -> Env {
        Env::start_with(namespaces, GatewayConfig::default(), test_options()).await
    }

    pub(super) async fn start_with(
        namespaces: &[&str],
        config: GatewayConfig,
        options: GatewayOptions,
    ) -> Env {
        Env::start_custom(namespaces, config, options, |_| {}).await
    }

    /// Like `start_with`, with `tweak` applied to each simulator's config.
    pub(super) async fn start_custom(
        namespaces: &[&str],
        config: GatewayConfig,
        options: GatewayOptions,
        tweak: impl Fn(&mut SimulatorConfig),
    ) -> Env {
        Env::start_full(namespaces, config, options, Access::default(), tweak).await
    }

    /// A gateway admitting calls through `access`.
    pub(super) async fn start_full(
        namespaces: &[&str],
        config: GatewayConfig,
        options: GatewayOptions,
        access: Access,
        tweak: impl Fn(&mut SimulatorConfig),
    ) -> Env {
        let registry = RuntimeRegistry::new();
        let bus = StatusBus::default();
        let pool = SchedulerPool::new(bus.clone(), None);
        let stop_pool = CancellationToken::new();
        let follower = tokio::spawn({
            let (pool, registry, cancel) = (pool.clone(), registry.clone(), stop_pool.clone());
            async move { pool.follow(registry, cancel).await }
        });
        let mut sims = Vec::new();
        for ns in namespaces {
            let mut sim_config = simulator_config(ns);
            tweak(&mut sim_config);
            let sim = Simulator::start(sim_config)
                .await
                .expect("simulator starts");
            registry.apply(runtime(ns, sim.local_addr()));
            sims.push(sim);
        }
        let listener = switchyard_gateway::bind("127.0.0.1:0".parse().unwrap())
            .await
            .expect("gateway binds");
        let addr = listener.local_addr().unwrap();
        let stop_gateway = CancellationToken::new();
        // The config file's [gateway] as `run` translates it.
        let file = switchyard::app::gateway_options(&config);
        let options = GatewayOptions {
            default_namespace: file.default_namespace,
            tls: file.tls,
            ..options
        };
        let server = tokio::spawn({
            let (pool, bus, stop) = (pool.clone(), bus.clone(), stop_gateway.clone());
            async move {
                switchyard_gateway::serve(
                    listener,
                    pool,
                    bus,
                    options,
                    access,
                    stop.cancelled_owned(),
                )
                .await
            }
        });
        let env = Env {
            registry,
            pool,
            bus,
            addr,
            sims,
            stop_pool,
            follower,
            stop_gateway,
            server,
        };
        for ns in namespaces {
            env.wait_state(ns, ConnectionState::Ready).await;
        }
        env
    }

    pub(super) fn sim(&self, namespace: &str) -> &SimulatorHandle {
        self.sims
            .iter()
            .find(|s| s.namespace() == namespace)
            .expect("a simulator for the namespace")
    }

    /// Waits (on the pool's change feed) until `namespace` is in `state`.
    pub(super) async fn wait_state(&self, namespace: &str, state: ConnectionState) {
        let mut changes = self.pool.watch_changes();
        let reached = timeout(DEADLINE, async {
            loop {
                if self
                    .pool
                    .get(namespace)
                    .is_ok_and(|e| e.info().state == state)
                {
                    return;
                }
                changes.changed().await.expect("pool alive");
            }
        })
        .await;
        assert!(reached.is_ok(), "{namespace} never became {state:?}");
    }

    /// Waits until the pool serves `namespace` (in any state).
    pub(super) async fn wait_known(&self, namespace: &str) {
        let mut changes = self.pool.watch_changes();
        timeout(DEADLINE, async {
            while self.pool.get(namespace).is_err() {
                changes.changed().await.expect("pool alive");
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{namespace} never joined the pool"));
    }

    /// The gateway's endpoint, to tune before connecting.
    pub(super) fn endpoint(&self) -> Endpoint {
        Endpoint::from_shared(format!("http://{}", self.addr)).unwrap()
    }

    /// A new connection to the gateway.
    pub(super) async fn channel(&self) -> Channel {
        self.endpoint()
            .connect()
            .await
            .expect("gateway accepts connections")
    }

    pub(super) async fn client(&self) -> SchedulerClient<Channel> {
        SchedulerClient::new(self.channel().await)
    }

    pub(super) async fn runtimes_client(&self) -> GatewayClient<Channel> {
        GatewayClient::new(self.channel().await)
    }

    /// A direct client of `namespace`'s simulator (bypassing the gateway).
    pub(super) async fn direct(&self, namespace: &str) -> SchedulerClient<Channel> {
        let channel = Endpoint::from_shared(self.sim(namespace).uri())
            .unwrap()
            .connect()
            .await
            .expect("simulator accepts connections");
        SchedulerClient::new(channel)
    }

    /// Stops the gateway (gracefully; it must return within the deadline),
    /// the pool and the simulators.
    pub(super) async fn stop(self) {
        self.stop_gateway.cancel();
        timeout(DEADLINE, self.server)
            .await
            .expect("gateway stops in time")
            .expect("gateway task")
            .expect("gateway stops cleanly");
        self.stop_pool.cancel();
        self.follower.await.expect("pool follower");
        for sim in self.sims {
            sim.shutdown().await.expect("simulator stops");
        }
    }

    /// Begins a graceful shutdown of the gateway only.
    pub(super) fn stop_gateway(&self) {
        self.stop_gateway.cancel();
    }
}

/// Test options: short call deadline, small request limit.
pub(super) fn test_options() -> GatewayOptions {
    GatewayOptions {
        call_timeout: Duration::from_secs(2),
        max_request_bytes: 256 * 1024,
        shutdown_grace: Duration::from_secs(5),
        ..GatewayOptions::default()
    }
}

/// `message` with `seldon-namespace: namespace`.
pub(super) fn in_ns<T>(namespace: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert(NAMESPACE_METADATA, namespace.parse().unwrap());
    request
}

/// `request` with `authorization: Bearer token`.
pub(super) fn bearer<T>(token: &str, mut request: Request<T>) -> Request<T> {
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// An UnloadModel request naming only the model (as the seldon CLI sends).
pub(super) fn unload_model(name: &str) -> UnloadModelRequest {
    UnloadModelRequest {
        model: Some(ModelReference {
            name: name.into(),
            version: None,
        }),
        kubernetes_meta: None,
    }
}

/// A LoadModel request for `name`, naming `namespace` in kubernetesMeta
/// if given.
pub(super) fn load_model(name: &str, namespace: Option<&str>) -> LoadModelRequest {
    LoadModelRequest {
        model: Some(Model {
            meta: Some(MetaData {
                name: name.into(),
                kubernetes_meta: namespace.map(|ns| KubernetesMeta {
                    namespace: ns.into(),
                    generation: 1,
                }),
                ..Default::default()
            }),
            model_spec: Some(ModelSpec {
                uri: "gs://seldon-models/iris".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

/// A client of `env` subscribed to `team-a`'s model statuses: a bystander
/// whose calls and stream must keep working while others misbehave.
pub(super) async fn bystander(
    env: &Env,
) -> (SchedulerClient<Channel>, Streaming<ModelStatusResponse>) {
    let mut client = env.client().await;
    let events = client
        .subscribe_model_status(in_ns("team-a", ModelSubscriptionRequest::default()))
        .await
        .expect("the bystander subscribes")
        .into_inner();
    (client, events)
}

/// The bystander's call loads `name` in `team-a` and its stream shows it.
pub(super) async fn still_served(
    (client, events): &mut (SchedulerClient<Channel>, Streaming<ModelStatusResponse>),
    name: &str,
) {
    client
        .load_model(load_model(name, Some("team-a")))
        .await
        .expect("the bystander's call");
    read_until(events, |m| m.model_name == name).await;
}

/// Names of the models `client` lists (ModelStatus, all models).
pub(super) async fn model_names(client: &mut SchedulerClient<Channel>) -> Vec<String> {
    let mut stream = client
        .model_status(ModelStatusRequest::default())
        .await
        .expect("listing opens")
        .into_inner();
    let mut names = Vec::new();
    while let Some(m) = timeout(DEADLINE, stream.message())
        .await
        .expect("listing in time")
        .expect("listing ok")
    {
        names.push(m.model_name);
    }
    names.sort();
    names
}

pub(super) use switchyard_testkit::eventually;

/// Reads `stream` until `done` holds for a message; returns every message
/// read, in order.
pub(super) async fn read_until<T>(
    stream: &mut Streaming<T>,
    mut done: impl FnMut(&T) -> bool,
) -> Vec<T> {
    let mut seen = Vec::new();
    timeout(DEADLINE, async {
        loop {
            let message = stream
                .message()
                .await
                .expect("stream healthy")
                .expect("stream still open");
            let stop = done(&message);
            seen.push(message);
            if stop {
                return;
            }
        }
    })
    .await
    .expect("the awaited message arrived in time");
    seen
}

/// The namespace a model status names, and whether it is available.
pub(super) fn model_ns_available(m: &ModelStatusResponse) -> (String, bool) {
    let v = m.versions.first().expect("a version");
    let ns = v
        .kubernetes_meta
        .as_ref()
        .map(|k| k.namespace.clone())
        .unwrap_or_default();
    let available = v
        .state
        .as_ref()
        .is_some_and(|s| s.state() == ModelState::ModelAvailable);
    (ns, available)
}
