//! P1: unary LoadModel latency through the gateway vs straight to the
//! simulated scheduler. One simulator, one client connection per side,
//! one call in flight; the two sides alternate call by call (the order
//! flips every pair) after a warm-up of both, so drift on the machine hits
//! both equally. Every call loads a new model name.

use std::time::{Duration, Instant};

use switchyard_proto::scheduler::scheduler_client::SchedulerClient;
use switchyard_simulator::Simulator;
use switchyard_testkit::load_model_request;
use tonic::transport::Channel;

use crate::harness::{self, Scale, ms, quantile};
use crate::table::{Row, verdict};

const NAMESPACE: &str = "p1";
/// Target: the gateway adds at most 10 % at the median.
const TARGET_P50_RATIO: f64 = 1.10;
/// How long the "slow scheduler" variant's simulator takes per call.
const SLOW_SCHEDULER: Duration = Duration::from_millis(1);

pub(crate) async fn run(scale: &Scale) -> anyhow::Result<Vec<Row>> {
    let sim = Simulator::start(harness::simulator_config(NAMESPACE)).await?;
    let app = harness::gateway_app().await?;
    app.registry.apply(harness::runtime(&sim));
    harness::wait_connected(&app.pool, 1, Duration::from_secs(10)).await?;
    let mut through = harness::scheduler_client(app.gateway_addr).await?;
    let mut direct = harness::scheduler_client(sim.local_addr()).await?;

    for i in 0..scale.p1_warmup {
        through
            .load_model(load_model_request(NAMESPACE, &format!("warm-g{i}")))
            .await?;
        direct
            .load_model(load_model_request(NAMESPACE, &format!("warm-d{i}")))
            .await?;
    }
    let (gateway, straight) = measure(&mut through, &mut direct, scale.p1_calls, "").await?;
    // The same with a scheduler that takes a while, as a real one does
    // (it writes its state before answering): the hop's share shrinks.
    sim.set_call_latency(SLOW_SCHEDULER);
    let calls = scale.p1_calls / 4;
    let (slow_gateway, slow_straight) = measure(&mut through, &mut direct, calls, "slow-").await?;

    app.shutdown().await?;
    sim.shutdown().await?;

    let note = format!(
        "{} calls per side after {} warm-up, alternating, 1 in flight",
        scale.p1_calls, scale.p1_warmup
    );
    let mut rows = Vec::new();
    for (label, q, target) in [("p50", 0.50, Some(TARGET_P50_RATIO)), ("p99", 0.99, None)] {
        rows.push(row(
            &format!("P1 LoadModel {label}"),
            &gateway,
            &straight,
            q,
            target,
            &note,
        ));
    }
    let slow_note = format!(
        "{calls} calls per side, simulator call_latency {} ms",
        SLOW_SCHEDULER.as_millis()
    );
    rows.push(row(
        "P1 LoadModel p50, slow scheduler",
        &slow_gateway,
        &slow_straight,
        0.5,
        Some(TARGET_P50_RATIO),
        &slow_note,
    ));
    Ok(rows)
}

fn row(
    figure: &str,
    gateway: &[Duration],
    straight: &[Duration],
    q: f64,
    target: Option<f64>,
    note: &str,
) -> Row {
    let (g, d) = (quantile(gateway, q), quantile(straight, q));
    let ratio = g.as_secs_f64() / d.as_secs_f64();
    Row {
        figure: figure.to_owned(),
        measured: format!("gateway {}", ms(g)),
        baseline: format!("direct {}", ms(d)),
        ratio: format!("{ratio:.2}"),
        target: target.map_or_else(|| "-".into(), |t| format!("<= {t:.2}")),
        verdict: target.map_or("n/a", |t| verdict(ratio <= t)),
        note: note.to_owned(),
    }
}

/// `calls` LoadModel calls per side, alternating (the order flips every
/// pair); sorted latencies of the gateway side and the direct side.
async fn measure(
    through: &mut SchedulerClient<Channel>,
    direct: &mut SchedulerClient<Channel>,
    calls: usize,
    prefix: &str,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let mut gateway = Vec::with_capacity(calls);
    let mut straight = Vec::with_capacity(calls);
    for i in 0..calls {
        let g = load_model_request(NAMESPACE, &format!("{prefix}g{i}"));
        let d = load_model_request(NAMESPACE, &format!("{prefix}d{i}"));
        if i % 2 == 0 {
            gateway.push(timed(through.load_model(g)).await?);
            straight.push(timed(direct.load_model(d)).await?);
        } else {
            straight.push(timed(direct.load_model(d)).await?);
            gateway.push(timed(through.load_model(g)).await?);
        }
    }
    gateway.sort();
    straight.sort();
    Ok((gateway, straight))
}

async fn timed<T, E: Into<anyhow::Error>>(
    call: impl Future<Output = Result<T, E>>,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    call.await.map_err(Into::into)?;
    Ok(start.elapsed())
}
