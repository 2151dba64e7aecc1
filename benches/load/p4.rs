//! P4: the operator at scale. The API double holds `p4_models` Model CRs
//! spread over `p4_namespaces` namespaces, each with its SeldonRuntime and
//! simulated scheduler; switchyard's App runs with its Kubernetes side
//! (discovery, controllers, status writer, resync), as `switchyard demo`
//! wires it. Runtimes are created and connected first (not timed); then
//! the Models are created (16 requests in flight) and the clock measures
//! until every Model is held by its scheduler (every LoadModel received)
//! and until every CR reports Ready (seen on a watch of all Models), and
//! counts what the operator wrote for them: write requests to Models and
//! their status, and Events about Models, per Model.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::events::v1::Event;
use kube::api::PostParams;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, ResourceExt};
use switchyard::app::{App, AppConfig, KubernetesConfig};
use switchyard_api::ConditionStatus;
use switchyard_api::model::{Model, ModelSpec};
use switchyard_kube_double::{ApiDouble, ApiDoubleConfig};
use switchyard_simulator::{Rpc, SimulatorFleet};
use switchyard_testkit::wait_until;
use tokio_util::sync::CancellationToken;

use crate::harness::{self, Scale};
use crate::table::{Row, verdict};

/// Targets at 10,000 Models in 100 namespaces.
const TARGET_SENT: Duration = Duration::from_secs(5);
const TARGET_READY: Duration = Duration::from_secs(10);
/// The operator's write budget per Model, creation to Ready.
const TARGET_WRITES: f64 = 3.0;
/// Creations in flight.
const CREATE_CONCURRENCY: usize = 16;
/// The longest either wait may take before the scenario gives up.
const DEADLINE: Duration = Duration::from_secs(180);

pub(crate) async fn run(scale: &Scale) -> anyhow::Result<Vec<Row>> {
    let total = scale.p4_models;
    let namespaces: Vec<String> = (0..scale.p4_namespaces)
        .map(|i| format!("p4-{i}"))
        .collect();

    let mut config = ApiDoubleConfig::loopback();
    // A real API server's watch cache is sized for thousands of objects;
    // give the double room for one burst of creations and status writes.
    config.history_limit = config.history_limit.max(4 * total);
    config.watch_buffer = config.watch_buffer.max(2 * total);
    let double = ApiDouble::start_with(config).await?;
    let fleet =
        SimulatorFleet::start_named(harness::simulator_config("p4"), namespaces.clone()).await?;
    let mut kubernetes = KubernetesConfig::local(double.kube_config(), fleet.addresses());
    kubernetes.finalizer_recheck = Duration::from_secs(5);
    let app = App::start(AppConfig::operator(harness::loopback(), kubernetes), None).await?;
    let client = double.client()?;
    switchyard::cli::demo::install_templates(&client).await?;
    for ns in &namespaces {
        double
            .create_runtime(ns)
            .await
            .with_context(|| format!("creating SeldonRuntime {ns}/seldon"))?;
    }
    harness::wait_connected(&app.pool, namespaces.len(), Duration::from_secs(60)).await?;

    // Ready Models, as a watch of every Model sees them.
    let ready = Arc::new(AtomicUsize::new(0));
    let stop = CancellationToken::new();
    let tracker = tokio::spawn(track_ready(client.clone(), ready.clone(), stop.clone()));

    // Only what the Models cost is counted from here.
    double.reset_stats();
    let start = Instant::now();
    let models = (0..total).map(|i| (namespaces[i % namespaces.len()].clone(), format!("m-{i}")));
    stream::iter(models)
        .map(|(ns, name)| {
            let api = Api::<Model>::namespaced(client.clone(), &ns);
            async move {
                let model = Model::new(
                    &name,
                    ModelSpec {
                        storage_uri: format!("gs://models/{name}"),
                        ..Default::default()
                    },
                );
                api.create(&PostParams::default(), &model)
                    .await
                    .with_context(|| format!("creating Model {ns}/{name}"))
            }
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .try_for_each(|_| async { Ok(()) })
        .await?;
    let created = start.elapsed();
    let held = || {
        fleet
            .handles()
            .iter()
            .map(|s| s.stats().models)
            .sum::<usize>()
    };
    wait_until(
        "every Model held by its scheduler",
        DEADLINE,
        Duration::from_millis(20),
        || held() >= total,
    )
    .await?;
    let sent = start.elapsed();
    let ready_result = wait_until(
        "every Model Ready",
        DEADLINE,
        Duration::from_millis(20),
        || ready.load(Ordering::Relaxed) >= total,
    )
    .await;
    let all_ready = start.elapsed();
    let ready_seen = ready.load(Ordering::Relaxed);
    let load_calls: u64 = fleet
        .handles()
        .iter()
        .map(|s| s.calls(Rpc::LoadModel))
        .sum();
    let stats = double.stats();
    let writes = stats.writes();
    let model_writes = stats.updates_to(&["models", "models/status"]);
    let model_events = events_about_models(&client).await?;
    let per_model = (model_writes + model_events) as f64 / total as f64;

    stop.cancel();
    let _ = tracker.await;
    app.shutdown().await?;
    fleet.shutdown().await?;
    double.shutdown().await?;

    let mut note = format!("{total} Models in {} namespaces", namespaces.len());
    if total < 10_000 {
        note.push_str(" (scaled down from 10,000 in 100)");
    }
    let mut rows = vec![Row {
        figure: "P4 all LoadModel sent".into(),
        measured: format!("{:.2} s", sent.as_secs_f64()),
        baseline: format!("created in {:.2} s", created.as_secs_f64()),
        ratio: format!("{:.0} Models/s", total as f64 / sent.as_secs_f64()),
        target: format!("< {} s", TARGET_SENT.as_secs()),
        verdict: verdict(sent < TARGET_SENT),
        note: format!("{note}; {load_calls} LoadModel calls received"),
    }];
    rows.push(match ready_result {
        Ok(_) => Row {
            figure: "P4 all CRs Ready".into(),
            measured: format!("{:.2} s", all_ready.as_secs_f64()),
            baseline: String::new(),
            ratio: format!("{:.0} Models/s", total as f64 / all_ready.as_secs_f64()),
            target: format!("< {} s", TARGET_READY.as_secs()),
            verdict: verdict(all_ready < TARGET_READY),
            note: format!("{note}; {writes} writes to the API double in all"),
        },
        Err(error) => Row {
            figure: "P4 all CRs Ready".into(),
            measured: format!("{ready_seen}/{total} Ready"),
            baseline: String::new(),
            ratio: String::new(),
            target: format!("< {} s", TARGET_READY.as_secs()),
            verdict: "MISSED",
            note: format!("{note}; {error}"),
        },
    });
    rows.push(Row {
        figure: "P4 API writes per Model".into(),
        measured: format!("{model_writes} writes, {model_events} events"),
        baseline: format!("{total} Models"),
        ratio: format!("{per_model:.2} per Model"),
        target: format!("<= {TARGET_WRITES:.0}"),
        verdict: verdict(per_model <= TARGET_WRITES),
        note: format!(
            "{note}; creation to Ready: switchyard's writes to models and models/status (refused and no-op ones included) and Events about Models"
        ),
    });
    Ok(rows)
}

/// Events (of every namespace) about a Model.
async fn events_about_models(client: &kube::Client) -> anyhow::Result<u64> {
    let events = Api::<Event>::all(client.clone())
        .list(&Default::default())
        .await
        .context("listing Events")?;
    Ok(events
        .items
        .iter()
        .filter(|e| {
            e.regarding
                .as_ref()
                .is_some_and(|r| r.kind.as_deref() == Some("Model"))
        })
        .count() as u64)
}

fn is_ready(model: &Model) -> bool {
    model.status.as_ref().is_some_and(|status| {
        switchyard_translate::conditions::get(&status.duck.conditions, "Ready")
            .is_some_and(|c| c.status == ConditionStatus::True)
    })
}

/// Keeps `ready` equal to the number of Ready Models until `stop` fires.
async fn track_ready(client: kube::Client, ready: Arc<AtomicUsize>, stop: CancellationToken) {
    let mut seen: HashSet<String> = HashSet::new();
    let events = watcher(Api::<Model>::all(client), watcher::Config::default())
        .default_backoff()
        .applied_objects();
    futures_util::pin_mut!(events);
    loop {
        let model = tokio::select! {
            () = stop.cancelled() => return,
            next = events.next() => match next {
                Some(Ok(model)) => model,
                Some(Err(_)) => continue,
                None => return,
            },
        };
        let key = format!(
            "{}/{}",
            model.namespace().unwrap_or_default(),
            model.name_any()
        );
        if is_ready(&model) {
            seen.insert(key);
        } else {
            seen.remove(&key);
        }
        ready.store(seen.len(), Ordering::Relaxed);
    }
}
