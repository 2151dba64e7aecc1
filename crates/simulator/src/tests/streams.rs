//! Subscriptions (snapshot first, backpressure, event rate), the control plane, server status and the finite status RPCs.

use super::support::*;

#[tokio::test]
async fn new_subscribers_get_the_current_state_first() {
    let sim = start(config()).await;
    let mut c = client(&sim).await;
    let mut first = subscribe_models(&mut c).await;
    for name in ["a", "b"] {
        c.load_model(load(model(name, "gs://x", 1, 1)))
            .await
            .expect("load");
    }
    let mut available = 0;
    read_until(&mut first, |m| {
        available += usize::from(model_state(m).0 == ModelState::ModelAvailable);
        available == 2
    })
    .await;

    let mut late = subscribe_models(&mut c).await;
    let snapshot = [next(&mut late).await, next(&mut late).await];
    let names: Vec<_> = snapshot.iter().map(|m| m.model_name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert!(
        snapshot
            .iter()
            .all(|m| model_state(m).0 == ModelState::ModelAvailable)
    );
    c.load_model(load(model("c", "gs://x", 1, 1)))
        .await
        .expect("load");
    let live = next(&mut late).await;
    assert_eq!(
        (live.model_name.as_str(), model_state(&live).0),
        ("c", ModelState::ModelProgressing)
    );
}

#[tokio::test]
async fn control_plane_asks_for_servers_then_the_rest_after_the_first_sync() {
    let mut cfg = config();
    cfg.sync_timeout = Duration::from_secs(600);
    let sim = start(cfg).await;
    let mut c = client(&sim).await;
    let mut control = c
        .subscribe_control_plane(ControlPlaneSubscriptionRequest {
            subscriber_name: SUBSCRIBER.into(),
        })
        .await
        .expect("subscribed")
        .into_inner();
    assert_eq!(next(&mut control).await.event(), Event::SendServers);
    // Nothing more until the servers are sent.
    let early = timeout(Duration::from_millis(200), control.message()).await;
    assert!(early.is_err(), "no event before the first sync: {early:?}");

    c.server_notify(ServerNotifyRequest {
        servers: vec![ServerNotify {
            name: "mlserver".into(),
            expected_replicas: 1,
            kubernetes_meta: k8s(1),
            ..Default::default()
        }],
        is_first_sync: true,
    })
    .await
    .expect("notified");
    let rest = [
        next(&mut control).await.event(),
        next(&mut control).await.event(),
        next(&mut control).await.event(),
    ];
    assert_eq!(
        rest,
        [
            Event::SendExperiments,
            Event::SendModels,
            Event::SendPipelines
        ]
    );
    let after = timeout(Duration::from_millis(100), control.message()).await;
    assert!(after.is_err(), "the stream stays open and quiet: {after:?}");
}

#[tokio::test]
async fn server_notify_is_reflected_on_server_status() {
    let sim = start(config()).await;
    let mut c = client(&sim).await;
    let mut servers = c
        .subscribe_server_status(ServerSubscriptionRequest {
            subscriber_name: SUBSCRIBER.into(),
        })
        .await
        .expect("subscribed")
        .into_inner();
    c.server_notify(ServerNotifyRequest {
        servers: vec![ServerNotify {
            name: "triton".into(),
            expected_replicas: 2,
            min_replicas: 1,
            max_replicas: 4,
            shared: false,
            kubernetes_meta: k8s(5),
        }],
        is_first_sync: false,
    })
    .await
    .expect("notified");
    let status = next(&mut servers).await;
    assert_eq!(status.r#type(), Type::StatusUpdate);
    assert_eq!(
        (status.server_name.as_str(), status.expected_replicas),
        ("triton", 2)
    );
    assert_eq!(status.kubernetes_meta, k8s(5));
    assert_eq!(status.resources.len(), 2);

    c.load_model(load(model("iris", "gs://iris", 2, 1)))
        .await
        .expect("load");
    let loaded = read_until(&mut servers, |s| s.num_loaded_model_replicas == 2).await;
    assert_eq!(loaded.server_name, "triton");

    sim.request_scaling("triton", 3).expect("known server");
    let scaling = read_until(&mut servers, |s| s.r#type() == Type::ScalingRequest).await;
    assert_eq!(
        (scaling.expected_replicas, scaling.kubernetes_meta),
        (3, k8s(5))
    );
    assert!(sim.request_scaling("nope", 1).is_err());
}

#[tokio::test]
async fn finite_status_rpcs_list_everything_or_the_named_object() {
    let sim = start(config()).await;
    let mut c = client(&sim).await;
    for name in ["a", "b"] {
        c.load_model(load(model(name, "gs://x", 1, 1)))
            .await
            .expect("load");
    }
    c.load_pipeline(LoadPipelineRequest {
        pipeline: Some(Pipeline {
            name: "p".into(),
            ..Default::default()
        }),
    })
    .await
    .expect("pipeline");
    c.server_notify(ServerNotifyRequest {
        servers: vec![ServerNotify {
            name: "s".into(),
            expected_replicas: 1,
            ..Default::default()
        }],
        is_first_sync: false,
    })
    .await
    .expect("server");
    assert_eq!(count_models(&mut c).await, 2);

    let named = c
        .model_status(ModelStatusRequest {
            subscriber_name: SUBSCRIBER.into(),
            model: Some(ModelReference {
                name: "b".into(),
                version: None,
            }),
            all_versions: false,
        })
        .await
        .expect("named")
        .into_inner();
    let only: Vec<_> = collect_all(named).await;
    assert_eq!(
        only.iter()
            .map(|m| m.model_name.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );

    let unknown_model = c
        .model_status(ModelStatusRequest {
            model: Some(ModelReference {
                name: "zzz".into(),
                version: None,
            }),
            ..Default::default()
        })
        .await;
    assert_eq!(
        unknown_model.map(|_| ()).map_err(|s| s.code()),
        Err(Code::FailedPrecondition)
    );
    let unknown_pipeline = c
        .pipeline_status(PipelineStatusRequest {
            name: Some("zzz".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(
        unknown_pipeline.map(|_| ()).map_err(|s| s.code()),
        Err(Code::FailedPrecondition)
    );
    let unknown_server = c
        .server_status(ServerStatusRequest {
            name: Some("zzz".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(
        unknown_server.map(|_| ()).map_err(|s| s.code()),
        Err(Code::FailedPrecondition)
    );
    let unknown_experiment = c
        .experiment_status(ExperimentStatusRequest {
            name: Some("zzz".into()),
            ..Default::default()
        })
        .await;
    assert_eq!(
        unknown_experiment.map(|_| ()).map_err(|s| s.code()),
        Err(Code::FailedPrecondition)
    );

    let pipelines = c
        .pipeline_status(PipelineStatusRequest::default())
        .await
        .expect("pipelines")
        .into_inner();
    assert_eq!(collect_all(pipelines).await.len(), 1);
    let servers = c
        .server_status(ServerStatusRequest::default())
        .await
        .expect("servers")
        .into_inner();
    assert_eq!(collect_all(servers).await.len(), 1);
    let version = c
        .scheduler_status(SchedulerStatusRequest::default())
        .await
        .expect("status")
        .into_inner();
    assert!(!version.application_version.is_empty());
}

#[tokio::test]
async fn a_stalled_subscriber_does_not_block_another() {
    let mut cfg = config();
    cfg.subscriber_queue = 256;
    cfg.preload_models = 20;
    let sim = start(cfg).await;

    // A client with tiny HTTP/2 windows that never reads.
    let stalled_channel = Endpoint::from_shared(sim.uri())
        .expect("uri")
        .initial_stream_window_size(Some(4096))
        .initial_connection_window_size(Some(4096))
        .connect()
        .await
        .expect("connects");
    let mut stalled_client = SchedulerClient::new(stalled_channel);
    let mut stalled = subscribe_models(&mut stalled_client).await;

    let mut c = client(&sim).await;
    let mut live = subscribe_models(&mut c).await;
    sim.set_event_rate(5000.0);

    // The live subscriber keeps receiving while the stalled one is cut off.
    let received = timeout(DEADLINE, async {
        let mut received = 0_usize;
        while sim.stats().slow_subscribers_disconnected == 0 || received < 2000 {
            live.message()
                .await
                .expect("live stream healthy")
                .expect("open");
            received += 1;
        }
        received
    })
    .await
    .expect("live subscriber served and stalled one disconnected before the deadline");
    assert!(received >= 2000);
    sim.set_event_rate(0.0);

    // The live stream still works for ordinary changes.
    c.load_model(load(model("fresh", "gs://x", 1, 1)))
        .await
        .expect("load");
    read_until(&mut live, |m| {
        m.model_name == "fresh" && model_state(m).0 == ModelState::ModelAvailable
    })
    .await;

    // The stalled subscriber finds out when it reads again.
    assert_eq!(stream_error(&mut stalled).await.code(), Code::Unavailable);
    assert_eq!(sim.stats().slow_subscribers_disconnected, 1);
}

#[tokio::test]
async fn event_rate_knob_republishes_model_status() {
    let mut cfg = config();
    cfg.preload_models = 3;
    let sim = start(cfg).await;
    let mut c = client(&sim).await;
    let mut models = subscribe_models(&mut c).await;
    sim.set_event_rate(500.0);
    let mut seen = 0;
    read_until(&mut models, |m| {
        seen += usize::from(m.model_name.starts_with("model-"));
        seen >= 50
    })
    .await;
    sim.set_event_rate(0.0);
}
