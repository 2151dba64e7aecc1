//! P2: status events per second delivered to one subscriber of the
//! gateway's aggregated model-status stream (every namespace) vs one
//! subscriber straight on the simulator, both open at the same time on
//! the same simulator while its generator publishes `event_rate` events
//! per second over `models` preloaded models. Snapshots are read first and
//! not counted; counting starts after a one-second settling period.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use switchyard_proto::scheduler::ModelSubscriptionRequest;
use switchyard_simulator::Simulator;
use tokio_util::sync::CancellationToken;

use crate::harness::{self, Scale};
use crate::table::{Row, verdict};

const NAMESPACE: &str = "p2";
/// Target: the gateway delivers at least 90 % of what a direct
/// subscriber gets.
const TARGET_RATIO: f64 = 0.9;

pub(crate) async fn run(scale: &Scale) -> anyhow::Result<Vec<Row>> {
    let mut config = harness::simulator_config(NAMESPACE);
    config.preload_models = scale.models;
    let sim = Simulator::start(config).await?;
    let app = harness::gateway_app().await?;
    app.registry.apply(harness::runtime(&sim));
    harness::wait_connected(&app.pool, 1, Duration::from_secs(10)).await?;

    let request = || ModelSubscriptionRequest {
        subscriber_name: "switchyard-bench".into(),
        is_model_gateway: false,
    };
    let stop = CancellationToken::new();
    let through_count = Arc::new(AtomicU64::new(0));
    let direct_count = Arc::new(AtomicU64::new(0));
    let mut through = harness::scheduler_client(app.gateway_addr).await?;
    let mut direct = harness::scheduler_client(sim.local_addr()).await?;
    let readers = [
        harness::count_messages(
            through
                .subscribe_model_status(request())
                .await?
                .into_inner(),
            through_count.clone(),
            stop.clone(),
        ),
        harness::count_messages(
            direct.subscribe_model_status(request()).await?.into_inner(),
            direct_count.clone(),
            stop.clone(),
        ),
    ];

    sim.set_event_rate(scale.event_rate);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let start = Instant::now();
    let (g0, d0) = (
        through_count.load(Ordering::Relaxed),
        direct_count.load(Ordering::Relaxed),
    );
    tokio::time::sleep(scale.window).await;
    let (g1, d1) = (
        through_count.load(Ordering::Relaxed),
        direct_count.load(Ordering::Relaxed),
    );
    let elapsed = start.elapsed().as_secs_f64();
    sim.set_event_rate(0.0);
    let disconnected = sim.stats().slow_subscribers_disconnected;
    let reconnects: u64 = app.pool.infos().iter().map(|i| i.reconnects).sum();
    stop.cancel();
    for reader in readers {
        let _ = reader.await;
    }
    app.shutdown().await?;
    sim.shutdown().await?;

    let through_rate = (g1 - g0) as f64 / elapsed;
    let direct_rate = (d1 - d0) as f64 / elapsed;
    let ratio = through_rate / direct_rate;
    let mut note = format!(
        "offered {:.0}/s over {} models, {:.1} s window",
        scale.event_rate, scale.models, elapsed
    );
    if disconnected > 0 {
        note.push_str(&format!(
            "; the simulator dropped {disconnected} slow subscriber(s) (the pool reconnected {reconnects} time(s))"
        ));
    }
    Ok(vec![Row {
        figure: "P2 status events/s".into(),
        measured: format!("gateway {through_rate:.0}/s"),
        baseline: format!("direct {direct_rate:.0}/s"),
        ratio: format!("{ratio:.2}"),
        target: format!(">= {TARGET_RATIO:.2}"),
        verdict: verdict(ratio >= TARGET_RATIO),
        note,
    }])
}
