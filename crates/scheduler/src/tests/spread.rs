//! Unary calls spread over more than one connection under load, and only
//! then: counted by a proxy in front of a simulated scheduler on 127.0.0.1.

use std::time::Duration;

use futures_util::future::join_all;

use super::pool::{Fixture, ready, runtime, simulator};
use super::proxy::Proxy;
use crate::{SchedulerPool, Spread};
use switchyard_simulator::{Rpc, SimulatorHandle};
use switchyard_testkit::{eventually, load_model_request as load_model, within};

const NS: &str = "spread";

/// A simulator behind a proxy, served by a pool spreading over up to 4
/// connections at 4 calls in flight each, closing extras after `idle_close`.
async fn setup(idle_close: Duration) -> (SimulatorHandle, Proxy, Fixture) {
    let sim = simulator(NS).await;
    let proxy = Proxy::start(sim.local_addr()).await;
    let fx = Fixture::with_spread(Spread {
        max_connections: 4,
        busy_at: 4,
        idle_close,
    });
    fx.registry.apply(runtime(NS, proxy.addr()));
    eventually("ready", || async { ready(&fx.pool, NS) }).await;
    (sim, proxy, fx)
}

/// `n` LoadModel calls at once; how many succeeded.
async fn burst(pool: &SchedulerPool, first: usize, n: usize) -> usize {
    let calls = (first..first + n).map(|i| {
        let mut client = pool.client(NS).unwrap();
        async move {
            client
                .load_model(load_model(NS, &format!("m{i}")))
                .await
                .is_ok()
        }
    });
    within("the burst ends", join_all(calls))
        .await
        .into_iter()
        .filter(|ok| *ok)
        .count()
}

#[tokio::test]
async fn a_burst_opens_more_connections_and_they_close_when_idle() {
    let (sim, proxy, fx) = setup(Duration::from_millis(300)).await;
    assert_eq!(proxy.accepted(), 1, "streams share one connection");

    sim.set_call_latency(Duration::from_millis(200));
    assert_eq!(burst(&fx.pool, 0, 16).await, 16);
    let entry = fx.pool.get(NS).unwrap();
    assert!(
        sim.stats().connections_accepted > 1,
        "16 calls in flight, 4 per connection: more than one connection"
    );
    assert!(proxy.accepted() <= 4, "at most 4 connections opened");

    eventually("the extras close after idling", || async {
        proxy.open() == 1 && entry.channel.open_connections() == 1
    })
    .await;
    assert!(ready(&fx.pool, NS), "the primary and its streams stay");
    assert_eq!(entry.info().reconnects, 0);
    fx.stop().await;
}

#[tokio::test]
async fn few_calls_in_flight_use_one_connection() {
    let (sim, proxy, fx) = setup(Duration::from_secs(60)).await;

    sim.set_call_latency(Duration::from_millis(20));
    for round in 0..5 {
        // Below `busy_at` in flight.
        assert_eq!(burst(&fx.pool, round * 3, 3).await, 3);
    }
    assert_eq!(sim.calls(Rpc::LoadModel), 15);
    assert_eq!(proxy.accepted(), 1, "one connection for everything");
    assert_eq!(sim.stats().connections_accepted, 1);
    assert_eq!(fx.pool.get(NS).unwrap().channel.open_connections(), 1);
    fx.stop().await;
}

#[tokio::test]
async fn a_cut_extra_connection_fails_only_its_own_calls_and_is_dropped() {
    let (sim, proxy, fx) = setup(Duration::from_secs(60)).await;
    let entry = fx.pool.get(NS).unwrap();

    // Long enough to cut a connection while every call waits; shorter than
    // the liveness suspicion.
    sim.set_call_latency(Duration::from_secs(1));
    let calls = tokio::spawn({
        let pool = fx.pool.clone();
        async move { burst(&pool, 0, 16).await }
    });
    eventually("16 calls at the scheduler", || async {
        sim.calls(Rpc::LoadModel) == 16
    })
    .await;
    assert_eq!(entry.channel.open_connections(), 4);
    proxy.cut_newest();
    let succeeded = calls.await.unwrap();
    // Four calls per connection: the cut one's fail, no other.
    assert_eq!(succeeded, 12, "only the cut connection's calls fail");
    assert_eq!(
        entry.channel.open_connections(),
        3,
        "the failed extra is dropped"
    );
    assert!(ready(&fx.pool, NS), "the streams never noticed");
    assert_eq!(entry.info().reconnects, 0);

    sim.set_call_latency(Duration::ZERO);
    assert_eq!(
        burst(&fx.pool, 100, 16).await,
        16,
        "later calls all succeed"
    );
    fx.stop().await;
}
