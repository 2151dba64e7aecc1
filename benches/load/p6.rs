//! P6: the workloads at scale. `p6_runtimes` SeldonRuntimes (one per
//! namespace, each with its simulated scheduler) and `p6_servers` Servers
//! over them are created at once; switchyard builds every runtime's control
//! plane and every Server's StatefulSet and Services from Seldon's
//! templates, while the demo's stand-in for the StatefulSet and Deployment
//! controllers reports their pods ready. The clock runs until every runtime
//! and every Server is Ready; the API writes switchyard made to the objects
//! it owns are counted against the number of those objects.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::{StreamExt, TryStreamExt, stream};
use kube::api::{Api, ListParams, PostParams};
use switchyard::app::{App, AppConfig, KubernetesConfig};
use switchyard_api::{ConditionStatus, SeldonRuntime, Server};
use switchyard_kube_double::{ApiDouble, ApiDoubleConfig};
use switchyard_simulator::SimulatorFleet;
use switchyard_tasks::TaskGroup;
use switchyard_testkit::wait_until;

use crate::harness::{self, Scale};
use crate::table::{Row, verdict};

/// Targets at 100 runtimes and 1,000 Servers.
const TARGET_READY: Duration = Duration::from_secs(20);
const TARGET_WRITES_PER_OBJECT: f64 = 2.0;
/// Creations in flight.
const CREATE_CONCURRENCY: usize = 16;
/// The longest the wait may take before the scenario gives up.
const DEADLINE: Duration = Duration::from_secs(240);
/// What one runtime and one Server (one replica) become.
const OBJECTS_PER_RUNTIME: usize = 21;
const OBJECTS_PER_SERVER: usize = 2;
/// The kinds switchyard owns, as the API double counts writes.
const OWNED: [&str; 7] = [
    "statefulsets",
    "deployments",
    "services",
    "configmaps",
    "serviceaccounts",
    "roles",
    "rolebindings",
];

pub(crate) async fn run(scale: &Scale) -> anyhow::Result<Vec<Row>> {
    let namespaces: Vec<String> = (0..scale.p6_runtimes).map(|i| format!("p6-{i}")).collect();
    let servers = scale.p6_servers;
    let objects = namespaces.len() * OBJECTS_PER_RUNTIME + servers * OBJECTS_PER_SERVER;

    let mut config = ApiDoubleConfig::loopback();
    config.history_limit = config.history_limit.max(8 * objects);
    config.watch_buffer = config.watch_buffer.max(4 * objects);
    let double = ApiDouble::start_with(config).await?;
    let client = double.client()?;
    switchyard::cli::demo::install_templates(&client).await?;
    let fleet =
        SimulatorFleet::start_named(harness::simulator_config("p6"), namespaces.clone()).await?;
    let kubernetes = KubernetesConfig::local(double.kube_config(), fleet.addresses());
    let app = App::start(AppConfig::operator(harness::loopback(), kubernetes), None).await?;
    // The StatefulSet and Deployment controllers and the kubelet.
    let players = TaskGroup::new("p6");
    players.spawn(
        "workloads",
        switchyard::cli::demo::workloads::run(client.clone()),
    );
    let owned_writes = |double: &switchyard_kube_double::ApiDoubleHandle| {
        let stats = double.stats();
        OWNED
            .iter()
            .map(|kind| stats.applies(kind, "switchyard").changed)
            .sum::<u64>()
    };

    let start = Instant::now();
    stream::iter(namespaces.iter().cloned())
        .map(|ns| {
            let double = &double;
            async move {
                double
                    .create_runtime(&ns)
                    .await
                    .with_context(|| format!("creating SeldonRuntime {ns}/seldon"))
            }
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_for_each(|_| async { Ok(()) })
        .await?;
    let server_list =
        (0..servers).map(|i| (namespaces[i % namespaces.len()].clone(), format!("s-{i}")));
    stream::iter(server_list)
        .map(|(ns, name)| {
            let api = Api::<Server>::namespaced(client.clone(), &ns);
            async move {
                let server: Server = serde_json::from_value(serde_json::json!({
                    "metadata": {"name": name},
                    "spec": {"serverConfig": "mlserver", "replicas": 1}
                }))?;
                api.create(&PostParams::default(), &server)
                    .await
                    .with_context(|| format!("creating Server {ns}/{name}"))
            }
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_for_each(|_| async { Ok(()) })
        .await?;
    let created = start.elapsed();

    let runtimes_api: Api<SeldonRuntime> = Api::all(client.clone());
    let servers_api: Api<Server> = Api::all(client.clone());
    let ready = async || -> (usize, usize) {
        let params = ListParams::default();
        let runtimes = runtimes_api
            .list(&params)
            .await
            .map(|l| l.items.iter().filter(|r| runtime_ready(r)).count())
            .unwrap_or(0);
        let servers = servers_api
            .list(&params)
            .await
            .map(|l| l.items.iter().filter(|s| server_ready(s)).count())
            .unwrap_or(0);
        (runtimes, servers)
    };
    let deadline = Instant::now() + DEADLINE;
    let all_ready = loop {
        let last = ready().await;
        if last.0 >= namespaces.len() && last.1 >= servers {
            break Ok(start.elapsed());
        }
        if Instant::now() > deadline {
            break Err(last);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let writes = owned_writes(&double);
    // Settled: a few seconds more should cost no write.
    let _ = wait_until(
        "settled",
        Duration::from_secs(3),
        Duration::from_secs(3),
        || false,
    )
    .await;
    let steady = owned_writes(&double) - writes;

    drop(players);
    app.shutdown().await?;
    fleet.shutdown().await?;
    double.shutdown().await?;

    let mut note = format!("{} runtimes, {servers} Servers", namespaces.len());
    if namespaces.len() < 100 {
        note.push_str(" (scaled down from 100 and 1,000)");
    }
    let per_object = writes as f64 / objects as f64;
    Ok(vec![
        match all_ready {
            Ok(elapsed) => Row {
                figure: "P6 runtimes and Servers Ready".into(),
                measured: format!("{:.2} s", elapsed.as_secs_f64()),
                baseline: format!("created in {:.2} s", created.as_secs_f64()),
                ratio: format!("{:.0} Servers/s", servers as f64 / elapsed.as_secs_f64()),
                target: format!("< {} s", TARGET_READY.as_secs()),
                verdict: verdict(elapsed < TARGET_READY),
                note: note.clone(),
            },
            Err((runtimes, ready_servers)) => Row {
                figure: "P6 runtimes and Servers Ready".into(),
                measured: format!("{runtimes} runtimes, {ready_servers} Servers Ready"),
                baseline: format!("created in {:.2} s", created.as_secs_f64()),
                ratio: String::new(),
                target: format!("< {} s", TARGET_READY.as_secs()),
                verdict: "MISSED",
                note: note.clone(),
            },
        },
        Row {
            figure: "P6 API writes per owned object".into(),
            measured: format!("{writes} applies"),
            baseline: format!("{objects} objects"),
            ratio: format!("{per_object:.2} per object"),
            target: format!("<= {TARGET_WRITES_PER_OBJECT}"),
            verdict: verdict(per_object <= TARGET_WRITES_PER_OBJECT && steady == 0),
            note: format!("{note}; {steady} writes in the 3 s after, settled"),
        },
    ])
}

fn ready_condition(conditions: &[switchyard_api::Condition]) -> bool {
    switchyard_translate::conditions::get(conditions, "Ready")
        .is_some_and(|c| c.status == ConditionStatus::True)
}

fn runtime_ready(runtime: &SeldonRuntime) -> bool {
    runtime
        .status
        .as_ref()
        .is_some_and(|s| ready_condition(&s.duck.conditions))
}

fn server_ready(server: &Server) -> bool {
    server
        .status
        .as_ref()
        .is_some_and(|s| ready_condition(&s.duck.conditions))
}
