//! Unary calls: routed by metadata, kubernetesMeta or the default; the
//! right code for unknown, unreachable, failing and malformed.

use super::support::*;

#[tokio::test]
async fn calls_are_routed_by_metadata_then_message_then_default() {
    let config = GatewayConfig {
        default_namespace: Some("team-b".into()),
        ..Default::default()
    };
    let env = Env::start_with(&["team-a", "team-b"], config, test_options()).await;
    let mut gw = env.client().await;

    gw.load_model(in_ns("team-a", load_model("by-metadata", None)))
        .await
        .expect("routed by metadata");
    gw.load_model(load_model("by-message", Some("team-a")))
        .await
        .expect("routed by kubernetesMeta");
    gw.load_model(load_model("by-default", None))
        .await
        .expect("routed to the default");

    let a = model_names(&mut env.direct("team-a").await).await;
    let b = model_names(&mut env.direct("team-b").await).await;
    assert_eq!(a, ["by-message", "by-metadata"]);
    assert_eq!(b, ["by-default"]);

    // Name-only calls need metadata (or the default).
    gw.unload_model(in_ns(
        "team-a",
        UnloadModelRequest {
            model: Some(ModelReference {
                name: "by-metadata".into(),
                version: None,
            }),
            kubernetes_meta: None,
        },
    ))
    .await
    .expect("unload routed by metadata");
    let version = gw
        .scheduler_status(in_ns("team-a", SchedulerStatusRequest::default()))
        .await
        .expect("scheduler status routed")
        .into_inner();
    assert_eq!(version.application_version, "0.0.1");
    env.stop().await;
}

#[tokio::test]
async fn a_request_naming_no_namespace_is_told_how_to_name_one() {
    let env = Env::start(&["team-a"]).await;
    let mut gw = env.client().await;
    let status = gw
        .unload_pipeline(UnloadPipelineRequest { name: "p".into() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains(NAMESPACE_METADATA), "{status:?}");
    env.stop().await;
}

#[tokio::test]
async fn an_unknown_namespace_is_not_found_naming_it() {
    let env = Env::start(&["team-a"]).await;
    let mut gw = env.client().await;
    let status = gw
        .load_model(load_model("iris", Some("nowhere")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains("\"nowhere\""), "{status:?}");
    let status = gw
        .subscribe_model_status(in_ns("nowhere", ModelSubscriptionRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    env.stop().await;
}

#[tokio::test]
async fn an_unreachable_scheduler_is_unavailable_and_delays_no_one() {
    let options = GatewayOptions {
        call_timeout: Duration::from_secs(8),
        ..test_options()
    };
    let env = Env::start_with(&["team-a"], GatewayConfig::default(), options).await;
    // Refused: nothing listens there.
    let refused = closed_port().await;
    env.registry.apply(runtime("refused", refused));
    // Silent: the kernel accepts TCP but nobody ever speaks HTTP/2.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    env.registry
        .apply(runtime("silent", silent.local_addr().unwrap()));
    env.wait_known("refused").await;
    env.wait_known("silent").await;
    let mut gw = env.client().await;

    let started = Instant::now();
    let status = gw
        .load_model(load_model("iris", Some("refused")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("\"refused\"") && status.message().contains(&refused.to_string()),
        "names namespace and address: {status:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "refused fails fast"
    );

    // A call stuck on the silent scheduler (for up to its 8 s deadline)
    // does not hold up team-a: every team-a call is answered while it is
    // still waiting.
    let mut stuck_client = gw.clone();
    let stuck = tokio::spawn(async move {
        stuck_client
            .load_model(load_model("iris", Some("silent")))
            .await
    });
    for i in 0..5 {
        gw.load_model(load_model(&format!("m{i}"), Some("team-a")))
            .await
            .expect("team-a is served");
    }
    assert!(
        !stuck.is_finished(),
        "team-a was served only after the stuck call ended"
    );
    let stuck = timeout(DEADLINE, stuck)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    // The pool's probe finds the scheduler silent: UNAVAILABLE, before
    // the deadline (crates/scheduler/src/liveness.rs).
    assert_eq!(stuck.code(), Code::Unavailable, "{stuck:?}");
    assert!(stuck.message().contains("\"silent\""), "{stuck:?}");
    drop(silent);
    env.stop().await;
}

#[tokio::test]
async fn the_schedulers_status_passes_through_unchanged() {
    let env = Env::start(&["team-a"]).await;
    env.sim("team-a")
        .fail_calls(Code::ResourceExhausted, Some(Rpc::LoadModel));
    let direct = env
        .direct("team-a")
        .await
        .load_model(load_model("iris", Some("team-a")))
        .await
        .unwrap_err();
    let via_gateway = env
        .client()
        .await
        .load_model(load_model("iris", Some("team-a")))
        .await
        .unwrap_err();
    assert_eq!(via_gateway.code(), Code::ResourceExhausted);
    assert_eq!(via_gateway.code(), direct.code());
    assert_eq!(via_gateway.message(), direct.message());

    env.sim("team-a").clear_failures();
    // The scheduler's own verdict on a request it rejects passes too.
    let unload = || UnloadModelRequest {
        model: Some(ModelReference {
            name: "never-loaded".into(),
            version: None,
        }),
        kubernetes_meta: None,
    };
    let direct = env.direct("team-a").await.unload_model(unload()).await;
    let via_gateway = env
        .client()
        .await
        .unload_model(in_ns("team-a", unload()))
        .await;
    match (direct, via_gateway) {
        (Err(direct), Err(via_gateway)) => {
            assert_eq!(
                (via_gateway.code(), via_gateway.message()),
                (direct.code(), direct.message())
            );
        }
        (direct, via_gateway) => panic!(
            "the simulator rejects unknown models: direct {direct:?}, via gateway {via_gateway:?}"
        ),
    }
    env.stop().await;
}

#[tokio::test]
async fn malformed_requests_are_invalid_argument_naming_the_field() {
    let env = Env::start(&["team-a", "team-b"]).await;
    let mut gw = env.client().await;
    let expect_invalid = |result: Result<tonic::Response<_>, Status>, needle: &str| {
        let status = result.expect_err("rejected");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().contains(needle),
            "{needle:?} in {status:?}"
        );
    };

    let no_meta = LoadModelRequest {
        model: Some(Model::default()),
    };
    expect_invalid(
        gw.load_model(in_ns("team-a", no_meta))
            .await
            .map(|r| r.map(|_| ())),
        "model.meta",
    );
    let bad_join = LoadPipelineRequest {
        pipeline: Some(Pipeline {
            name: "p".into(),
            steps: vec![PipelineStep {
                name: "s".into(),
                inputs_join: 7,
                ..Default::default()
            }],
            ..Default::default()
        }),
    };
    expect_invalid(
        gw.load_pipeline(in_ns("team-a", bad_join))
            .await
            .map(|r| r.map(|_| ())),
        "pipeline.steps[0].inputsJoin has unknown enum value 7",
    );
    let bad_type = StartExperimentRequest {
        experiment: Some(Experiment {
            name: "e".into(),
            resource_type: 9,
            ..Default::default()
        }),
    };
    expect_invalid(
        gw.start_experiment(in_ns("team-a", bad_type))
            .await
            .map(|r| r.map(|_| ())),
        "experiment.resourceType has unknown enum value 9",
    );
    let server = |name: &str, ns: &str| ServerNotify {
        name: name.into(),
        kubernetes_meta: Some(KubernetesMeta {
            namespace: ns.into(),
            generation: 1,
        }),
        ..Default::default()
    };
    let split = ServerNotifyRequest {
        servers: vec![server("a", "team-a"), server("b", "team-b")],
        is_first_sync: false,
    };
    expect_invalid(
        gw.server_notify(split).await.map(|r| r.map(|_| ())),
        "servers[1].kubernetesMeta.namespace",
    );
    expect_invalid(
        gw.load_model(in_ns("team-a", load_model("iris", Some("team-b"))))
            .await
            .map(|r| r.map(|_| ())),
        "must agree",
    );
    // Nothing reached a scheduler.
    assert!(
        model_names(&mut env.direct("team-a").await)
            .await
            .is_empty()
    );
    env.stop().await;
}

#[tokio::test]
async fn an_oversized_request_is_rejected_and_the_gateway_keeps_serving() {
    let env = Env::start(&["team-a"]).await;
    let mut gw = env.client().await;
    let mut big = load_model("big", Some("team-a"));
    big.model.as_mut().unwrap().model_spec.as_mut().unwrap().uri =
        "x".repeat(test_options().max_request_bytes + 1);
    let status = gw.load_model(big).await.unwrap_err();
    assert!(
        matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted),
        "{status:?}"
    );
    gw.load_model(load_model("small", Some("team-a")))
        .await
        .expect("still serving");
    env.stop().await;
}

#[tokio::test]
async fn the_control_plane_is_passed_through_per_namespace() {
    let env = Env::start(&["team-a"]).await;
    let mut gw = env.client().await;
    let mut stream = gw
        .subscribe_control_plane(in_ns(
            "team-a",
            ControlPlaneSubscriptionRequest {
                subscriber_name: "test".into(),
            },
        ))
        .await
        .expect("control plane opens")
        .into_inner();
    let first = timeout(DEADLINE, stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.event(), Event::SendServers);
    let status = gw
        .subscribe_control_plane(ControlPlaneSubscriptionRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    drop(stream);
    env.stop().await;
}
