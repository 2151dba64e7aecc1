//! Model, pipeline and experiment life cycles, and LoadModel versioning.

use super::support::*;

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
    read_until(&mut models, |m| {
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
    read_until(&mut models, |m| {
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
    let rescaled = read_until(&mut models, |m| {
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
    let v2 = read_until(&mut models, |m| {
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
    let state = |p: &switchyard_proto::scheduler::PipelineStatusResponse| {
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
