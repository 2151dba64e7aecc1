//! P2: status events per second delivered to subscribers of the gateway's
//! aggregated model-status stream (every namespace) vs subscribers
//! straight on the simulator vs subscribers through nginx (`grpc_pass`),
//! with 1 and then 16 subscribers per side, every side open at the same
//! time on the same simulator while its generator publishes `event_rate`
//! events per second over `models` preloaded models. Snapshots are read
//! first and not counted; counting starts after a one-second settling
//! period. The figure is events per second per subscriber (the mean).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use switchyard_proto::scheduler::ModelSubscriptionRequest;
use switchyard_simulator::Simulator;
use tokio_util::sync::CancellationToken;

use crate::harness::{self, Scale};
use crate::nginx::{self, Nginx};
use crate::table::{Row, verdict};

const NAMESPACE: &str = "p2";
/// Subscribers per side, per run.
const SUBSCRIBERS: [usize; 2] = [1, 16];
/// Target: the gateway delivers at least 95 % of what a direct subscriber
/// gets, and no less than nginx.
const TARGET_RATIO: f64 = 0.95;

pub(crate) async fn run(scale: &Scale) -> anyhow::Result<Vec<Row>> {
    let mut config = harness::simulator_config(NAMESPACE);
    config.preload_models = scale.models;
    let sim = Simulator::start(config).await?;
    let app = harness::gateway_app().await?;
    app.registry.apply(harness::runtime(&sim));
    harness::wait_connected(&app.pool, 1, Duration::from_secs(10)).await?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (peer, peer_note) = match nginx::binary() {
        None => (
            None,
            "no nginx binary (apt-get install nginx-light)".to_owned(),
        ),
        Some(bin) => match Nginx::start(&bin, sim.local_addr(), workers, 16) {
            Ok(n) => (Some(n), format!("nginx {workers} workers")),
            Err(e) => (None, format!("nginx did not start: {e:#}")),
        },
    };
    let mut sides = vec![("direct", sim.local_addr()), ("gateway", app.gateway_addr)];
    if let Some(n) = &peer {
        sides.push(("nginx", n.local_addr()));
    }

    let mut rows = Vec::new();
    for subscribers in SUBSCRIBERS {
        let rates = measure(&sides, subscribers, scale, &sim).await?;
        let rate = |label: &str| rates.iter().find(|(l, _)| *l == label).map(|(_, r)| *r);
        let (Some(gateway), Some(direct)) = (rate("gateway"), rate("direct")) else {
            rows.push(Row::failed("P2", "a side measured nothing"));
            continue;
        };
        let nginx = rate("nginx");
        if direct == 0.0 {
            // The simulator gave up on its direct subscribers (it cannot
            // send this rate to this many on this machine): no ratio.
            rows.push(Row {
                figure: format!("P2 events/s, {subscribers} subscriber(s)"),
                measured: format!("gateway {gateway:.0}/s"),
                baseline: "direct 0/s".into(),
                ratio: "-".into(),
                target: format!(">= {TARGET_RATIO:.2}"),
                verdict: "n/a",
                note: format!(
                    "the simulator dropped every direct subscriber (slow subscribers so far: {}); nginx {:.0}/s; offered {:.0}/s over {} models",
                    sim.stats().slow_subscribers_disconnected,
                    nginx.unwrap_or(0.0),
                    scale.event_rate,
                    scale.models
                ),
            });
            continue;
        }
        let ratio = gateway / direct;
        let met = ratio >= TARGET_RATIO && nginx.is_none_or(|n| gateway >= n);
        let mut note = nginx.map_or_else(
            || "nginx n/a".to_owned(),
            |n| format!("nginx {n:.0}/s ({:.2}x direct)", n / direct),
        );
        note.push_str(&format!(
            "; offered {:.0}/s over {} models, {:?} window; {peer_note}",
            scale.event_rate, scale.models, scale.window
        ));
        let disconnected = sim.stats().slow_subscribers_disconnected;
        if disconnected > 0 {
            note.push_str(&format!(
                "; the simulator dropped {disconnected} slow subscriber(s) so far"
            ));
        }
        rows.push(Row {
            figure: format!("P2 events/s, {subscribers} subscriber(s)"),
            measured: format!("gateway {gateway:.0}/s"),
            baseline: format!("direct {direct:.0}/s"),
            ratio: format!("{ratio:.2}"),
            target: format!(
                ">= {TARGET_RATIO:.2}{}",
                if nginx.is_some() { ", vs nginx" } else { "" }
            ),
            verdict: verdict(met),
            note,
        });
    }
    drop(peer);
    app.shutdown().await?;
    sim.shutdown().await?;
    Ok(rows)
}

/// Opens `subscribers` model-status streams on every side at once, lets
/// the simulator publish, and returns each side's mean events per second
/// per subscriber over the window.
async fn measure(
    sides: &[(&'static str, std::net::SocketAddr)],
    subscribers: usize,
    scale: &Scale,
    sim: &switchyard_simulator::SimulatorHandle,
) -> anyhow::Result<Vec<(&'static str, f64)>> {
    let request = || ModelSubscriptionRequest {
        subscriber_name: "switchyard-bench".into(),
        is_model_gateway: false,
    };
    let stop = CancellationToken::new();
    let mut counters = Vec::new();
    let mut readers = Vec::new();
    for &(label, addr) in sides {
        let count = Arc::new(AtomicU64::new(0));
        for _ in 0..subscribers {
            let mut client = harness::scheduler_client(addr).await?;
            let stream = client.subscribe_model_status(request()).await?.into_inner();
            readers.push(harness::count_messages(stream, count.clone(), stop.clone()));
        }
        counters.push((label, count));
    }
    let read = || -> Vec<u64> {
        counters
            .iter()
            .map(|(_, c)| c.load(Ordering::Relaxed))
            .collect()
    };

    sim.set_event_rate(scale.event_rate);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (before, start) = (read(), Instant::now());
    tokio::time::sleep(scale.window).await;
    let (after, elapsed) = (read(), start.elapsed().as_secs_f64());
    sim.set_event_rate(0.0);
    stop.cancel();
    for reader in readers {
        let _ = reader.await;
    }
    Ok(counters
        .iter()
        .zip(before.iter().zip(&after))
        .map(|((label, _), (b, a))| (*label, (a - b) as f64 / elapsed / subscribers as f64))
        .collect())
}
