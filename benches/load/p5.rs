//! P5: a stalled gateway subscriber must not slow the others. `p5_readers`
//! subscribers read the gateway's aggregated model-status stream (each on
//! its own connection) while the simulator publishes `event_rate` events
//! per second. Rounds alternate two windows: no stalled subscriber, then
//! one more subscriber (its own connection) that opens the stream and never
//! reads, left a second to fill its HTTP/2 windows before counting. The
//! loss is how much less the readers received per second with the stall.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use switchyard_proto::scheduler::ModelSubscriptionRequest;
use switchyard_simulator::Simulator;
use tokio_util::sync::CancellationToken;

use crate::harness::{self, Scale};
use crate::table::{Row, verdict};

const NAMESPACE: &str = "p5";
/// Target: under 5 % fewer events for the others.
const TARGET_LOSS_PERCENT: f64 = 5.0;
/// Time a stalled subscriber gets to fill every buffer before counting.
const STALL_SETTLE: Duration = Duration::from_secs(1);

fn request(name: &str) -> ModelSubscriptionRequest {
    ModelSubscriptionRequest {
        subscriber_name: name.into(),
        is_model_gateway: false,
    }
}

pub(crate) async fn run(scale: &Scale) -> anyhow::Result<Vec<Row>> {
    let mut config = harness::simulator_config(NAMESPACE);
    config.preload_models = scale.models;
    let sim = Simulator::start(config).await?;
    let app = harness::gateway_app().await?;
    app.registry.apply(harness::runtime(&sim));
    harness::wait_connected(&app.pool, 1, Duration::from_secs(10)).await?;

    let stop = CancellationToken::new();
    let count = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for i in 0..scale.p5_readers {
        let mut client = harness::scheduler_client(app.gateway_addr).await?;
        let stream = client
            .subscribe_model_status(request(&format!("reader-{i}")))
            .await?
            .into_inner();
        readers.push(harness::count_messages(stream, count.clone(), stop.clone()));
    }
    sim.set_event_rate(scale.event_rate);
    tokio::time::sleep(Duration::from_secs(1)).await;

    let measure = |window: Duration| {
        let count = count.clone();
        async move {
            let (c0, t0) = (count.load(Ordering::Relaxed), Instant::now());
            tokio::time::sleep(window).await;
            (count.load(Ordering::Relaxed) - c0, t0.elapsed())
        }
    };
    let (mut free_events, mut free_time) = (0u64, Duration::ZERO);
    let (mut stalled_events, mut stalled_time) = (0u64, Duration::ZERO);
    let mut stalled_pending = 0usize;
    for round in 0..scale.p5_rounds {
        let (events, time) = measure(scale.window).await;
        free_events += events;
        free_time += time;

        let mut client = harness::scheduler_client(app.gateway_addr).await?;
        let stalled = client
            .subscribe_model_status(request(&format!("stalled-{round}")))
            .await?;
        tokio::time::sleep(STALL_SETTLE).await;
        let (events, time) = measure(scale.window).await;
        stalled_events += events;
        stalled_time += time;
        // Dirty keys waiting on the bus: the stalled reader's share is
        // bounded by the number of objects, whatever the rate.
        stalled_pending = stalled_pending.max(app.bus.pending().max(0) as usize);
        drop(stalled);
        drop(client);
    }
    sim.set_event_rate(0.0);
    let disconnected = sim.stats().slow_subscribers_disconnected;
    let reconnects: u64 = app.pool.infos().iter().map(|i| i.reconnects).sum();
    stop.cancel();
    for reader in readers {
        let _ = reader.await;
    }
    app.shutdown().await?;
    sim.shutdown().await?;

    let free_rate = free_events as f64 / free_time.as_secs_f64();
    let stalled_rate = stalled_events as f64 / stalled_time.as_secs_f64();
    let loss = (1.0 - stalled_rate / free_rate) * 100.0;
    let mut note = format!(
        "{} readers, {} rounds of {:?}, offered {:.0}/s over {} models; bus pending with the stall <= {stalled_pending}",
        scale.p5_readers, scale.p5_rounds, scale.window, scale.event_rate, scale.models
    );
    if disconnected > 0 {
        note.push_str(&format!(
            "; the simulator dropped {disconnected} slow subscriber(s) (the pool reconnected {reconnects} time(s))"
        ));
    }
    Ok(vec![Row {
        figure: "P5 readers' events/s, one stalled".into(),
        measured: format!("stalled {stalled_rate:.0}/s"),
        baseline: format!("none {free_rate:.0}/s"),
        ratio: format!("loss {loss:.1} %"),
        target: format!("< {TARGET_LOSS_PERCENT:.0} %"),
        verdict: verdict(loss < TARGET_LOSS_PERCENT),
        note,
    }])
}
