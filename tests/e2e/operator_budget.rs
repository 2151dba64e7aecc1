//! What the operator writes for a Model, counted by the API double: at most
//! three writes from creation to Ready (the finalizer and the scheduler's
//! two states), no status write that changes nothing, no event repeating a
//! condition; and a Model or Pipeline unloaded straight on its scheduler,
//! behind Kubernetes' back, is loaded again.

use crate::common::model;
use k8s_openapi::api::events::v1::Event;
use kube::api::PostParams;
use kube::{Api, Client};
use switchyard_api::ConditionStatus;
use switchyard_api::Pipeline;
use switchyard_api::model::Model;
use switchyard_kube_double::ApiStats;
use switchyard_proto::scheduler::{ModelReference, UnloadModelRequest, UnloadPipelineRequest};
use switchyard_simulator::Rpc;

use crate::common::{DEADLINE, Operator, until};

const NAMESPACES: [&str; 2] = ["budget-a", "budget-b"];
/// Models per namespace.
const MODELS: usize = 10;
/// The budget from creation to Ready.
const WRITES_PER_MODEL: u64 = 3;

fn ready(m: &Model) -> bool {
    m.status.as_ref().is_some_and(|s| {
        s.duck
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == ConditionStatus::True)
    })
}

/// The operator, leading, with a SeldonRuntime and a scheduler per
/// namespace.
async fn start() -> Operator {
    let op = Operator::start(&NAMESPACES, |_| {}).await;
    let mut leading = op.app.kubernetes.as_ref().unwrap().leadership.clone();
    tokio::time::timeout(DEADLINE, leading.wait_for(|l| *l))
        .await
        .unwrap()
        .unwrap();
    for ns in NAMESPACES {
        op.double.create_runtime(ns).await.unwrap();
    }
    op
}

async fn create_and_wait_ready(client: &Client, ns: &str, names: &[String]) {
    let api = Api::<Model>::namespaced(client.clone(), ns);
    for name in names {
        api.create(&PostParams::default(), &model(name))
            .await
            .unwrap();
    }
    until(&format!("{ns}: {} Models Ready", names.len()), async || {
        let list = api.list(&Default::default()).await.ok()?;
        let all = names.iter().all(|n| {
            list.items
                .iter()
                .any(|m| m.metadata.name.as_ref() == Some(n) && ready(m))
        });
        all.then_some(())
    })
    .await;
}

/// The operator's write requests (every verb but the test's create and
/// the reads; refused and no-op ones included) to Models and their status.
fn model_writes(stats: &ApiStats) -> u64 {
    stats.updates_to(&["models", "models/status"])
}

/// Events of `ns` about Models: (type, reason, Model).
async fn model_events(client: &Client, ns: &str) -> Vec<(String, String, String)> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    api.list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|e| {
            let regarding = e.regarding?;
            (regarding.kind.as_deref() == Some("Model")).then(|| {
                (
                    e.type_.unwrap_or_default(),
                    e.reason.unwrap_or_default(),
                    regarding.name.unwrap_or_default(),
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn a_model_costs_at_most_three_writes_from_creation_to_ready() {
    let op = start().await;
    let names: Vec<String> = (0..MODELS).map(|i| format!("m-{i}")).collect();
    for ns in NAMESPACES {
        create_and_wait_ready(&op.client, ns, &names).await;
    }
    // A barrier: Models created after every counted one are Ready, so what
    // the operator does in answer to the counted ones has been done.
    for ns in NAMESPACES {
        create_and_wait_ready(&op.client, ns, &["barrier".to_owned()]).await;
    }
    let stats = op.double.stats();
    let counted = (NAMESPACES.len() * (MODELS + 1)) as u64;

    for ns in NAMESPACES {
        for name in &names {
            // The test's own creation is one of the changes.
            let changes = stats.changes_to("models", ns, name) - 1;
            assert!(
                (1..=WRITES_PER_MODEL).contains(&changes),
                "{ns}/{name}: {changes} changes by the operator; {:?}",
                stats.outcomes
            );
        }
        let events = model_events(&op.client, ns).await;
        assert!(
            events.is_empty(),
            "{ns}: no event repeats a condition on the way to Ready: {events:?}"
        );
    }
    let writes = model_writes(&stats);
    assert!(
        writes <= WRITES_PER_MODEL * counted,
        "{writes} write requests for {counted} Models: {:?}",
        stats.requests
    );
    assert_eq!(
        stats.outcomes_for("models/status").unchanged + stats.outcomes_for("models").unchanged,
        0,
        "no write that changes nothing"
    );
    op.stop().await;
}

#[tokio::test]
async fn a_model_unloaded_straight_on_its_scheduler_is_loaded_again() {
    let op = start().await;
    let ns = NAMESPACES[0];
    let api = Api::<Model>::namespaced(op.client.clone(), ns);
    create_and_wait_ready(&op.client, ns, &["iris".to_owned()]).await;
    let sim = op.sims.get(ns).unwrap();
    assert_eq!(sim.calls(Rpc::LoadModel), 1);

    // Behind Kubernetes' back: UnloadModel straight to the scheduler.
    crate::common::direct_client(sim)
        .await
        .unload_model(UnloadModelRequest {
            model: Some(ModelReference {
                name: "iris".into(),
                version: None,
            }),
            kubernetes_meta: None,
        })
        .await
        .unwrap();

    until("LoadModel sent again", async || {
        (sim.calls(Rpc::LoadModel) == 2).then_some(())
    })
    .await;
    until("iris Ready again, held by its scheduler", async || {
        let m = api.get("iris").await.ok()?;
        (ready(&m) && sim.stats().models == 1).then_some(())
    })
    .await;
    let events = model_events(&op.client, ns).await;
    for reason in ["ModelNotReady", "ModelReady"] {
        assert!(
            events
                .iter()
                .any(|(_, r, name)| r == reason && name == "iris"),
            "{reason}: {events:?}"
        );
    }
    assert_eq!(sim.calls(Rpc::LoadModel), 2, "loaded again once");
    op.stop().await;
}

#[tokio::test]
async fn a_pipeline_unloaded_straight_on_its_scheduler_is_loaded_again() {
    let op = start().await;
    let ns = NAMESPACES[1];
    create_and_wait_ready(&op.client, ns, &["iris".to_owned()]).await;
    let pipelines = Api::<Pipeline>::namespaced(op.client.clone(), ns);
    let chain: Pipeline = serde_json::from_value(serde_json::json!({
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": "chain"},
        "spec": {"steps": [{"name": "iris"}]}
    }))
    .unwrap();
    pipelines
        .create(&PostParams::default(), &chain)
        .await
        .unwrap();
    let pipeline_ready = async || {
        let p = pipelines.get("chain").await.ok()?;
        let ready = p.status.as_ref().is_some_and(|s| {
            s.duck
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == ConditionStatus::True)
        });
        ready.then_some(())
    };
    until("chain Ready", async || pipeline_ready().await).await;
    let sim = op.sims.get(ns).unwrap();
    assert_eq!(sim.calls(Rpc::LoadPipeline), 1);

    crate::common::direct_client(sim)
        .await
        .unload_pipeline(UnloadPipelineRequest {
            name: "chain".into(),
        })
        .await
        .unwrap();

    until("LoadPipeline sent again", async || {
        (sim.calls(Rpc::LoadPipeline) == 2).then_some(())
    })
    .await;
    until("chain Ready again", async || pipeline_ready().await).await;
    op.stop().await;
}
