//! Subscribe*Status served from the status bus: aggregated and filtered,
//! snapshot first, slow readers isolated, disconnects noticed.

use super::support::*;

fn available_in(ns: &str, name: &str) -> impl Fn(&ModelStatusResponse) -> bool {
    let (ns, name) = (ns.to_owned(), name.to_owned());
    move |m| m.model_name == name && model_ns_available(m) == (ns.clone(), true)
}

#[tokio::test]
async fn one_subscription_sees_models_of_every_namespace() {
    let env = Env::start(&["team-a", "team-b", "team-c"]).await;
    let mut gw = env.client().await;
    let mut all = gw
        .subscribe_model_status(ModelSubscriptionRequest::default())
        .await
        .expect("subscribed")
        .into_inner();
    gw.load_model(load_model("iris", Some("team-a")))
        .await
        .unwrap();
    gw.load_model(in_ns("team-b", load_model("iris", None)))
        .await
        .unwrap();

    let mut pending = vec![("team-a", "iris"), ("team-b", "iris")];
    timeout(DEADLINE, async {
        while !pending.is_empty() {
            let m = all.message().await.unwrap().expect("stream open");
            let (ns, available) = model_ns_available(&m);
            assert!(!ns.is_empty(), "every message names its namespace: {m:?}");
            if available {
                pending.retain(|p| *p != (ns.as_str(), m.model_name.as_str()));
            }
        }
    })
    .await
    .expect("both namespaces' models became available");

    // A late subscriber gets the current state first.
    let mut late = gw
        .subscribe_model_status(ModelSubscriptionRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut snapshot = Vec::new();
    for _ in 0..2 {
        let m = timeout(DEADLINE, late.message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        snapshot.push(model_ns_available(&m));
    }
    snapshot.sort();
    assert_eq!(
        snapshot,
        [("team-a".to_owned(), true), ("team-b".to_owned(), true)]
    );
    // 1,000 subscribers would still be one upstream stream per namespace.
    assert_eq!(env.bus.subscriber_count(), 2);
    drop((all, late));
    env.stop().await;
}

#[tokio::test]
async fn a_namespace_filtered_subscription_sees_only_that_namespace() {
    let env = Env::start(&["team-a", "team-b"]).await;
    let mut gw = env.client().await;
    let mut all = gw
        .subscribe_model_status(ModelSubscriptionRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut only_a = gw
        .subscribe_model_status(in_ns("team-a", ModelSubscriptionRequest::default()))
        .await
        .unwrap()
        .into_inner();

    gw.load_model(load_model("in-b", Some("team-b")))
        .await
        .unwrap();
    gw.load_model(load_model("in-a", Some("team-a")))
        .await
        .unwrap();
    read_until(&mut all, available_in("team-b", "in-b")).await;
    // team-b's model is on the bus before this marker is even loaded.
    gw.load_model(load_model("marker", Some("team-a")))
        .await
        .unwrap();
    let seen = read_until(&mut only_a, available_in("team-a", "marker")).await;
    assert!(
        seen.iter().all(|m| model_ns_available(m).0 == "team-a"),
        "only team-a: {seen:?}"
    );
    assert!(seen.iter().any(|m| m.model_name == "in-a"));
    drop((all, only_a));
    env.stop().await;
}

#[tokio::test]
async fn a_stalled_subscriber_does_not_slow_another() {
    let env = Env::start_custom(
        &["team-a", "team-b"],
        GatewayConfig::default(),
        test_options(),
        |sim| sim.preload_models = 500,
    )
    .await;
    // Stalled: its own connection with small HTTP/2 windows, never read.
    let stalled_channel = env
        .endpoint()
        .initial_stream_window_size(Some(65_535))
        .initial_connection_window_size(Some(65_535))
        .connect()
        .await
        .unwrap();
    let mut stalled = SchedulerClient::new(stalled_channel)
        .subscribe_model_status(ModelSubscriptionRequest::default())
        .await
        .expect("stalled client subscribes")
        .into_inner();
    let mut gw = env.client().await;
    let mut live = gw
        .subscribe_model_status(ModelSubscriptionRequest::default())
        .await
        .unwrap()
        .into_inner();

    // A storm of status events, far more than the stalled window holds.
    for sim in &env.sims {
        sim.set_event_rate(20_000.0);
    }
    // Let the storm run past what the stalled client's window can hold
    // (5,000 messages of ~100 bytes against a 64 KiB window).
    let mut storm = 0;
    read_until(&mut live, |_| {
        storm += 1;
        storm >= 5_000
    })
    .await;
    // The stalled client still reads nothing: if its full window held the
    // bus (or the live stream) back, the live subscriber would never see
    // the probe, and read_until would fail at its deadline. No wall-clock
    // bound: the machine may be slow, the outcome may not depend on it.
    gw.load_model(load_model("probe", Some("team-b")))
        .await
        .unwrap();
    read_until(&mut live, available_in("team-b", "probe")).await;
    for sim in &env.sims {
        sim.set_event_rate(0.0);
    }
    // The stalled reader was skipped to the latest state, not dropped: when
    // it reads again it catches up to the probe.
    read_until(&mut stalled, available_in("team-b", "probe")).await;
    drop((stalled, live));
    env.stop().await;
}

#[tokio::test]
async fn a_client_that_goes_away_releases_its_subscription() {
    let env = Env::start(&["team-a"]).await;
    let baseline = env.bus.subscriber_count();
    let channel = env.channel().await;
    let mut client = SchedulerClient::new(channel.clone());
    client
        .load_model(load_model("iris", Some("team-a")))
        .await
        .unwrap();
    let mut stream = client
        .subscribe_model_status(in_ns("team-a", ModelSubscriptionRequest::default()))
        .await
        .unwrap()
        .into_inner();
    timeout(DEADLINE, stream.message())
        .await
        .expect("snapshot in time")
        .unwrap()
        .expect("a model");
    assert_eq!(env.bus.subscriber_count(), baseline + 1);
    // No events flow now; the gateway must notice the client leaving anyway.
    drop(stream);
    drop(client);
    drop(channel);
    eventually("the subscription is dropped", async || {
        env.bus.subscriber_count() == baseline
    })
    .await;
    env.stop().await;
}
