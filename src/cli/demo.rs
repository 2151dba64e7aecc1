//! `switchyard demo`: the whole operator and gateway in one process, with
//! no cluster.
//!
//! Starts the Kubernetes API double on 127.0.0.1, three simulated Seldon
//! schedulers (one per namespace) and the [`App`] with its Kubernetes side
//! (discovery, controllers, status write-back, resync) pointed at the
//! double, plus the gateway. It then creates a SeldonRuntime in every
//! namespace and `examples/demo.yaml` (a Server, two Models and a
//! Pipeline) as custom resources through the Kubernetes API, and prints a
//! line whenever a resource's Ready condition changes. Every few seconds it
//! patches one Model's `spec.replicas`, which the operator carries to that
//! namespace's scheduler, so there is something to watch.
//!
//! Switchyard creates no workloads; [`workloads`] plays whoever creates
//! them and the kubelet, so Servers get a ready StatefulSet and become
//! Ready. A small gateway client ([`traffic`]) calls the gateway every
//! second, so its gRPC metrics have data. Gateway authentication is on, as
//! in a Kubernetes install ([`access`]: the tokens it prints). As in
//! `simulate`, SIGUSR1 restarts the simulated schedulers and SIGUSR2 drops
//! their streams.
//!
//! [`Demo`] is the part without the printing loop, for tests.

pub mod access;
mod traffic;
pub mod workloads;

use std::collections::HashMap;
use std::fmt::Debug;
use std::net::SocketAddr;
use std::time::Duration;
use switchyard_tasks::TaskGroup;

use anyhow::Context as _;
use clap::Args;
use futures_util::{Stream, StreamExt, stream};
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::app::{App, AppConfig, KubernetesConfig};
use switchyard_api::{
    Condition, ConditionStatus, Experiment, Model, Pipeline, SeldonConfig, Server, ServerConfig,
};
use switchyard_kube_double::{ApiDouble, ApiDoubleHandle};
use switchyard_simulator::{SimulatorConfig, SimulatorFleet};

/// The manifests created in every namespace.
pub const MANIFESTS: &str = include_str!("../../examples/demo.yaml");

/// Seldon's templates, as its setup chart installs them in `seldon-mesh`
/// (switchyard's default templates namespace): the Servers are built from
/// these ServerConfigs.
const TEMPLATES: [(&str, &str); 3] = [
    (
        "SeldonConfig default",
        include_str!("../../crates/workloads/fixtures/seldonconfig-default.yaml"),
    ),
    (
        "ServerConfig mlserver",
        include_str!("../../crates/workloads/fixtures/serverconfig-mlserver.yaml"),
    ),
    (
        "ServerConfig triton",
        include_str!("../../crates/workloads/fixtures/serverconfig-triton.yaml"),
    ),
];
/// The simulated namespaces.
pub const NAMESPACES: [&str; 3] = ["fraud", "recsys", "search"];
/// The Model whose replicas the demo keeps changing.
const RESCALED_MODEL: &str = "income";
/// How often the demo's gateway client calls the gateway.
const CLIENT_EVERY: Duration = Duration::from_secs(1);

/// Arguments of `switchyard demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Gateway address; if busy, any free port on 127.0.0.1.
    #[arg(long, default_value = "127.0.0.1:9004")]
    pub gateway_listen: SocketAddr,
    /// Metrics address; if busy, any free port on 127.0.0.1.
    #[arg(long, default_value = "127.0.0.1:9100")]
    pub metrics_listen: SocketAddr,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<u64>,
    /// Seconds between rescaling a model (0: never).
    #[arg(long, default_value_t = 5)]
    pub rescale_every: u64,
}

/// The running demo: API double, simulated schedulers and the App.
pub struct Demo {
    /// The Kubernetes API double.
    pub double: ApiDoubleHandle,
    /// One simulated scheduler per namespace in [`NAMESPACES`].
    pub fleet: SimulatorFleet,
    /// Operator and gateway.
    pub app: App,
    /// A client of the double.
    pub client: Client,
    /// The demo's own tasks: the stand-in for the Servers' StatefulSets
    /// ([`workloads`]) and the status printer.
    tasks: TaskGroup,
}

impl Demo {
    /// Starts everything on 127.0.0.1 and creates a SeldonRuntime in every
    /// namespace. `metrics` is the installed Prometheus recorder, if any.
    pub async fn start(
        gateway_listen: SocketAddr,
        metrics_listen: Option<SocketAddr>,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> anyhow::Result<Demo> {
        let double = ApiDouble::start(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .context("starting the Kubernetes API double")?;
        let mut template = SimulatorConfig::new("demo", SocketAddr::from(([127, 0, 0, 1], 0)));
        template.sync_timeout = Duration::ZERO;
        let fleet = SimulatorFleet::start_named(
            template,
            NAMESPACES.iter().map(|s| s.to_string()).collect(),
        )
        .await?;
        access::install(&double, &double.client()?).await?;
        let kubernetes = KubernetesConfig::local(double.kube_config(), fleet.addresses());
        let app = App::start(
            AppConfig {
                metrics_listen,
                ..AppConfig::operator(gateway_listen, kubernetes)
            },
            metrics,
        )
        .await?;
        let client = double.client()?;
        install_templates(&client).await?;
        for ns in NAMESPACES {
            double
                .create_runtime(ns)
                .await
                .with_context(|| format!("creating SeldonRuntime {ns}/seldon"))?;
        }
        let tasks = TaskGroup::new("demo");
        tasks.spawn("workloads", workloads::run(client.clone()));
        Ok(Demo {
            double,
            fleet,
            app,
            client,
            tasks,
        })
    }

    /// Creates every resource of [`MANIFESTS`] in every namespace; returns
    /// `(namespace, kind, name)` of each, in creation order.
    pub async fn apply_examples(&self) -> anyhow::Result<Vec<(String, String, String)>> {
        let documents: Vec<Value> =
            serde_saphyr::from_multiple(MANIFESTS).context("parsing examples/demo.yaml")?;
        let mut created = Vec::new();
        for ns in NAMESPACES {
            for document in &documents {
                let kind = document
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let name = match kind.as_str() {
                    "Model" => create::<Model>(&self.client, ns, document).await?,
                    "Pipeline" => create::<Pipeline>(&self.client, ns, document).await?,
                    "Server" => create::<Server>(&self.client, ns, document).await?,
                    "Experiment" => create::<Experiment>(&self.client, ns, document).await?,
                    other => anyhow::bail!("examples/demo.yaml: unexpected kind {other:?}"),
                };
                created.push((ns.to_owned(), kind, name));
            }
        }
        Ok(created)
    }

    /// Sets `spec.replicas` of the rescaled Model in `namespace`.
    pub async fn rescale(&self, namespace: &str, replicas: i32) -> anyhow::Result<()> {
        Api::<Model>::namespaced(self.client.clone(), namespace)
            .patch(
                RESCALED_MODEL,
                &PatchParams::default(),
                &Patch::Merge(json!({ "spec": { "replicas": replicas } })),
            )
            .await
            .with_context(|| format!("patching Model {namespace}/{RESCALED_MODEL}"))?;
        Ok(())
    }

    /// Stops the App, the simulators and the double; reports the first
    /// failure.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        // Nothing to drain: the stand-ins and the printer just stop.
        drop(self.tasks);
        let app = self.app.shutdown().await;
        let fleet = self.fleet.shutdown().await;
        let double = self.double.shutdown().await;
        app?;
        fleet?;
        double?;
        Ok(())
    }
}

/// Creates one document of kind `K` in `namespace`; returns its name.
/// Creates Seldon's templates ([`TEMPLATES`]) in `seldon-mesh`, as its
/// setup chart installs them: the demo, the end-to-end tests and the load
/// benchmark build their runtimes and Servers from them.
pub async fn install_templates(client: &Client) -> anyhow::Result<()> {
    for (what, yaml) in TEMPLATES {
        let document: Value =
            serde_saphyr::from_str(yaml).with_context(|| format!("parsing {what}"))?;
        let namespace = switchyard_operator::controllers::DEFAULT_TEMPLATES_NAMESPACE;
        match document.get("kind").and_then(Value::as_str) {
            Some("SeldonConfig") => create::<SeldonConfig>(client, namespace, &document).await?,
            _ => create::<ServerConfig>(client, namespace, &document).await?,
        };
    }
    Ok(())
}

async fn create<K>(client: &Client, namespace: &str, document: &Value) -> anyhow::Result<String>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Debug
        + DeserializeOwned
        + serde::Serialize,
    K::DynamicType: Default,
{
    let mut resource: K = serde_json::from_value(document.clone()).with_context(|| {
        format!(
            "examples/demo.yaml: not a valid {}",
            K::kind(&Default::default())
        )
    })?;
    resource.meta_mut().namespace = Some(namespace.to_owned());
    let created = Api::<K>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &resource)
        .await
        .with_context(|| {
            format!(
                "creating {} {namespace}/{}",
                K::kind(&Default::default()),
                resource.name_any()
            )
        })?;
    Ok(created.name_any())
}

/// One resource's status as the demo prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRow {
    /// Namespace of the resource.
    pub namespace: String,
    /// `Model`, `Pipeline` or `Server`.
    pub kind: &'static str,
    /// Name of the resource.
    pub name: String,
    /// The Ready condition's status and `reason/message`, if it has one.
    pub ready: Option<(ConditionStatus, String)>,
    /// Extra detail (replicas, loaded models).
    pub detail: String,
}

impl std::fmt::Display for StatusRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (ready, why) = match &self.ready {
            Some((status, why)) => (format!("{status:?}"), why.as_str()),
            None => ("-".to_owned(), ""),
        };
        let line = format!(
            "{:<8} {:<8} {:<8} Ready={:<7} {:<12} {}",
            self.namespace, self.kind, self.name, ready, self.detail, why
        );
        f.write_str(line.trim_end())
    }
}

fn ready_of(conditions: &[Condition]) -> Option<(ConditionStatus, String)> {
    let ready = switchyard_translate::conditions::get(conditions, "Ready")?;
    let why = match (ready.reason.as_str(), ready.message.as_str()) {
        ("", "") => String::new(),
        (reason, "") => reason.to_owned(),
        ("", message) => message.to_owned(),
        (reason, message) => format!("{reason}/{message}"),
    };
    Some((ready.status, why))
}

fn model_row(m: &Model) -> StatusRow {
    let status = m.status.clone().unwrap_or_default();
    StatusRow {
        namespace: m.namespace().unwrap_or_default(),
        kind: "Model",
        name: m.name_any(),
        ready: ready_of(&status.duck.conditions),
        detail: format!(
            "replicas={}/{}",
            status.available_replicas,
            m.spec.replicas.unwrap_or(1)
        ),
    }
}

fn pipeline_row(p: &Pipeline) -> StatusRow {
    let status = p.status.clone().unwrap_or_default();
    StatusRow {
        namespace: p.namespace().unwrap_or_default(),
        kind: "Pipeline",
        name: p.name_any(),
        ready: ready_of(&status.duck.conditions),
        detail: format!("steps={}", p.spec.steps.len()),
    }
}

fn server_row(s: &Server) -> StatusRow {
    let status = s.status.clone().unwrap_or_default();
    StatusRow {
        namespace: s.namespace().unwrap_or_default(),
        kind: "Server",
        name: s.name_any(),
        ready: ready_of(&status.duck.conditions),
        detail: format!("loaded={}", status.loaded_models),
    }
}

/// Rows of every Model, Pipeline and Server in the cluster, one per
/// change of the resource (unchanged rows included; see [`print_changes`]).
pub fn status_rows(client: &Client) -> impl Stream<Item = StatusRow> + Send + use<> {
    fn rows<K>(
        client: &Client,
        row: fn(&K) -> StatusRow,
    ) -> impl Stream<Item = StatusRow> + Send + use<K>
    where
        K: Resource + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
        K::DynamicType: Default,
    {
        watcher(Api::<K>::all(client.clone()), watcher::Config::default())
            .default_backoff()
            .applied_objects()
            .filter_map(move |object| async move {
                match object {
                    Ok(object) => Some(row(&object)),
                    Err(error) => {
                        tracing::warn!(%error, "demo status watch");
                        None
                    }
                }
            })
    }
    stream::select(
        stream::select(
            rows::<Server>(client, server_row),
            rows::<Model>(client, model_row),
        ),
        rows::<Pipeline>(client, pipeline_row),
    )
}

/// Prints a row whenever a resource's Ready condition or detail changes.
async fn print_changes(client: Client) {
    let mut last: HashMap<(String, &'static str, String), StatusRow> = HashMap::new();
    let rows = status_rows(&client);
    futures_util::pin_mut!(rows);
    while let Some(row) = rows.next().await {
        let key = (row.namespace.clone(), row.kind, row.name.clone());
        if last.get(&key) != Some(&row) {
            println!("{row}");
            last.insert(key, row);
        }
    }
}

/// Runs the demo until Ctrl-C (or `--duration`).
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let DemoArgs {
        gateway_listen,
        metrics_listen,
        duration,
        rescale_every,
    } = args;
    let signals = crate::cli::simulate::FaultSignals::install();
    let metrics = crate::telemetry::install_metrics()?;
    let demo = Demo::start(
        free_or_any(gateway_listen),
        Some(free_or_any(metrics_listen)),
        Some(metrics),
    )
    .await?;
    let url = demo.double.url();
    println!(
        "switchyard demo: operator + gateway, {} simulated namespaces, Kubernetes API double",
        NAMESPACES.len()
    );
    println!("  kubernetes {url}   (kubectl --server {url} get models,pipelines,servers -A)");
    println!(
        "  built      kubectl --server {url} get statefulsets,deployments,services,configmaps,serviceaccounts,roles -n fraud"
    );
    for sim in demo.fleet.handles() {
        println!(
            "  namespace  {:<8} scheduler at {}",
            sim.namespace(),
            sim.local_addr()
        );
    }
    println!(
        "  gateway    {}   (seldon.mlops.scheduler.Scheduler for every namespace; metadata seldon-namespace picks one)",
        demo.app.gateway_addr
    );
    println!(
        "  auth       on (TokenReview/SubjectAccessReview by the API double): token {} may do anything, token {} (ServiceAccount {}/ci) only in {}",
        access::ADMIN_TOKEN,
        access::TEAM_TOKEN,
        access::TEAM_NAMESPACE,
        access::TEAM_NAMESPACE
    );
    println!(
        "  try        grpcurl -plaintext -H 'authorization: Bearer {}' -H 'seldon-namespace: {}' {} seldon.mlops.scheduler.Scheduler/ModelStatus",
        access::TEAM_TOKEN,
        access::TEAM_NAMESPACE,
        demo.app.gateway_addr
    );
    if let Some(addr) = demo.app.metrics_addr {
        println!("  metrics    http://{addr}/metrics");
    }
    println!(
        "Lines below: namespace kind name Ready detail reason/message, printed when they change \
         (a Server is Ready when its StatefulSet is, played by the demo; loaded = model replicas on it)."
    );
    println!(
        "Ctrl-C to stop; kill -USR1 {pid} restarts the simulated schedulers, -USR2 drops their streams.\n",
        pid = std::process::id()
    );

    demo.tasks
        .spawn("status-printer", print_changes(demo.client.clone()));
    let created = demo.apply_examples().await?;
    println!(
        "created {} resources from examples/demo.yaml in {}\n",
        created.len(),
        NAMESPACES.join(", ")
    );

    let stop = async {
        match duration {
            Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
            None => crate::cli::run::shutdown_signal().await,
        }
    };
    let cancel = demo.app.cancel_token();
    tokio::select! {
        () = stop => {}
        () = cancel.cancelled() => {}
        () = rescale_loop(&demo, rescale_every) => {}
        () = traffic::drive(demo.app.gateway_addr, CLIENT_EVERY) => {}
        () = signals.serve(&demo.fleet) => {}
    }
    demo.shutdown().await
}

/// `addr` if it can be bound now, else any free port on 127.0.0.1.
fn free_or_any(addr: SocketAddr) -> SocketAddr {
    match std::net::TcpListener::bind(addr) {
        Ok(_) => addr,
        Err(_) => SocketAddr::from(([127, 0, 0, 1], 0)),
    }
}

/// Every `every` seconds, patches the rescaled Model in the next namespace
/// (1 <-> 2 replicas), so the status keeps moving. Never returns unless
/// `every` is 0.
async fn rescale_loop(demo: &Demo, every: u64) {
    if every == 0 {
        return std::future::pending().await;
    }
    let mut round = 0usize;
    loop {
        tokio::time::sleep(Duration::from_secs(every)).await;
        let namespace = NAMESPACES[round % NAMESPACES.len()];
        let replicas = if (round / NAMESPACES.len()).is_multiple_of(2) {
            1
        } else {
            2
        };
        round += 1;
        println!("{namespace:<8} patch Model {RESCALED_MODEL} spec.replicas={replicas}");
        if let Err(error) = demo.rescale(namespace, replicas).await {
            println!("{namespace:<8} rescale failed: {error:#}");
        }
    }
}
