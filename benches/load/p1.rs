//! P1: unary LoadModel latency through the gateway vs straight to the
//! simulated scheduler. One simulator, one client connection per side,
//! one call in flight; the two sides alternate call by call (the order
//! flips every pair) after a warm-up of both, so drift on the machine hits
//! both equally. Every call loads a new model name.

use std::time::{Duration, Instant};

use switchyard::simulator::Simulator;
use switchyard::testkit::load_model_request;

use crate::harness::{self, Scale, ms, quantile};
use crate::table::{Row, verdict};

const NAMESPACE: &str = "p1";
/// Target: the gateway adds at most 10 % at the median.
const TARGET_P50_RATIO: f64 = 1.10;

pub async fn run(scale: &Scale) -> anyhow::Result<Vec<Row>> {
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
    let mut gateway = Vec::with_capacity(scale.p1_calls);
    let mut straight = Vec::with_capacity(scale.p1_calls);
    for i in 0..scale.p1_calls {
        let g = load_model_request(NAMESPACE, &format!("g{i}"));
        let d = load_model_request(NAMESPACE, &format!("d{i}"));
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

    app.shutdown().await?;
    sim.shutdown().await?;

    let note = format!(
        "{} calls per side after {} warm-up, alternating, 1 in flight",
        scale.p1_calls, scale.p1_warmup
    );
    let mut rows = Vec::new();
    for (label, q, target) in [("p50", 0.50, Some(TARGET_P50_RATIO)), ("p99", 0.99, None)] {
        let (g, d) = (quantile(&gateway, q), quantile(&straight, q));
        let ratio = g.as_secs_f64() / d.as_secs_f64();
        rows.push(Row {
            figure: format!("P1 LoadModel {label}"),
            measured: format!("gateway {}", ms(g)),
            baseline: format!("direct {}", ms(d)),
            ratio: format!("{ratio:.2}"),
            target: target.map_or_else(|| "-".into(), |t| format!("<= {t:.2}")),
            verdict: target.map_or("n/a", |t| verdict(ratio <= t)),
            note: note.clone(),
        });
    }
    Ok(rows)
}

async fn timed<T, E: Into<anyhow::Error>>(
    call: impl Future<Output = Result<T, E>>,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    call.await.map_err(Into::into)?;
    Ok(start.elapsed())
}
