//! The leader-gated API writer against the Kubernetes API double.

use std::net::SocketAddr;

use crate::{ApiWriter, WriteError};
use kube::api::PostParams;
use kube::{Api, ResourceExt};
use switchyard_api::model::{Model, ModelSpec, ModelStatus};
use switchyard_kube_double::{ApiDouble, FailWith, WriteScope};
use tokio::sync::watch;

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn model(api: &Api<Model>, name: &str) -> Model {
    let mut m = Model::new(
        name,
        ModelSpec {
            storage_uri: "gs://m".into(),
            ..Default::default()
        },
    );
    m.metadata.namespace = Some("ns".into());
    api.create(&PostParams::default(), &m).await.unwrap()
}

#[tokio::test]
async fn writes_only_while_leading() {
    let double = ApiDouble::start(loopback()).await.unwrap();
    let client = double.client().unwrap();
    let api: Api<Model> = Api::namespaced(client.clone(), "ns");
    let m = model(&api, "iris").await;
    let (leader, rx) = watch::channel(false);
    let writer = ApiWriter::new(client, rx, "switchyard-test");

    let status = ModelStatus {
        available_replicas: 1,
        ..Default::default()
    };
    let err = writer
        .patch_status::<Model>("ns", "iris", &status)
        .await
        .unwrap_err();
    assert!(matches!(err, WriteError::NotLeader), "{err:?}");
    assert!(matches!(
        writer.add_finalizer(&m, "f").await,
        Err(WriteError::NotLeader)
    ));
    assert_eq!(
        api.get("iris").await.unwrap().status,
        None,
        "nothing written"
    );

    leader.send(true).unwrap();
    let written = writer
        .patch_status::<Model>("ns", "iris", &status)
        .await
        .unwrap();
    assert_eq!(written.status.unwrap().available_replicas, 1);
}

#[tokio::test]
async fn finalizer_changes_survive_conflicts_by_rereading() {
    let double = ApiDouble::start(loopback()).await.unwrap();
    let client = double.client().unwrap();
    let api: Api<Model> = Api::namespaced(client.clone(), "ns");
    let stale = model(&api, "iris").await;
    let (_leader, rx) = watch::channel(true);
    let writer = ApiWriter::new(client, rx, "switchyard-test");

    // Someone else changes the object: our copy is stale.
    let mut fresh = api.get("iris").await.unwrap();
    fresh.labels_mut().insert("team".into(), "a".into());
    api.replace("iris", &PostParams::default(), &fresh)
        .await
        .unwrap();

    let added = writer
        .add_finalizer(&stale, "seldon.model.finalizer")
        .await
        .unwrap();
    assert_eq!(added.finalizers(), ["seldon.model.finalizer"]);
    assert_eq!(
        added.labels().get("team").map(String::as_str),
        Some("a"),
        "the other change is kept"
    );

    // Two injected conflicts are retried with a fresh read.
    double.fail_next_writes(2, FailWith::Conflict, WriteScope::Any);
    writer
        .remove_finalizer(&added, "seldon.model.finalizer")
        .await
        .unwrap();
    assert!(api.get("iris").await.unwrap().finalizers().is_empty());
    assert_eq!(
        double.stats().injected_write_failures,
        2,
        "both conflicts were hit and retried"
    );

    // Removing from an object that is gone is done, not an error.
    api.delete("iris", &Default::default()).await.unwrap();
    writer
        .remove_finalizer(&added, "seldon.model.finalizer")
        .await
        .unwrap();
}

#[tokio::test]
async fn update_status_is_guarded_and_skips_no_ops() {
    let double = ApiDouble::start(loopback()).await.unwrap();
    let client = double.client().unwrap();
    let api: Api<Model> = Api::namespaced(client.clone(), "ns");
    model(&api, "iris").await;
    let (_leader, rx) = watch::channel(true);
    let writer = ApiWriter::new(client, rx, "switchyard-test");

    let set_one = |m: &Model| {
        let current = m.status.clone().unwrap_or_default();
        (current.available_replicas != 1).then_some(ModelStatus {
            available_replicas: 1,
            ..current
        })
    };
    double.fail_next_writes(
        1,
        FailWith::Conflict,
        WriteScope::subresource("models", "status"),
    );
    let written = writer
        .update_status("ns", "iris", set_one)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(written.status.unwrap().available_replicas, 1);
    let before = double.stats().requests("patch", "models/status");
    writer.update_status("ns", "iris", set_one).await.unwrap();
    assert_eq!(
        double.stats().requests("patch", "models/status"),
        before,
        "no change, no write"
    );
    assert!(
        writer
            .update_status("ns", "gone", set_one)
            .await
            .unwrap()
            .is_none()
    );
}
