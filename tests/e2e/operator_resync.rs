//! Resync against the API double and a simulated scheduler: a restart with
//! wiped state is re-sent everything, partial loss is repaired, deleting
//! objects are released, and a namespace without Servers still gets its
//! first-sync ServerNotify.

use crate::common::model;
use crate::operator_support;

use std::collections::BTreeMap;
use std::time::Duration;

use operator_support::{Env, until};
use switchyard_api::experiment::{Experiment, ExperimentSpec};
use switchyard_api::model::Model;
use switchyard_api::pipeline::{Pipeline, PipelineSpec, PipelineStep};
use switchyard_operator::status::{EXPERIMENT_FINALIZER, MODEL_FINALIZER, PIPELINE_FINALIZER};
use switchyard_proto::scheduler::pipeline_version_state::PipelineStatus;
use switchyard_proto::scheduler::{
    PipelineStatusRequest, StopExperimentRequest, UnloadPipelineRequest,
};
use switchyard_simulator::Rpc;

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
            ..Default::default()
        },
    )
}

async fn pipelines_on_scheduler(env: &Env) -> BTreeMap<String, PipelineStatus> {
    let mut client = env.scheduler().await;
    let mut stream = client
        .pipeline_status(PipelineStatusRequest {
            subscriber_name: "test".into(),
            name: None,
            all_versions: false,
        })
        .await
        .unwrap()
        .into_inner();
    let mut found = BTreeMap::new();
    while let Some(r) = stream.message().await.unwrap() {
        let status = r.versions[0].state.as_ref().unwrap().status();
        found.insert(r.pipeline_name, status);
    }
    found
}

#[tokio::test]
async fn a_restarted_scheduler_gets_everything_back() {
    let mut env = Env::new("ns", Duration::ZERO).await;
    for name in ["m1", "m2"] {
        env.create(model(name), Some(MODEL_FINALIZER)).await;
    }
    env.create(pipeline("p1"), Some(PIPELINE_FINALIZER)).await;
    env.create(experiment("e1"), Some(EXPERIMENT_FINALIZER))
        .await;
    // Deleting objects the scheduler never had.
    env.create(model("m-gone"), Some(MODEL_FINALIZER)).await;
    env.create(pipeline("p-gone"), Some(PIPELINE_FINALIZER))
        .await;
    env.create(experiment("e-gone"), Some(EXPERIMENT_FINALIZER))
        .await;
    env.delete::<Model>("m-gone").await;
    env.delete::<Pipeline>("p-gone").await;
    env.delete::<Experiment>("e-gone").await;

    env.connect();
    let loaded = |env: &Env| {
        let s = env.sim.stats();
        (s.models == 2 && s.pipelines == 1 && s.experiments == 1).then_some(())
    };
    until("first sync", || async { loaded(&env) }).await;
    until("deleting objects released", || async {
        let m = env.api::<Model>().get_opt("m-gone").await.unwrap();
        let p = env.api::<Pipeline>().get_opt("p-gone").await.unwrap();
        let e = env.api::<Experiment>().get_opt("e-gone").await.unwrap();
        (m.is_none() && p.is_none() && e.is_none()).then_some(())
    })
    .await;

    env.sim.restart();
    until("state wiped", || async {
        (env.sim.stats().restarts == 1).then_some(())
    })
    .await;
    until("everything loaded again", || async { loaded(&env) }).await;
    env.stop().await;
}

#[tokio::test]
async fn partial_loss_of_pipelines_is_repaired() {
    let mut env = Env::new("ns", Duration::ZERO).await;
    for name in ["p1", "p2"] {
        env.create(pipeline(name), Some(PIPELINE_FINALIZER)).await;
    }
    env.connect();
    until("both pipelines ready", || async {
        let found = pipelines_on_scheduler(&env).await;
        (found
            .values()
            .filter(|s| **s == PipelineStatus::PipelineReady)
            .count()
            == 2)
            .then_some(())
    })
    .await;
    // The scheduler loses one (Go would not re-send: it still has p1).
    let mut client = env.scheduler().await;
    client
        .unload_pipeline(UnloadPipelineRequest { name: "p2".into() })
        .await
        .unwrap();
    until("p2 gone from the scheduler", || async {
        let found = pipelines_on_scheduler(&env).await;
        (found
            .get("p2")
            .is_none_or(|s| *s == PipelineStatus::PipelineTerminated))
        .then_some(())
    })
    .await;
    env.sim.drop_streams();
    until("p2 loaded again", || async {
        let found = pipelines_on_scheduler(&env).await;
        (found.get("p2") == Some(&PipelineStatus::PipelineReady)).then_some(())
    })
    .await;
    env.stop().await;
}

#[tokio::test]
async fn partial_loss_of_experiments_is_repaired() {
    let mut env = Env::new("ns", Duration::ZERO).await;
    for name in ["e1", "e2"] {
        env.create(experiment(name), Some(EXPERIMENT_FINALIZER))
            .await;
    }
    env.connect();
    until("both experiments started", || async {
        (env.sim.stats().experiments == 2).then_some(())
    })
    .await;
    // The scheduler loses one (Go would not re-send: it still has e1).
    let starts_before = env.sim.calls(Rpc::StartExperiment);
    let mut client = env.scheduler().await;
    client
        .stop_experiment(StopExperimentRequest { name: "e2".into() })
        .await
        .unwrap();
    until("e2 gone from the scheduler", || async {
        (env.sim.stats().experiments == 1).then_some(())
    })
    .await;
    env.sim.drop_streams();
    until("e2 started again", || async {
        (env.sim.stats().experiments == 2).then_some(())
    })
    .await;
    assert_eq!(
        env.sim.calls(Rpc::StartExperiment),
        starts_before + 1,
        "only the lost experiment is re-sent"
    );
    env.stop().await;
}

#[tokio::test]
async fn a_namespace_without_servers_is_not_left_waiting() {
    // The scheduler would wait a minute for agents before asking for
    // models; the empty first-sync ServerNotify tells it to expect none.
    let mut env = Env::new("ns", Duration::from_secs(60)).await;
    env.create(model("m1"), Some(MODEL_FINALIZER)).await;
    env.connect();
    until("model loaded long before the ready timeout", || async {
        (env.sim.stats().models == 1).then_some(())
    })
    .await;
    env.stop().await;
}

/// A Model deleted while a resync was loading it (here: its LoadModel is
/// slow, and the object has no finalizer, so it goes at once) is taken
/// back from the scheduler: nothing stays loaded without an object.
#[tokio::test]
async fn a_model_deleted_while_it_was_being_resent_is_unloaded_again() {
    let mut env = Env::new("ns", Duration::ZERO).await;
    env.create(model("m1"), None).await;
    env.sim.set_call_latency(Duration::from_millis(800));
    env.connect();
    until("LoadModel on its way", || async {
        (env.sim.calls(switchyard_simulator::Rpc::LoadModel) == 1).then_some(())
    })
    .await;
    env.delete::<Model>("m1").await;
    until("m1 unloaded again", || async {
        (env.sim.calls(switchyard_simulator::Rpc::UnloadModel) == 1 && env.sim.stats().models == 0)
            .then_some(())
    })
    .await;
    env.stop().await;
}
