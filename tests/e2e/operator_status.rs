//! Status write-back against the API double and a simulated scheduler:
//! events from the bus become CR status, finalizers go on terminal events,
//! conflicts lose nothing and a slow API server conflates writes.

use crate::common::model;
use crate::operator_support;

use std::sync::Arc;
use std::time::Duration;

use kube::api::PostParams;
use operator_support::{Env, until};
use switchyard_api::ConditionStatus;
use switchyard_api::experiment::{Experiment, ExperimentSpec};
use switchyard_api::model::Model;
use switchyard_api::pipeline::{Pipeline, PipelineSpec, PipelineStep};
use switchyard_api::server::{Server, ServerSpec};
use switchyard_core::bus::{StatusEvent, StatusPayload};
use switchyard_kube_double::{FailWith, WriteScope};
use switchyard_operator::status::{EXPERIMENT_FINALIZER, MODEL_FINALIZER, PIPELINE_FINALIZER};
use switchyard_proto::scheduler as pb;
use switchyard_translate as translate;
use switchyard_translate::conditions::{self, get};

fn pipeline(name: &str) -> Pipeline {
    Pipeline::new(
        name,
        PipelineSpec {
            steps: vec![PipelineStep {
                name: "a".into(),
                ..Default::default()
            }],
            ..Default::default()
        },
    )
}

fn experiment(name: &str) -> Experiment {
    Experiment::new(
        name,
        ExperimentSpec {
            default: Some("a".into()),
            candidates: vec![],
            ..Default::default()
        },
    )
}

fn meta(ns: &str, generation: i64) -> Option<pb::KubernetesMeta> {
    Some(pb::KubernetesMeta {
        namespace: ns.into(),
        generation,
    })
}

fn model_event(
    ns: &str,
    name: &str,
    generation: i64,
    state: pb::model_status::ModelState,
    available: u32,
    unavailable: u32,
) -> StatusEvent {
    StatusEvent::new(
        Arc::from(ns),
        StatusPayload::Model(pb::ModelStatusResponse {
            model_name: name.into(),
            versions: vec![pb::ModelVersionStatus {
                version: 1,
                server_name: "mlserver".into(),
                kubernetes_meta: meta(ns, generation),
                state: Some(pb::ModelStatus {
                    state: state as i32,
                    available_replicas: available,
                    unavailable_replicas: unavailable,
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
    )
}

fn pipeline_event(
    ns: &str,
    name: &str,
    status: pb::pipeline_version_state::PipelineStatus,
    gw: pb::pipeline_version_state::PipelineStatus,
    models_ready: bool,
) -> StatusEvent {
    StatusEvent::new(
        Arc::from(ns),
        StatusPayload::Pipeline(pb::PipelineStatusResponse {
            pipeline_name: name.into(),
            versions: vec![pb::PipelineWithState {
                pipeline: Some(pb::Pipeline {
                    name: name.into(),
                    kubernetes_meta: meta(ns, 1),
                    ..Default::default()
                }),
                state: Some(pb::PipelineVersionState {
                    status: status as i32,
                    pipeline_gw_status: gw as i32,
                    models_ready,
                    ..Default::default()
                }),
            }],
            ..Default::default()
        }),
    )
}

fn experiment_event(ns: &str, name: &str, active: bool, candidates: bool) -> StatusEvent {
    StatusEvent::new(
        Arc::from(ns),
        StatusPayload::Experiment(pb::ExperimentStatusResponse {
            experiment_name: name.into(),
            active,
            candidates_ready: candidates,
            mirror_ready: candidates,
            kubernetes_meta: meta(ns, 1),
            ..Default::default()
        }),
    )
}

fn cond_status(conds: &[switchyard_api::Condition], type_: &str) -> Option<ConditionStatus> {
    get(conds, type_).map(|c| c.status)
}

#[tokio::test]
async fn model_loaded_then_deleted_through_the_simulator() {
    let mut env = Env::new("ns", Duration::ZERO).await;
    env.create(model("iris"), Some(MODEL_FINALIZER)).await;
    // Resync (SEND_MODELS) loads the model; its events become status.
    env.connect();
    let api = env.api::<Model>();
    let status = until("iris ready", || async {
        let m = api.get("iris").await.ok()?;
        let s = m.status?;
        conditions::is_ready(&s.duck.conditions).then_some(s)
    })
    .await;
    assert_eq!(status.replicas, 1);
    assert_eq!(status.available_replicas, 1);
    assert_eq!(status.duck.observed_generation, Some(1));
    assert_eq!(status.modelgw_ready, "ModelAvailable");
    assert!(status.selector.starts_with("server="));

    env.delete::<Model>("iris").await;
    let deleting = api.get("iris").await.unwrap();
    let mut scheduler = env.scheduler().await;
    scheduler
        .unload_model(translate::model::unload_model_request(&deleting).unwrap())
        .await
        .unwrap();
    until("iris gone", || async {
        api.get_opt("iris").await.unwrap().is_none().then_some(())
    })
    .await;
    env.stop().await;
}

#[tokio::test]
async fn model_vectors_generation_and_namespace_checks() {
    use pb::model_status::ModelState::*;
    let env = Env::new("ns", Duration::ZERO).await;
    let api = env.api::<Model>();
    env.create(model("foo"), Some(MODEL_FINALIZER)).await;

    // M1 / M2
    env.bus
        .publish(model_event("ns", "foo", 1, ModelAvailable, 1, 0));
    until("foo ready", || async {
        let s = api.get("foo").await.ok()?.status?;
        conditions::is_ready(&s.duck.conditions).then_some(())
    })
    .await;
    env.bus
        .publish(model_event("ns", "foo", 1, ModelProgressing, 0, 1));
    let s = until("foo not ready", || async {
        let s = api.get("foo").await.ok()?.status?;
        (!conditions::is_ready(&s.duck.conditions)).then_some(s)
    })
    .await;
    assert_eq!((s.replicas, s.available_replicas), (1, 0));

    // An event naming another namespace than its scheduler's is ignored, and
    // so is one for an old generation (the spec changed since).
    env.bus
        .publish(model_event("other", "foo", 1, ModelAvailable, 3, 0));
    let mut fresh = api.get("foo").await.unwrap();
    fresh.spec.storage_uri = "gs://m2".into();
    api.replace("foo", &PostParams::default(), &fresh)
        .await
        .unwrap();
    env.bus
        .publish(model_event("ns", "foo", 1, ModelAvailable, 2, 0));
    // A later event for the current generation is applied: everything
    // before it was processed.
    env.bus.publish(StatusEvent::new(
        Arc::from("ns"),
        StatusPayload::Model(pb::ModelStatusResponse {
            model_name: "bar".into(),
            ..Default::default()
        }),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = api.get("foo").await.unwrap().status.unwrap();
    assert!(
        !conditions::is_ready(&s.duck.conditions),
        "old generation ignored"
    );
    assert_eq!(s.duck.observed_generation, Some(1));
    env.bus
        .publish(model_event("ns", "foo", 2, ModelAvailable, 2, 0));
    let s = until("gen 2 ready", || async {
        let s = api.get("foo").await.ok()?.status?;
        (s.duck.observed_generation == Some(2)).then_some(s)
    })
    .await;
    assert_eq!(s.available_replicas, 2);

    // M4: deleting + terminating keeps the finalizer; M3: terminated removes it.
    env.delete::<Model>("foo").await;
    env.bus
        .publish(model_event("ns", "foo", 3, ModelTerminating, 0, 0));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(api.get_opt("foo").await.unwrap().is_some());
    let mut terminated = model_event("ns", "foo", 3, ModelTerminated, 0, 0);
    if let StatusPayload::Model(m) = Arc::make_mut(&mut terminated.payload) {
        m.versions[0].state.as_mut().unwrap().model_gw_state = ModelTerminated as i32;
    }
    env.bus.publish(terminated);
    until("foo gone", || async {
        api.get_opt("foo").await.unwrap().is_none().then_some(())
    })
    .await;
    env.stop().await;
}

#[tokio::test]
async fn pipeline_vectors_and_the_terminal_rule() {
    use pb::pipeline_version_state::PipelineStatus::*;
    use switchyard_translate::conditions::{
        MODELS_READY, PIPELINE_GW_READY, PIPELINE_READY, READY,
    };
    let env = Env::new("ns", Duration::ZERO).await;
    let api = env.api::<Pipeline>();
    env.create(pipeline("foo"), Some(PIPELINE_FINALIZER)).await;
    let cases = [
        // P1
        (
            (PipelineReady, PipelineReady, true),
            [true, true, true, true],
        ),
        // P4
        (
            (PipelineReady, PipelineReady, false),
            [false, true, true, false],
        ),
        // P5
        (
            (PipelineReady, PipelineFailed, true),
            [false, true, false, true],
        ),
        // P6
        (
            (PipelineFailed, PipelineFailed, false),
            [false, false, false, false],
        ),
    ];
    for ((status, gw, models), expected) in cases {
        env.bus
            .publish(pipeline_event("ns", "foo", status, gw, models));
        let want: Vec<_> = expected
            .iter()
            .map(|t| {
                Some(if *t {
                    ConditionStatus::True
                } else {
                    ConditionStatus::False
                })
            })
            .collect();
        until(&format!("{status:?}/{gw:?}/{models}"), || async {
            let s = api.get("foo").await.ok()?.status?;
            let got: Vec<_> = [READY, PIPELINE_READY, PIPELINE_GW_READY, MODELS_READY]
                .iter()
                .map(|t| cond_status(&s.duck.conditions, t))
                .collect();
            (got == want && s.duck.observed_generation == Some(1)).then_some(())
        })
        .await;
    }

    // A stale Ready event for a deleting pipeline keeps the finalizer
    // (Go drops it, docs/seldon-compat.md#pipeline-status); Terminated releases it.
    env.delete::<Pipeline>("foo").await;
    env.bus.publish(pipeline_event(
        "ns",
        "foo",
        PipelineReady,
        PipelineReady,
        true,
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(api.get_opt("foo").await.unwrap().is_some());
    env.bus.publish(pipeline_event(
        "ns",
        "foo",
        PipelineTerminated,
        PipelineTerminated,
        false,
    ));
    until("foo gone", || async {
        api.get_opt("foo").await.unwrap().is_none().then_some(())
    })
    .await;
    env.stop().await;
}

#[tokio::test]
async fn experiment_vectors_and_deletion() {
    use switchyard_translate::conditions::{
        CANDIDATES_READY, EXPERIMENT_READY, MIRROR_READY, READY,
    };
    let env = Env::new("ns", Duration::ZERO).await;
    let api = env.api::<Experiment>();
    env.create(experiment("foo"), Some(EXPERIMENT_FINALIZER))
        .await;
    for ((active, candidates), expected) in [
        ((true, true), [true, true, true, true]),       // E1
        ((true, false), [false, true, false, false]),   // E4
        ((false, false), [false, false, false, false]), // E5
    ] {
        env.bus
            .publish(experiment_event("ns", "foo", active, candidates));
        let want: Vec<_> = expected
            .iter()
            .map(|t| {
                Some(if *t {
                    ConditionStatus::True
                } else {
                    ConditionStatus::False
                })
            })
            .collect();
        until(
            &format!("active {active} candidates {candidates}"),
            || async {
                let s = api.get("foo").await.ok()?.status?;
                let got: Vec<_> = [READY, EXPERIMENT_READY, CANDIDATES_READY, MIRROR_READY]
                    .iter()
                    .map(|t| cond_status(&s.duck.conditions, t))
                    .collect();
                (got == want).then_some(())
            },
        )
        .await;
    }
    env.delete::<Experiment>("foo").await;
    env.bus.publish(experiment_event("ns", "foo", true, true));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        api.get_opt("foo").await.unwrap().is_some(),
        "active keeps it"
    );
    env.bus.publish(experiment_event("ns", "foo", false, false));
    until("foo gone", || async {
        api.get_opt("foo").await.unwrap().is_none().then_some(())
    })
    .await;
    env.stop().await;
}

#[tokio::test]
async fn server_status_and_scaling_requests() {
    let mut env = Env::new("ns", Duration::ZERO).await;
    let api = env.api::<Server>();
    env.create(
        Server::new(
            "foo",
            ServerSpec {
                server_config: "mlserver".into(),
                replicas: Some(1),
                min_replicas: Some(1),
                max_replicas: Some(5),
                ..Default::default()
            },
        ),
        None,
    )
    .await;
    // SEND_SERVERS tells the scheduler about foo.
    env.connect();
    until("server notified", || async {
        (env.sim.stats().servers >= 1).then_some(())
    })
    .await;
    let scale = |n| env.sim.request_scaling("foo", n).unwrap();
    scale(6); // S3: outside max, ignored
    scale(3); // within
    until("replicas 3", || async {
        (api.get("foo").await.ok()?.spec.replicas == Some(3)).then_some(())
    })
    .await;
    scale(0); // below min, ignored
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(api.get("foo").await.unwrap().spec.replicas, Some(3));

    // S6: StatusUpdate -> loadedModels (current generation only).
    let generation = api.get("foo").await.unwrap().metadata.generation.unwrap();
    env.bus.publish(StatusEvent::new(
        Arc::from("ns"),
        StatusPayload::Server(pb::ServerStatusResponse {
            r#type: pb::server_status_response::Type::StatusUpdate as i32,
            server_name: "foo".into(),
            num_loaded_model_replicas: 2,
            kubernetes_meta: meta("ns", generation),
            ..Default::default()
        }),
    ));
    until("loadedModels 2", || async {
        (api.get("foo").await.ok()?.status?.loaded_models == 2).then_some(())
    })
    .await;
    env.stop().await;
}

#[tokio::test]
async fn conflicts_on_status_writes_lose_nothing() {
    use pb::model_status::ModelState::*;
    let env = Env::new("ns", Duration::ZERO).await;
    let api = env.api::<Model>();
    env.create(model("foo"), None).await;
    env.double.fail_next_writes(
        3,
        FailWith::Conflict,
        WriteScope::subresource("models", "status"),
    );
    env.bus
        .publish(model_event("ns", "foo", 1, ModelAvailable, 1, 0));
    until("foo ready despite conflicts", || async {
        let s = api.get("foo").await.ok()?.status?;
        conditions::is_ready(&s.duck.conditions).then_some(())
    })
    .await;
    assert_eq!(env.double.stats().injected_write_failures, 3);
    env.stop().await;
}

#[tokio::test]
async fn a_slow_api_server_conflates_writes_per_object() {
    use pb::model_status::ModelState::*;
    let env = Env::new("ns", Duration::ZERO).await;
    let api = env.api::<Model>();
    env.create(model("foo"), None).await;
    env.double.set_latency(Duration::from_millis(100));
    let before = env.double.stats().requests("patch", "models/status");
    const BURST: u32 = 50;
    for i in 1..=BURST {
        env.bus
            .publish(model_event("ns", "foo", 1, ModelAvailable, i, 0));
    }
    until("the last state written", || async {
        (api.get("foo").await.ok()?.status?.available_replicas == BURST as i32).then_some(())
    })
    .await;
    let writes = env.double.stats().requests("patch", "models/status") - before;
    assert!(writes < 10, "{writes} status writes for a burst of {BURST}");
    env.stop().await;
}

#[tokio::test]
async fn an_api_server_failing_status_writes_for_a_while_loses_nothing() {
    use pb::model_status::ModelState::*;
    let env = Env::new("ns", Duration::ZERO).await;
    let api = env.api::<Model>();
    env.create(model("foo"), None).await;
    // More failures in a row than any fixed number of attempts would
    // survive: the writer keeps retrying with backoff until one succeeds.
    const FAILURES: u32 = 4;
    env.double.fail_next_writes(
        FAILURES,
        FailWith::InternalError,
        WriteScope::subresource("models", "status"),
    );
    env.bus
        .publish(model_event("ns", "foo", 1, ModelAvailable, 1, 0));
    until("foo ready once the API server answers again", || async {
        let s = api.get("foo").await.ok()?.status?;
        conditions::is_ready(&s.duck.conditions).then_some(())
    })
    .await;
    assert_eq!(
        env.double.stats().injected_write_failures,
        u64::from(FAILURES)
    );
    env.stop().await;
}

#[tokio::test]
async fn a_replica_that_becomes_leader_writes_what_it_missed_as_standby() {
    use pb::model_status::ModelState::*;
    let env = Env::new("ns", Duration::ZERO).await;
    let api = env.api::<Model>();
    env.create(model("foo"), None).await;
    env.leader.send_replace(false);
    let patches = || env.double.stats().requests("patch", "models/status");
    let before = patches();
    // The model becomes available while this replica is a standby (the
    // old leader died before writing it).
    env.bus
        .publish(model_event("ns", "foo", 1, ModelAvailable, 1, 0));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(patches(), before, "a standby writes nothing");
    env.leader.send_replace(true);
    until("foo ready once this replica leads", || async {
        let s = api.get("foo").await.ok()?.status?;
        conditions::is_ready(&s.duck.conditions).then_some(())
    })
    .await;
    env.stop().await;
}

#[tokio::test]
async fn a_status_the_api_server_refuses_gets_an_update_failed_event() {
    use k8s_openapi::api::events::v1::Event;
    use pb::model_status::ModelState::*;
    let env = Env::new("ns", Duration::ZERO).await;
    env.create(model("foo"), None).await;
    env.double.fail_next_writes(
        1,
        FailWith::Invalid,
        WriteScope::subresource("models", "status"),
    );
    env.bus
        .publish(model_event("ns", "foo", 1, ModelAvailable, 1, 0));
    let events = env.api::<Event>();
    let note = until("an UpdateFailed event about foo", || async {
        events
            .list(&Default::default())
            .await
            .ok()?
            .items
            .into_iter()
            .find(|e| {
                e.reason.as_deref() == Some("UpdateFailed")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("foo")
            })?
            .note
    })
    .await;
    assert!(
        note.starts_with("Failed to update status for Model \"foo\""),
        "{note}"
    );
    // Refused outright: not retried.
    assert_eq!(env.double.stats().injected_write_failures, 1);
    env.stop().await;
}
