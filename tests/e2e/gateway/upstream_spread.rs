//! Calls forwarded by the gateway spread over the pool's connections: many
//! in flight reach the scheduler over more than one connection (at most
//! `pool.max_connections_per_runtime`), one at a time over one.

use futures_util::future::join_all;

use super::support::*;

#[tokio::test]
async fn many_forwarded_calls_in_flight_use_more_than_one_upstream_connection() {
    let env = Env::start(&["spread"]).await;
    let sim = env.sim("spread");
    let gw = env.client().await;
    for i in 0..4 {
        gw.clone()
            .load_model(load_model(&format!("one-{i}"), Some("spread")))
            .await
            .expect("accepted");
    }
    assert_eq!(
        sim.stats().connections_accepted,
        1,
        "one at a time: one connection"
    );

    // Longer than it takes to send them all, so they are in flight together.
    sim.set_call_latency(Duration::from_millis(300));
    let calls = (0..32).map(|i| {
        let mut gw = gw.clone();
        async move {
            gw.load_model(load_model(&format!("many-{i}"), Some("spread")))
                .await
        }
    });
    let results = timeout(DEADLINE, join_all(calls)).await.expect("in time");
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let accepted = sim.stats().connections_accepted;
    assert!(
        (2..=4).contains(&accepted),
        "32 calls in flight, 8 per connection, at most 4: {accepted} connections"
    );
    env.stop().await;
}
