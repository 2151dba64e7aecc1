//! The simulated scheduler seen through real tonic clients on 127.0.0.1.
//! Every wait has a deadline; nothing sleeps to wait for state.

use std::time::Duration;

use switchyard::proto::health::{
    HealthCheckRequest, health_check_service_client::HealthCheckServiceClient,
};
use switchyard::proto::scheduler::{
    ControlPlaneSubscriptionRequest, DeploymentSpec, Experiment, ExperimentCandidate,
    ExperimentStatusRequest, ExperimentSubscriptionRequest, KubernetesMeta, LoadModelRequest,
    LoadPipelineRequest, MetaData, Model, ModelReference, ModelSpec, ModelStatusRequest,
    ModelStatusResponse, ModelSubscriptionRequest, Pipeline, PipelineStatusRequest, PipelineStep,
    PipelineSubscriptionRequest, SchedulerStatusRequest, ServerNotify, ServerNotifyRequest,
    ServerStatusRequest, ServerSubscriptionRequest, StartExperimentRequest, StopExperimentRequest,
    UnloadModelRequest, UnloadPipelineRequest, control_plane_response::Event,
    model_status::ModelState, pipeline_version_state::PipelineStatus,
    scheduler_client::SchedulerClient, server_status_response::Type,
};
use switchyard::simulator::{Rpc, Simulator, SimulatorConfig, SimulatorFleet, SimulatorHandle};
use tokio::time::{Instant, timeout};
use tonic::{
    Code, Status, Streaming,
    transport::{Channel, Endpoint},
};

const DEADLINE: Duration = Duration::from_secs(10);
const SUBSCRIBER: &str = "test";

fn config() -> SimulatorConfig {
    let mut config = SimulatorConfig::new("ns1", "127.0.0.1:0".parse().expect("address"));
    config.sync_timeout = Duration::ZERO;
    config.knobs.transition_delay = Duration::from_millis(20);
    config
}

async fn start(config: SimulatorConfig) -> SimulatorHandle {
    Simulator::start(config).await.expect("simulator starts")
}

async fn channel(sim: &SimulatorHandle) -> Channel {
    Endpoint::from_shared(sim.uri())
        .expect("uri")
        .connect()
        .await
        .expect("connects")
}

async fn client(sim: &SimulatorHandle) -> SchedulerClient<Channel> {
    SchedulerClient::new(channel(sim).await)
}

fn k8s(generation: i64) -> Option<KubernetesMeta> {
    Some(KubernetesMeta {
        namespace: "ns1".into(),
        generation,
    })
}

fn model(name: &str, uri: &str, replicas: u32, generation: i64) -> Model {
    Model {
        meta: Some(MetaData {
            name: name.into(),
            kind: None,
            version: None,
            kubernetes_meta: k8s(generation),
        }),
        model_spec: Some(ModelSpec {
            uri: uri.into(),
            ..Default::default()
        }),
        deployment_spec: Some(DeploymentSpec {
            replicas,
            min_replicas: 0,
            max_replicas: u32::MAX,
            log_payloads: false,
        }),
        stream_spec: None,
        dataflow_spec: None,
    }
}

fn load(m: Model) -> LoadModelRequest {
    LoadModelRequest { model: Some(m) }
}

fn unload(name: &str) -> UnloadModelRequest {
    UnloadModelRequest {
        model: Some(ModelReference {
            name: name.into(),
            version: None,
        }),
        kubernetes_meta: k8s(2),
    }
}

/// The next message, within the deadline.
async fn next<T>(stream: &mut Streaming<T>) -> T {
    timeout(DEADLINE, stream.message())
        .await
        .expect("a message before the deadline")
        .expect("no stream error")
        .expect("stream still open")
}

/// Messages until one satisfies `pred`, within the deadline.
async fn until<T>(stream: &mut Streaming<T>, mut pred: impl FnMut(&T) -> bool) -> T {
    timeout(DEADLINE, async {
        loop {
            match stream.message().await {
                Ok(Some(m)) if pred(&m) => return m,
                Ok(Some(_)) => {}
                Ok(None) => panic!("stream ended while waiting"),
                Err(status) => panic!("stream failed while waiting: {status:?}"),
            }
        }
    })
    .await
    .expect("condition met before the deadline")
}

/// The error that ends `stream`, within the deadline (messages skipped).
async fn stream_error<T>(stream: &mut Streaming<T>) -> Status {
    timeout(DEADLINE, async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => {}
                Ok(None) => panic!("stream ended cleanly, expected an error"),
                Err(status) => return status,
            }
        }
    })
    .await
    .expect("stream ended before the deadline")
}

fn model_state(m: &ModelStatusResponse) -> (ModelState, ModelState) {
    let state = m
        .versions
        .first()
        .and_then(|v| v.state.clone())
        .unwrap_or_default();
    (state.state(), state.model_gw_state())
}

async fn subscribe_models(c: &mut SchedulerClient<Channel>) -> Streaming<ModelStatusResponse> {
    c.subscribe_model_status(ModelSubscriptionRequest {
        subscriber_name: SUBSCRIBER.into(),
        is_model_gateway: false,
    })
    .await
    .expect("subscribed")
    .into_inner()
}

async fn count_models(c: &mut SchedulerClient<Channel>) -> usize {
    let mut stream = c
        .model_status(ModelStatusRequest::default())
        .await
        .expect("model status")
        .into_inner();
    let mut n = 0;
    while timeout(DEADLINE, stream.message())
        .await
        .expect("finite stream ends")
        .expect("no error")
        .is_some()
    {
        n += 1;
    }
    n
}

#[tokio::test]
async fn load_model_goes_progressing_then_available_with_kubernetes_meta() {
    let sim = start(config()).await;
    let mut c = client(&sim).await;
    let mut models = subscribe_models(&mut c).await;
    c.load_model(load(model("iris", "gs://iris", 2, 3)))
        .await
        .expect("loaded");

    let first = next(&mut models).await;
    assert_eq!(first.model_name, "iris");
    assert_eq!(
        model_state(&first),
        (ModelState::ModelProgressing, ModelState::ModelCreate)
    );
    let second = next(&mut models).await;
    assert_eq!(
        model_state(&second),
        (ModelState::ModelAvailable, ModelState::ModelAvailable)
    );
    let version = &second.versions[0];
    assert_eq!(version.kubernetes_meta, k8s(3));
    assert_eq!(version.version, 1);
    assert_eq!(version.server_name, "mlserver");
    assert_eq!(
        version.state.as_ref().map(|s| s.available_replicas),
        Some(2)
    );
    assert_eq!(version.model_replica_state.len(), 2);
    sim.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn unload_model_terminates_then_forgets_it() {
    let sim = start(config()).await;
    let mut c = client(&sim).await;
    let mut models = subscribe_models(&mut c).await;
    c.load_model(load(model("iris", "gs://iris", 1, 1)))
        .await
        .expect("loaded");
    until(&mut models, |m| {
        model_state(m).0 == ModelState::ModelAvailable
    })
    .await;

    c.unload_model(unload("iris")).await.expect("unloaded");
    let terminating = next(&mut models).await;
    assert_eq!(
        model_state(&terminating),
        (ModelState::ModelTerminating, ModelState::ModelTerminate)
    );
    let terminated = next(&mut models).await;
    assert_eq!(
        model_state(&terminated),
        (ModelState::ModelTerminated, ModelState::ModelTerminated)
    );
    assert!(terminated.deleted);
    assert_eq!(
        terminated.versions[0].kubernetes_meta,
        k8s(2),
        "generation from the unload"
    );
    assert_eq!(count_models(&mut c).await, 0);

    let unknown = c.unload_model(unload("iris")).await;
    assert_eq!(
        unknown.map_err(|s| s.code()).err(),
        Some(Code::FailedPrecondition)
    );
}

#[tokio::test]
async fn repeated_loads_follow_the_scheduler_versioning_rules() {
    let sim = start(config()).await;
    let mut c = client(&sim).await;
    let mut models = subscribe_models(&mut c).await;
    c.load_model(load(model("m", "gs://1", 1, 1)))
        .await
        .expect("load");
    until(&mut models, |m| {
        model_state(m).0 == ModelState::ModelAvailable
    })
    .await;

    // Only the generation changes: same version, new kubernetesMeta.
    c.load_model(load(model("m", "gs://1", 1, 2)))
        .await
        .expect("load");
    let meta = next(&mut models).await;
    assert_eq!(meta.versions[0].version, 1);
    assert_eq!(meta.versions[0].kubernetes_meta, k8s(2));
    assert_eq!(model_state(&meta).0, ModelState::ModelAvailable);

    // Only the replicas change: rescaled in place.
    c.load_model(load(model("m", "gs://1", 3, 3)))
        .await
        .expect("load");
    let rescaled = until(&mut models, |m| {
        model_state(m).0 == ModelState::ModelAvailable
    })
    .await;
    assert_eq!(rescaled.versions[0].version, 1);
    assert_eq!(
        rescaled.versions[0]
            .state
            .as_ref()
            .map(|s| s.available_replicas),
        Some(3)
    );

    // The ModelSpec changes: a new version.
    c.load_model(load(model("m", "gs://2", 3, 4)))
        .await
        .expect("load");
    let v2 = until(&mut models, |m| {
        model_state(m).0 == ModelState::ModelAvailable
    })
    .await;
    assert_eq!(v2.versions[0].version, 2);

    // Same again: a no-op; the next event is the one of another model.
    c.load_model(load(model("m", "gs://2", 3, 4)))
        .await
        .expect("load");
    c.load_model(load(model("other", "gs://o", 1, 1)))
        .await
        .expect("load");
    assert_eq!(next(&mut models).await.model_name, "other");

    let dotted = c.load_model(load(model("bad.name", "gs://x", 1, 1))).await;
    assert_eq!(
        dotted.map_err(|s| s.code()).err(),
        Some(Code::FailedPrecondition)
    );
}

#[tokio::test]
async fn pipeline_life_cycle() {
    let sim = start(config()).await;
    let mut c = client(&sim).await;
    let mut pipelines = c
        .subscribe_pipeline_status(PipelineSubscriptionRequest {
            subscriber_name: SUBSCRIBER.into(),
            ..Default::default()
        })
        .await
        .expect("subscribed")
        .into_inner();
    let pipeline = Pipeline {
        name: "chain".into(),
        steps: vec![PipelineStep {
            name: "iris".into(),
            ..Default::default()
        }],
        kubernetes_meta: k8s(1),
        ..Default::default()
    };
    c.load_pipeline(LoadPipelineRequest {
        pipeline: Some(pipeline),
    })
    .await
    .expect("loaded");
    let state = |p: &switchyard::proto::scheduler::PipelineStatusResponse| {
        p.versions[0].state.clone().unwrap_or_default()
    };
    let creating = next(&mut pipelines).await;
    assert_eq!(state(&creating).status(), PipelineStatus::PipelineCreating);
    let ready = next(&mut pipelines).await;
    let ready_state = state(&ready);
    assert_eq!(ready_state.status(), PipelineStatus::PipelineReady);
    assert_eq!(
        ready_state.pipeline_gw_status(),
        PipelineStatus::PipelineReady
    );
    assert!(ready_state.models_ready);
    let stored = ready.versions[0].pipeline.clone().unwrap_or_default();
    assert_eq!((stored.version, stored.kubernetes_meta), (1, k8s(1)));
    assert!(!stored.uid.is_empty(), "the scheduler assigns a uid");

    c.unload_pipeline(UnloadPipelineRequest {
        name: "chain".into(),
    })
    .await
    .expect("unloaded");
    assert_eq!(
        state(&next(&mut pipelines).await).status(),
        PipelineStatus::PipelineTerminating
    );
    let terminated = state(&next(&mut pipelines).await);
    assert_eq!(terminated.status(), PipelineStatus::PipelineTerminated);
    assert_eq!(
        terminated.pipeline_gw_status(),
        PipelineStatus::PipelineTerminated
    );

    let again = c
        .unload_pipeline(UnloadPipelineRequest {
            name: "chain".into(),
        })
        .await;
    assert_eq!(
        again.map_err(|s| s.code()).err(),
        Some(Code::FailedPrecondition)
    );
}

#[tokio::test]
async fn experiment_life_cycle() {
    let sim = start(config()).await;
    let mut c = client(&sim).await;
    let mut experiments = c
        .subscribe_experiment_status(ExperimentSubscriptionRequest {
            subscriber_name: SUBSCRIBER.into(),
        })
        .await
        .expect("subscribed")
        .into_inner();
    let experiment = Experiment {
        name: "ab".into(),
        candidates: vec![ExperimentCandidate {
            name: "iris".into(),
            weight: 50,
        }],
        kubernetes_meta: k8s(1),
        ..Default::default()
    };
    c.start_experiment(StartExperimentRequest {
        experiment: Some(experiment),
    })
    .await
    .expect("started");
    let active = next(&mut experiments).await;
    assert!(active.active && active.candidates_ready && active.mirror_ready);
    assert_eq!(active.kubernetes_meta, k8s(1));

    c.stop_experiment(StopExperimentRequest { name: "ab".into() })
        .await
        .expect("stopped");
    let stopped = next(&mut experiments).await;
    assert!(!stopped.active);
    let listed = c
        .experiment_status(ExperimentStatusRequest::default())
        .await
        .expect("listed")
        .into_inner()
        .message()
        .await
        .expect("no error");
    assert!(listed.is_none(), "a stopped experiment is forgotten");
    let again = c
        .stop_experiment(StopExperimentRequest { name: "ab".into() })
        .await;
    assert_eq!(
        again.map_err(|s| s.code()).err(),
        Some(Code::FailedPrecondition)
    );
}

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
    until(&mut first, |m| {
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
    let loaded = until(&mut servers, |s| s.num_loaded_model_replicas == 2).await;
    assert_eq!(loaded.server_name, "triton");

    sim.request_scaling("triton", 3).expect("known server");
    let scaling = until(&mut servers, |s| s.r#type() == Type::ScalingRequest).await;
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
    let only: Vec<_> = futures_collect(named).await;
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
    assert_eq!(futures_collect(pipelines).await.len(), 1);
    let servers = c
        .server_status(ServerStatusRequest::default())
        .await
        .expect("servers")
        .into_inner();
    assert_eq!(futures_collect(servers).await.len(), 1);
    let version = c
        .scheduler_status(SchedulerStatusRequest::default())
        .await
        .expect("status")
        .into_inner();
    assert!(!version.application_version.is_empty());
}

async fn futures_collect<T>(mut stream: Streaming<T>) -> Vec<T> {
    let mut items = Vec::new();
    while let Some(item) = timeout(DEADLINE, stream.message())
        .await
        .expect("finite stream ends")
        .expect("no error")
    {
        items.push(item);
    }
    items
}

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
    until(&mut live, |m| {
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
    until(&mut models, |m| {
        seen += usize::from(m.model_name.starts_with("model-"));
        seen >= 50
    })
    .await;
    sim.set_event_rate(0.0);
}

#[tokio::test]
async fn clients_pinging_too_often_are_refused() {
    let sim = start(config()).await;
    // A compliant client on its own connection.
    let mut polite = client(&sim).await;
    let mut polite_models = subscribe_models(&mut polite).await;

    let pinger = Endpoint::from_shared(sim.uri())
        .expect("uri")
        .http2_keep_alive_interval(Duration::from_millis(50))
        .keep_alive_timeout(Duration::from_secs(5))
        .keep_alive_while_idle(true)
        .connect()
        .await
        .expect("connects");
    let mut pinger = SchedulerClient::new(pinger);
    let mut pinger_models = subscribe_models(&mut pinger).await;
    let refused = stream_error(&mut pinger_models).await;
    assert!(
        matches!(
            refused.code(),
            Code::Unavailable | Code::Unknown | Code::Internal
        ),
        "pinger cut off: {refused:?}"
    );
    assert_eq!(sim.stats().connections_refused_for_pings, 1);

    // The compliant client is unaffected.
    polite
        .load_model(load(model("m", "gs://x", 1, 1)))
        .await
        .expect("load");
    until(&mut polite_models, |m| {
        model_state(m).0 == ModelState::ModelAvailable
    })
    .await;
}

/// Reads one HTTP/2 frame: (type, flags, payload).
async fn read_frame(tcp: &mut tokio::net::TcpStream) -> std::io::Result<(u8, u8, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    let mut header = [0_u8; 9];
    tcp.read_exact(&mut header).await?;
    let length = u32::from_be_bytes([0, header[0], header[1], header[2]]);
    let mut payload = vec![0; usize::try_from(length).expect("small frame")];
    tcp.read_exact(&mut payload).await?;
    Ok((header[3], header[4], payload))
}

#[tokio::test]
async fn too_many_pings_gets_goaway_enhance_your_calm() {
    use tokio::io::AsyncWriteExt;
    let sim = start(config()).await;
    let mut tcp = tokio::net::TcpStream::connect(sim.local_addr())
        .await
        .expect("connects");
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    bytes.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS
    for i in 0..4_u8 {
        // PING, no ACK flag, stream 0, 8 bytes of opaque data.
        bytes.extend_from_slice(&[0, 0, 8, 6, 0, 0, 0, 0, 0]);
        bytes.extend_from_slice(&[i; 8]);
    }
    tcp.write_all(&bytes).await.expect("sent");
    let goaway = timeout(DEADLINE, async {
        loop {
            match read_frame(&mut tcp).await {
                Ok((7, _, payload)) => return Some(payload),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    })
    .await
    .expect("server answers before the deadline")
    .expect("a GOAWAY before the connection closes");
    assert_eq!(&goaway[4..8], &0xb_u32.to_be_bytes(), "ENHANCE_YOUR_CALM");
    assert_eq!(&goaway[8..], b"too_many_pings");
    // Then the connection is closed.
    let after = timeout(DEADLINE, read_frame(&mut tcp))
        .await
        .expect("closed in time");
    assert!(after.is_err(), "nothing after the GOAWAY: {after:?}");
    assert_eq!(sim.stats().connections_refused_for_pings, 1);
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
    assert!(started.elapsed() < switchyard::simulator::SHUTDOWN_GRACE);
    assert_eq!(stream_error(&mut models).await.code(), Code::Unavailable);
}

#[tokio::test]
async fn fleet_serves_each_namespace_on_consecutive_ports() {
    // Find a free run of three ports; retry if another process takes one.
    let mut attempts = 0;
    let fleet = loop {
        attempts += 1;
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("probe");
        let base = probe.local_addr().expect("addr").port().min(u16::MAX - 3);
        drop(probe);
        let mut template = config();
        template.listen.set_port(base);
        match SimulatorFleet::start(template, 3, "ns").await {
            Ok(fleet) => break fleet,
            Err(err) if attempts < 5 => eprintln!("retrying: {err}"),
            Err(err) => panic!("no free port run: {err}"),
        }
    };
    let handles = fleet.handles();
    let names: Vec<_> = handles.iter().map(|h| h.namespace()).collect();
    assert_eq!(names, ["ns1", "ns2", "ns3"]);
    let base = handles[0].local_addr().port();
    for (offset, handle) in (0_u16..).zip(handles) {
        assert_eq!(handle.local_addr().port(), base + offset);
        let mut health = HealthCheckServiceClient::new(channel(handle).await);
        assert!(
            health
                .health_check(HealthCheckRequest {})
                .await
                .expect("healthy")
                .into_inner()
                .ok
        );
    }
    assert!(fleet.get("ns2").is_some());
    fleet.shutdown().await.expect("clean shutdown");
}
