//! Malformed requests, the failure and latency knobs, restarts, dropped streams and shutdown.

use super::support::*;

#[tokio::test]
async fn malformed_requests_are_invalid_arguments() {
    let sim = start(config()).await;
    let mut c = client(&sim).await;
    fn code<T>(r: Result<tonic::Response<T>, Status>) -> Result<(), Code> {
        r.map(|_| ()).map_err(|s| s.code())
    }
    assert_eq!(
        code(c.load_model(LoadModelRequest { model: None }).await),
        Err(Code::InvalidArgument)
    );
    let no_meta = Model {
        meta: None,
        ..model("x", "gs://x", 1, 1)
    };
    assert_eq!(
        code(c.load_model(load(no_meta)).await),
        Err(Code::InvalidArgument)
    );
    assert_eq!(
        code(c.load_model(load(model("", "gs://x", 1, 1))).await),
        Err(Code::InvalidArgument)
    );
    let no_ref = UnloadModelRequest {
        model: None,
        kubernetes_meta: None,
    };
    assert_eq!(
        code(c.unload_model(no_ref).await),
        Err(Code::InvalidArgument)
    );
    let no_pipeline = LoadPipelineRequest { pipeline: None };
    assert_eq!(
        code(c.load_pipeline(no_pipeline).await),
        Err(Code::InvalidArgument)
    );
    let no_experiment = StartExperimentRequest { experiment: None };
    assert_eq!(
        code(c.start_experiment(no_experiment).await),
        Err(Code::InvalidArgument)
    );
    let no_name = StopExperimentRequest {
        name: String::new(),
    };
    assert_eq!(
        code(c.stop_experiment(no_name).await),
        Err(Code::InvalidArgument)
    );
    let nameless_server = ServerNotifyRequest {
        servers: vec![ServerNotify::default()],
        is_first_sync: false,
    };
    assert_eq!(
        code(c.server_notify(nameless_server).await),
        Err(Code::InvalidArgument)
    );
    // Still serving.
    let mut health = HealthCheckServiceClient::new(channel(&sim).await);
    let ok = health
        .health_check(HealthCheckRequest {})
        .await
        .expect("healthy");
    assert!(ok.into_inner().ok);
}

#[tokio::test]
async fn fail_and_latency_knobs() {
    let sim = start(config()).await;
    let mut c = client(&sim).await;
    sim.fail_calls(Code::Unavailable, Some(Rpc::LoadModel));
    let failed = c.load_model(load(model("m", "gs://x", 1, 1))).await;
    assert_eq!(
        failed.map(|_| ()).map_err(|s| s.code()),
        Err(Code::Unavailable)
    );
    let other = c.scheduler_status(SchedulerStatusRequest::default()).await;
    assert!(other.is_ok(), "only LoadModel fails");

    sim.fail_calls(Code::ResourceExhausted, None);
    let mut health = HealthCheckServiceClient::new(channel(&sim).await);
    let unhealthy = health.health_check(HealthCheckRequest {}).await;
    assert_eq!(
        unhealthy.map(|_| ()).map_err(|s| s.code()),
        Err(Code::ResourceExhausted)
    );
    let subscribe = c
        .subscribe_model_status(ModelSubscriptionRequest::default())
        .await;
    assert_eq!(
        subscribe.map(|_| ()).map_err(|s| s.code()),
        Err(Code::ResourceExhausted)
    );

    sim.clear_failures();
    c.load_model(load(model("m", "gs://x", 1, 1)))
        .await
        .expect("works again");

    sim.set_call_latency(Duration::from_millis(200));
    let started = Instant::now();
    c.scheduler_status(SchedulerStatusRequest::default())
        .await
        .expect("slow but fine");
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn restart_wipes_state_and_ends_streams() {
    let sim = start(config()).await;
    let mut c = client(&sim).await;
    c.load_model(load(model("m", "gs://x", 1, 1)))
        .await
        .expect("load");
    let mut models = subscribe_models(&mut c).await;
    assert_eq!(next(&mut models).await.model_name, "m");

    sim.restart();
    let ended = stream_error(&mut models).await;
    assert!(
        matches!(
            ended.code(),
            Code::Unavailable | Code::Unknown | Code::Internal
        ),
        "stream ended by the restart: {ended:?}"
    );
    // A new connection is served; the state is gone.
    let mut fresh = client(&sim).await;
    assert_eq!(
        count_models(&mut fresh).await,
        0,
        "no model survives a restart"
    );
    let stats = sim.stats();
    assert_eq!((stats.restarts, stats.models), (1, 0));
}

#[tokio::test]
async fn drop_streams_ends_streams_but_keeps_state() {
    let sim = start(config()).await;
    let mut c = client(&sim).await;
    c.load_model(load(model("m", "gs://x", 1, 1)))
        .await
        .expect("load");
    let mut models = subscribe_models(&mut c).await;
    next(&mut models).await;
    assert_eq!(sim.drop_streams(), 1);
    assert_eq!(stream_error(&mut models).await.code(), Code::Unavailable);
    assert_eq!(count_models(&mut c).await, 1);
}

#[tokio::test]
async fn shutdown_is_graceful_with_open_streams() {
    let sim = start(config()).await;
    let mut c = client(&sim).await;
    let mut models = subscribe_models(&mut c).await;
    let mut control = c
        .subscribe_control_plane(ControlPlaneSubscriptionRequest::default())
        .await
        .expect("subscribed")
        .into_inner();
    next(&mut control).await;
    let started = Instant::now();
    timeout(DEADLINE, sim.shutdown())
        .await
        .expect("shutdown finishes")
        .expect("clean");
    assert!(started.elapsed() < crate::SHUTDOWN_GRACE);
    assert_eq!(stream_error(&mut models).await.code(), Code::Unavailable);
}

#[tokio::test]
async fn drop_streams_also_ends_model_subscribers_waiting_for_the_first_sync() {
    let mut cfg = config();
    cfg.sync_timeout = Duration::from_secs(600);
    let sim = start(cfg).await;
    let mut c = client(&sim).await;
    let mut waiting = subscribe_models(&mut c).await;
    // The response headers arrived, so the handler runs; drop_streams may
    // race the subscriber's first poll, so retry until it counts.
    let mut attempts = 0;
    let status = loop {
        attempts += 1;
        sim.drop_streams();
        match timeout(Duration::from_millis(200), waiting.message()).await {
            Ok(Err(status)) => break status,
            Ok(other) => panic!("expected an error, got {other:?}"),
            Err(_) if attempts < 25 => {}
            Err(_) => panic!("waiting subscriber never ended"),
        }
    };
    assert_eq!(status.code(), Code::Unavailable);
}

#[tokio::test]
async fn a_frozen_scheduler_keeps_its_connection_but_answers_nothing_until_thawed() {
    let sim = start(config()).await;
    let mut c = client(&sim).await;
    c.load_model(load(model("iris", "gs://iris", 1, 1)))
        .await
        .expect("answered before the freeze");
    let accepted = sim.stats().connections_accepted;
    sim.freeze();
    let mut frozen_call = Box::pin(c.scheduler_status(SchedulerStatusRequest::default()));
    let waited = timeout(Duration::from_millis(300), &mut frozen_call).await;
    assert!(waited.is_err(), "a frozen scheduler answered: {waited:?}");
    sim.thaw();
    let answer = timeout(DEADLINE, frozen_call)
        .await
        .expect("answered after the thaw");
    assert!(answer.is_ok(), "{answer:?}");
    assert_eq!(
        sim.stats().connections_accepted,
        accepted,
        "the same connection carried the call through the freeze"
    );
    sim.shutdown().await.unwrap();
}
