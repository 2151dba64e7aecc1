//! Issue 14, items 1 and 2: what a client can make the gateway hold is
//! bounded. Decode amplification (a request of empty repeated entries),
//! requests and streams in total, streams per connection. Each attacker
//! gets the documented status, others keep being served, and memory stays
//! under a stated bound.

use metrics_exporter_prometheus::PrometheusBuilder;
use switchyard_gateway::options::DEFAULT_MAX_REQUEST_BYTES;

use super::raw::*;
use super::support::*;

/// What four 4 MiB requests of empty entries may add to the process' peak
/// resident memory. Buffered and in flight they are 16 MiB, on the
/// client's side as well as the gateway's; decoded, before the bound, they
/// were about 4 x 200 MiB.
const AMPLIFICATION_BOUND_MIB: u64 = 80;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_repeated_entries_are_refused_before_decoding() {
    if !isolated("gateway::limits::empty_repeated_entries_are_refused_before_decoding").await {
        return;
    }
    // The production request size limit, as in the attack.
    let options = GatewayOptions {
        max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
        ..test_options()
    };
    let env = Env::start_with(&["team-a"], GatewayConfig::default(), options).await;
    let mut bystander = bystander(&env).await;
    let attack = empty_entries(2 * 1024 * 1024);
    assert_eq!(attack.len(), 4 << 20);
    let attacker = env.channel().await;
    // Once before measuring, so buffers that live on are already there.
    let warm = raw_unary(attacker.clone(), "ServerNotify", attack.clone()).await;
    assert_eq!(warm.unwrap_err().code(), Code::ResourceExhausted);

    let before = proc_status_kib("VmRSS");
    reset_peak_rss();
    let calls = (0..4).map(|_| raw_unary(attacker.clone(), "ServerNotify", attack.clone()));
    for result in futures_util::future::join_all(calls).await {
        let status = result.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert!(status.message().contains("10000 entries"), "{status:?}");
    }
    let growth_mib = proc_status_kib("VmHWM").saturating_sub(before) / 1024;
    println!("peak RSS growth during the attack: {growth_mib} MiB");
    assert!(
        growth_mib < AMPLIFICATION_BOUND_MIB,
        "the gateway grew by {growth_mib} MiB"
    );

    // Others are still served, calls and streams.
    still_served(&mut bystander, "iris").await;
    env.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn past_the_concurrency_limit_calls_are_resource_exhausted() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let options = GatewayOptions {
        max_concurrent_requests: 3,
        ..test_options()
    };
    let env = Env::start_with(&["team-a"], GatewayConfig::default(), options).await;
    let mut gw = env.client().await;
    let mut streams = Vec::new();
    for _ in 0..3 {
        let stream = gw
            .subscribe_model_status(ModelSubscriptionRequest::default())
            .await
            .expect("within the limit")
            .into_inner();
        streams.push(stream);
    }
    let refused = gw
        .load_model(load_model("iris", Some("team-a")))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("limit of 3"), "{refused:?}");
    let text = handle.render();
    assert!(
        text.contains("switchyard_gateway_rejected_requests_total{reason=\"concurrency\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("switchyard_gateway_inflight_requests 3"),
        "{text}"
    );
    // A stream that ends gives its slot back.
    drop(streams.pop());
    switchyard_testkit::until("a slot frees", async || {
        gw.load_model(load_model("iris", Some("team-a"))).await.ok()
    })
    .await;
    env.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn streams_per_connection_are_capped_and_others_still_connect() {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);
    let options = GatewayOptions {
        max_concurrent_streams: 3,
        ..test_options()
    };
    let env = Env::start_with(&["team-a"], GatewayConfig::default(), options).await;
    // One connection asks for ten streams at once and reads none.
    let greedy = env.channel().await;
    let mut pending = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let mut client = SchedulerClient::new(greedy.clone());
        pending.spawn(async move {
            let stream = client
                .subscribe_model_status(ModelSubscriptionRequest::default())
                .await?
                .into_inner();
            std::future::pending::<()>().await;
            drop(stream);
            Ok::<_, Status>(())
        });
    }
    eventually("three streams are served", async || {
        env.bus.subscriber_count() == 3
    })
    .await;
    // Another connection is served at once; the greedy one still has 3.
    let mut other = env.client().await;
    let _stream = other
        .subscribe_model_status(ModelSubscriptionRequest::default())
        .await
        .expect("another connection's stream")
        .into_inner();
    eventually("the other connection's stream is served", async || {
        env.bus.subscriber_count() == 4
    })
    .await;
    other
        .load_model(load_model("iris", Some("team-a")))
        .await
        .expect("another connection's call");
    assert_eq!(env.bus.subscriber_count(), 4);
    let text = handle.render();
    assert!(
        text.contains("switchyard_gateway_stream_limit_reached_total 1"),
        "{text}"
    );
    pending.abort_all();
    env.stop().await;
}
