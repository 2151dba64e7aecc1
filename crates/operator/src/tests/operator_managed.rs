//! The managed-objects index against the Kubernetes API double: it answers
//! from a metadata watch, on a replica that does not lead, and follows
//! creations and deletions.

use kube::Api;
use kube::api::{DeleteParams, PostParams};
use switchyard_api::{Model, ModelSpec, Pipeline, PipelineSpec};
use switchyard_core::managed::{ManagedKind, ManagedObjects};
use switchyard_kube_double::ApiDouble;
use switchyard_tasks::TaskGroup;
use switchyard_testkit::eventually;

use crate::ManagedIndex;

#[tokio::test]
async fn the_index_answers_from_the_resources_and_follows_them() {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = double.client().unwrap();
    let models: Api<Model> = Api::namespaced(client.clone(), "fraud");
    let spec = ModelSpec {
        storage_uri: "gs://m".into(),
        ..Default::default()
    };
    models
        .create(&PostParams::default(), &Model::new("iris", spec.clone()))
        .await
        .unwrap();
    Api::<Pipeline>::namespaced(client.clone(), "search")
        .create(
            &PostParams::default(),
            &Pipeline::new("flow", PipelineSpec::default()),
        )
        .await
        .unwrap();

    let tasks = TaskGroup::new("test");
    let index = ManagedIndex::start(&client, &None, &tasks);
    eventually("listed", async || index.is_synced()).await;
    assert!(index.is_managed("fraud", ManagedKind::Model, "iris"));
    assert!(index.is_managed("search", ManagedKind::Pipeline, "flow"));
    assert!(
        !index.is_managed("search", ManagedKind::Model, "iris"),
        "another namespace"
    );
    assert!(
        !index.is_managed("fraud", ManagedKind::Pipeline, "iris"),
        "another kind"
    );
    assert!(!index.is_managed("fraud", ManagedKind::Experiment, "iris"));

    models
        .create(&PostParams::default(), &Model::new("wine", spec))
        .await
        .unwrap();
    eventually("a new Model seen", async || {
        index.is_managed("fraud", ManagedKind::Model, "wine")
    })
    .await;
    models
        .delete("iris", &DeleteParams::default())
        .await
        .unwrap();
    eventually("a deleted Model gone", async || {
        !index.is_managed("fraud", ManagedKind::Model, "iris")
    })
    .await;

    tasks
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}
