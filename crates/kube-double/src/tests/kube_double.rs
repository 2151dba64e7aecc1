//! The Kubernetes API double against the real `kube::Client` and
//! kube-runtime's watcher, over HTTP on 127.0.0.1: CRUD, optimistic
//! concurrency, generation, the status subresource, finalizers, watches
//! (resumed, expired, dropped), injected write failures, patches and
//! server-side apply, selectors, pagination, leases and discovery.
//! Every wait has a deadline.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::{ApiDouble, ApiDoubleConfig, ApiDoubleHandle, FailWith, WriteScope};
use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;
use switchyard_api::{Model, ModelSpec};
use switchyard_testkit::{eventually, within};

pub(super) async fn start() -> (ApiDoubleHandle, Client) {
    start_with(ApiDoubleConfig::loopback()).await
}

pub(super) async fn start_with(config: ApiDoubleConfig) -> (ApiDoubleHandle, Client) {
    let double = ApiDouble::start_with(config)
        .await
        .expect("API double starts");
    let client = double.client().expect("client builds");
    (double, client)
}

fn model(name: &str, storage_uri: &str) -> Model {
    Model::new(
        name,
        ModelSpec {
            storage_uri: storage_uri.into(),
            ..ModelSpec::default()
        },
    )
}

pub(super) fn api_code<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> u16 {
    match result {
        Err(kube::Error::Api(status)) => status.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

pub(super) fn api_reason<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> String {
    match result {
        Err(kube::Error::Api(status)) => status.reason.clone(),
        other => panic!("expected an API error, got {other:?}"),
    }
}

pub(super) fn generation<K: kube::Resource>(obj: &K) -> i64 {
    obj.meta().generation.unwrap_or_default()
}

#[tokio::test]
async fn model_crud() {
    let (double, client) = start().await;
    let models: Api<Model> = Api::namespaced(client.clone(), "ns1");
    let created = models
        .create(&PostParams::default(), &model("m1", "gs://a"))
        .await
        .expect("creates");
    assert!(created.uid().is_some());
    assert!(created.creation_timestamp().is_some());
    assert_eq!(generation(&created), 1);
    assert_eq!(created.namespace().as_deref(), Some("ns1"));
    let rv: u64 = created
        .resource_version()
        .expect("has a resourceVersion")
        .parse()
        .expect("numeric");
    assert_eq!(rv, double.resource_version());

    let again = models
        .create(&PostParams::default(), &model("m1", "gs://a"))
        .await;
    assert_eq!(api_reason(again), "AlreadyExists");

    let got = models.get("m1").await.expect("gets");
    assert_eq!(got.spec.storage_uri, "gs://a");
    let mut changed = got.clone();
    changed.spec.storage_uri = "gs://b".into();
    let replaced = models
        .replace("m1", &PostParams::default(), &changed)
        .await
        .expect("replaces");
    assert_eq!(replaced.spec.storage_uri, "gs://b");
    assert!(replaced.resource_version() > got.resource_version());

    let everywhere: Api<Model> = Api::all(client.clone());
    models
        .create(&PostParams::default(), &model("m2", "gs://c"))
        .await
        .expect("creates");
    Api::<Model>::namespaced(client.clone(), "ns2")
        .create(&PostParams::default(), &model("m3", "gs://c"))
        .await
        .expect("creates");
    let all = everywhere
        .list(&ListParams::default())
        .await
        .expect("lists");
    assert_eq!(all.items.len(), 3);
    assert_eq!(
        all.metadata.resource_version,
        Some(double.resource_version().to_string())
    );
    assert_eq!(
        models
            .list(&ListParams::default())
            .await
            .expect("lists")
            .items
            .len(),
        2
    );

    let deleted = models
        .delete("m1", &DeleteParams::default())
        .await
        .expect("deletes");
    assert!(deleted.is_left(), "answers the deleted object");
    assert_eq!(api_code(models.get("m1").await), 404);
    assert_eq!(
        api_code(models.delete("m1", &DeleteParams::default()).await),
        404
    );
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn configmap_crud_and_selectors() {
    let (double, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for (name, labels) in [
        ("plain", json!({})),
        ("ab", json!({"a": "b"})),
        ("abcd", json!({"a": "b", "c": "d"})),
        ("abce", json!({"a": "b", "c": "e"})),
    ] {
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": labels},
            "data": {"k": name},
        }))
        .expect("valid ConfigMap");
        cms.create(&PostParams::default(), &cm)
            .await
            .expect("creates");
    }
    let names = |list: kube::api::ObjectList<ConfigMap>| -> Vec<String> {
        list.items.iter().map(ResourceExt::name_any).collect()
    };
    let selected = cms
        .list(&ListParams::default().labels("a=b,c!=d"))
        .await
        .expect("lists");
    assert_eq!(names(selected), ["ab", "abce"]);
    let set_based = cms
        .list(&ListParams::default().labels("c in (d,e),a"))
        .await
        .expect("lists");
    assert_eq!(names(set_based), ["abcd", "abce"]);
    let by_name = cms
        .list(&ListParams::default().fields("metadata.name=plain"))
        .await
        .expect("lists");
    assert_eq!(names(by_name), ["plain"]);
    assert_eq!(
        api_code(cms.list(&ListParams::default().labels("a in (b")).await),
        400
    );

    // Built-ins allow unconditional updates; a stale resourceVersion is 409.
    let mut plain = cms.get("plain").await.expect("gets");
    let stale = plain.clone();
    plain.data = Some(BTreeMap::from([("k".into(), "v2".into())]));
    plain.metadata.resource_version = None;
    let updated = cms
        .replace("plain", &PostParams::default(), &plain)
        .await
        .expect("unconditional update");
    assert_eq!(
        updated
            .data
            .as_ref()
            .and_then(|d| d.get("k"))
            .map(String::as_str),
        Some("v2")
    );
    assert_eq!(
        api_reason(cms.replace("plain", &PostParams::default(), &stale).await),
        "Conflict"
    );
    // Strategic merge works on built-ins.
    let patched = cms
        .patch(
            "plain",
            &PatchParams::default(),
            &Patch::Strategic(json!({"data": {"x": "y"}})),
        )
        .await
        .expect("patches");
    assert_eq!(patched.data.map(|d| d.len()), Some(2));
    cms.delete("plain", &DeleteParams::default())
        .await
        .expect("deletes");
    assert_eq!(
        cms.list(&ListParams::default())
            .await
            .expect("lists")
            .items
            .len(),
        3
    );
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn stale_update_is_a_conflict() {
    let (double, client) = start().await;
    let models: Api<Model> = Api::namespaced(client, "ns1");
    let original = models
        .create(&PostParams::default(), &model("m", "gs://a"))
        .await
        .expect("creates");
    let mut first = original.clone();
    first.spec.storage_uri = "gs://first".into();
    models
        .replace("m", &PostParams::default(), &first)
        .await
        .expect("first writer wins");
    let mut second = original.clone();
    second.spec.storage_uri = "gs://second".into();
    let lost = models.replace("m", &PostParams::default(), &second).await;
    match lost {
        Err(kube::Error::Api(status)) => {
            assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
            assert!(status.message.contains("the object has been modified"));
        }
        other => panic!("expected 409, got {other:?}"),
    }
    // A custom resource must name the version it updates.
    let mut unversioned = models.get("m").await.expect("gets");
    unversioned.metadata.resource_version = None;
    assert_eq!(
        api_code(
            models
                .replace("m", &PostParams::default(), &unversioned)
                .await
        ),
        422
    );
    // A merge patch carrying a stale resourceVersion is refused too.
    let stale_patch = Patch::Merge(json!({
        "metadata": {"resourceVersion": original.resource_version()},
        "spec": {"storageUri": "gs://third"},
    }));
    assert_eq!(
        api_code(
            models
                .patch("m", &PatchParams::default(), &stale_patch)
                .await
        ),
        409
    );
    assert_eq!(
        models.get("m").await.expect("gets").spec.storage_uri,
        "gs://first"
    );
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn generation_bumps_only_on_spec_change() {
    let (double, client) = start().await;
    let models: Api<Model> = Api::namespaced(client, "ns1");
    models
        .create(&PostParams::default(), &model("m", "gs://a"))
        .await
        .expect("creates");
    let labelled = models
        .patch(
            "m",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"labels": {"team": "a"}, "annotations": {"x": "y"}}}),
            ),
        )
        .await
        .expect("patches");
    assert_eq!(generation(&labelled), 1);
    let status = models
        .patch_status(
            "m",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 2}})),
        )
        .await
        .expect("patches status");
    assert_eq!(generation(&status), 1);
    let respecced = models
        .patch(
            "m",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .expect("patches spec");
    assert_eq!(generation(&respecced), 2);

    // A write that changes nothing is no write: same resourceVersion.
    let unchanged = models
        .patch(
            "m",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .expect("patches");
    assert_eq!(unchanged.resource_version(), respecced.resource_version());
    assert_eq!(generation(&unchanged), 2);

    // JSON patch, with a failing test operation refused as a whole.
    let json_patched = models
        .patch(
            "m",
            &PatchParams::default(),
            &Patch::Json::<()>(
                serde_json::from_value(json!([
                    {"op": "test", "path": "/spec/replicas", "value": 3},
                    {"op": "replace", "path": "/spec/replicas", "value": 4},
                ]))
                .expect("valid JSON patch"),
            ),
        )
        .await
        .expect("JSON patch applies");
    assert_eq!(json_patched.spec.replicas, Some(4));
    assert_eq!(generation(&json_patched), 3);
    let failed = models
        .patch(
            "m",
            &PatchParams::default(),
            &Patch::Json::<()>(
                serde_json::from_value(
                    json!([{"op": "test", "path": "/spec/replicas", "value": 9}]),
                )
                .expect("valid JSON patch"),
            ),
        )
        .await;
    assert_eq!(api_code(failed), 422);
    // Custom resources refuse strategic merge patches, like the real server.
    let strategic = models
        .patch(
            "m",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"replicas": 5}})),
        )
        .await;
    assert_eq!(api_code(strategic), 415);
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn status_subresource_semantics() {
    let (double, client) = start().await;
    let models: Api<Model> = Api::namespaced(client, "ns1");
    let mut with_status = model("m", "gs://a");
    with_status.status = Some(serde_json::from_value(json!({"replicas": 9})).expect("status"));
    let created = models
        .create(&PostParams::default(), &with_status)
        .await
        .expect("creates");
    assert!(created.status.is_none(), "create ignores status");

    // Main-resource writes ignore .status.
    let mut main = created.clone();
    main.status = Some(serde_json::from_value(json!({"replicas": 5})).expect("status"));
    main.spec.storage_uri = "gs://b".into();
    let replaced = models
        .replace("m", &PostParams::default(), &main)
        .await
        .expect("replaces");
    assert!(replaced.status.is_none());
    assert_eq!(generation(&replaced), 2);

    // Status writes change only .status, never the generation.
    let mut status_write = replaced.clone();
    status_write.status = Some(
        serde_json::from_value(json!({"replicas": 1, "availableReplicas": 1})).expect("status"),
    );
    status_write.spec.storage_uri = "gs://ignored".into();
    status_write.metadata.labels = Some(BTreeMap::from([("ignored".into(), "yes".into())]));
    let after = models
        .replace_status("m", &PostParams::default(), &status_write)
        .await
        .expect("replaces status");
    assert_eq!(after.status.as_ref().map(|s| s.replicas), Some(1));
    assert_eq!(after.spec.storage_uri, "gs://b");
    assert!(after.metadata.labels.is_none());
    assert_eq!(generation(&after), 2);
    // ... with optimistic concurrency.
    let stale = models
        .replace_status("m", &PostParams::default(), &status_write)
        .await;
    assert_eq!(api_code(stale), 409);

    // Merge patch and server-side apply of status.
    let merged = models
        .patch_status(
            "m",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"modelgwReady": "True"}})),
        )
        .await
        .expect("merge-patches status");
    let status = merged.status.clone().expect("has status");
    assert_eq!(
        (status.replicas, status.modelgw_ready.as_str()),
        (1, "True")
    );
    let applied = models
        .patch_status(
            "m",
            &PatchParams::apply("switchyard").force(),
            &Patch::Apply(json!({
                "apiVersion": "mlops.seldon.io/v1alpha1",
                "kind": "Model",
                "metadata": {"name": "m"},
                "status": {"observedGeneration": 2, "replicas": 3},
            })),
        )
        .await
        .expect("applies status");
    let status = applied.status.clone().expect("has status");
    assert_eq!(status.duck.observed_generation, Some(2));
    assert_eq!(
        (status.replicas, status.modelgw_ready.as_str()),
        (3, "True")
    );
    assert_eq!(generation(&applied), 2);
    assert_eq!(
        double.stats().writes_by_field_manager.get("switchyard"),
        Some(&1)
    );
    // Apply needs a field manager.
    let unmanaged = models
        .patch_status(
            "m",
            &PatchParams::default(),
            &Patch::Apply(json!({"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model", "metadata": {"name": "m"}})),
        )
        .await;
    assert_eq!(api_code(unmanaged), 422);

    // Status of a missing object is 404; configmaps have no status.
    assert_eq!(api_code(models.get_status("nope").await), 404);
    let cms: Api<ConfigMap> = Api::namespaced(double.client().expect("client"), "ns1");
    assert_eq!(api_code(cms.get_status("x").await), 404);
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn server_side_apply_creates_and_merges() {
    let (double, client) = start().await;
    let models: Api<Model> = Api::namespaced(client, "ns1");
    let params = PatchParams::apply("switchyard");
    let first = models
        .patch(
            "m",
            &params,
            &Patch::Apply(json!({
                "apiVersion": "mlops.seldon.io/v1alpha1",
                "kind": "Model",
                "metadata": {"name": "m", "labels": {"a": "1"}},
                "spec": {"storageUri": "gs://a"},
            })),
        )
        .await
        .expect("apply creates");
    assert_eq!(generation(&first), 1);
    // A label set by someone else stays; the applier's own label `a`,
    // no longer applied, goes.
    models
        .patch(
            "m",
            &PatchParams {
                field_manager: Some("user".into()),
                ..PatchParams::default()
            },
            &Patch::Merge(json!({"metadata": {"labels": {"team": "x"}}})),
        )
        .await
        .expect("labels");
    let second = models
        .patch(
            "m",
            &params,
            &Patch::Apply(json!({
                "apiVersion": "mlops.seldon.io/v1alpha1",
                "kind": "Model",
                "metadata": {"name": "m", "labels": {"b": "2"}},
                "spec": {"storageUri": "gs://a", "replicas": 2},
            })),
        )
        .await
        .expect("apply merges");
    assert_eq!(second.spec.replicas, Some(2));
    let labels: Vec<&String> = second.labels().keys().collect();
    assert_eq!(labels, ["b", "team"]);
    assert_eq!(generation(&second), 2);
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let (double, client) = start().await;
    let models: Api<Model> = Api::namespaced(client, "ns1");
    let mut held = model("m", "gs://a");
    held.metadata.finalizers = Some(vec!["mlops.seldon.io/finalizer".into()]);
    let created = models
        .create(&PostParams::default(), &held)
        .await
        .expect("creates");
    let from = created.resource_version().expect("has a resourceVersion");
    let mut events = models
        .watch(&WatchParams::default(), &from)
        .await
        .expect("watches")
        .boxed();

    let deleting = models
        .delete("m", &DeleteParams::default())
        .await
        .expect("delete accepted");
    let deleting = deleting.left().expect("object still there");
    assert!(deleting.metadata.deletion_timestamp.is_some());
    assert_eq!(generation(&deleting), 2);
    let still = models.get("m").await.expect("still there");
    assert!(still.metadata.deletion_timestamp.is_some());
    // Deleting again changes nothing; adding a finalizer is refused.
    let again = models
        .delete("m", &DeleteParams::default())
        .await
        .expect("accepted");
    assert_eq!(
        again.left().and_then(|m| m.resource_version()),
        still.resource_version()
    );
    let add =
        Patch::Merge(json!({"metadata": {"finalizers": ["mlops.seldon.io/finalizer", "other"]}}));
    assert_eq!(
        api_code(models.patch("m", &PatchParams::default(), &add).await),
        422
    );

    let remove = Patch::Json::<()>(
        serde_json::from_value(json!([{"op": "remove", "path": "/metadata/finalizers"}]))
            .expect("valid JSON patch"),
    );
    models
        .patch("m", &PatchParams::default(), &remove)
        .await
        .expect("finalizer removed");
    assert_eq!(api_code(models.get("m").await), 404);

    let mut seen = Vec::new();
    while seen.len() < 2 {
        match within("watch events", events.try_next()).await {
            Ok(Some(WatchEvent::Modified(m))) => seen.push(("MODIFIED", m)),
            Ok(Some(WatchEvent::Deleted(m))) => seen.push(("DELETED", m)),
            Ok(Some(WatchEvent::Bookmark(_))) => {}
            other => panic!("unexpected watch item: {other:?}"),
        }
    }
    assert_eq!(seen[0].0, "MODIFIED");
    assert!(seen[0].1.metadata.deletion_timestamp.is_some());
    assert_eq!(seen[1].0, "DELETED");
    assert!(seen[1].1.finalizers().is_empty());
    double.shutdown().await.expect("stops");
}

/// Runs kube-runtime's watcher (with its default config) into a store.
fn reflect(api: Api<Model>) -> (reflector::Store<Model>, tokio::task::JoinHandle<()>) {
    let (reader, writer) = reflector::store();
    let stream = reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .touched_objects();
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while stream.next().await.is_some() {}
    });
    (reader, task)
}

fn storage_of(store: &reflector::Store<Model>, ns: &str, name: &str) -> Option<String> {
    store
        .get(&reflector::ObjectRef::new(name).within(ns))
        .map(|m| m.spec.storage_uri.clone())
}

#[tokio::test]
async fn watcher_sees_added_modified_deleted() {
    let (double, client) = start().await;
    let all: Api<Model> = Api::all(client.clone());
    // The watcher only makes requests while polled: drive it in a task.
    let (tx, mut events) = tokio::sync::mpsc::channel(64);
    let task = tokio::spawn(async move {
        let mut stream = watcher(all, watcher::Config::default()).boxed();
        while let Some(item) = stream.next().await {
            if tx.send(item).await.is_err() {
                break;
            }
        }
    });
    loop {
        match within("initial list", events.recv()).await {
            Some(Ok(watcher::Event::InitDone)) => break,
            Some(Ok(_)) => {}
            other => panic!("unexpected watcher item: {other:?}"),
        }
    }
    eventually("the watch is open", || async { double.open_watches() == 1 }).await;
    let ns1: Api<Model> = Api::namespaced(client.clone(), "ns1");
    let ns2: Api<Model> = Api::namespaced(client.clone(), "ns2");
    ns1.create(&PostParams::default(), &model("a", "gs://1"))
        .await
        .expect("creates");
    ns2.create(&PostParams::default(), &model("b", "gs://1"))
        .await
        .expect("creates");
    ns1.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"storageUri": "gs://2"}})),
    )
    .await
    .expect("patches");
    ns2.delete("b", &DeleteParams::default())
        .await
        .expect("deletes");

    let mut seen = Vec::new();
    while seen.len() < 4 {
        match within("watcher events", events.recv()).await {
            Some(Ok(watcher::Event::Apply(m))) => {
                seen.push(format!(
                    "apply {}/{} {}",
                    m.namespace().unwrap_or_default(),
                    m.name_any(),
                    m.spec.storage_uri
                ));
            }
            Some(Ok(watcher::Event::Delete(m))) => {
                seen.push(format!(
                    "delete {}/{}",
                    m.namespace().unwrap_or_default(),
                    m.name_any()
                ));
            }
            other => panic!("unexpected watcher item: {other:?}"),
        }
    }
    assert_eq!(
        seen,
        [
            "apply ns1/a gs://1",
            "apply ns2/b gs://1",
            "apply ns1/a gs://2",
            "delete ns2/b",
        ]
    );
    task.abort();
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn watch_answered_with_410_relists_and_delivers_the_final_state() {
    let (double, client) = start().await;
    let models: Api<Model> = Api::namespaced(client.clone(), "ns1");
    models
        .create(&PostParams::default(), &model("m", "gs://1"))
        .await
        .expect("creates");
    let (store, task) = reflect(Api::all(client.clone()));
    within("first sync", store.wait_until_ready())
        .await
        .expect("store ready");
    eventually("the watch is open", || async { double.open_watches() == 1 }).await;
    let lists_before = double.stats().requests("list", "models");

    // The next watch request gets 410; end the current one so there is one.
    double.expire_next_watches(1);
    double.drop_watches();
    models
        .patch(
            "m",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"storageUri": "gs://2"}})),
        )
        .await
        .expect("patches");
    models
        .create(&PostParams::default(), &model("n", "gs://n"))
        .await
        .expect("creates");

    eventually("the store has the final state", || async {
        storage_of(&store, "ns1", "m").as_deref() == Some("gs://2")
            && storage_of(&store, "ns1", "n").is_some()
    })
    .await;
    let stats = double.stats();
    assert_eq!(stats.injected_watch_expiries, 1);
    assert!(
        stats.requests("list", "models") > lists_before,
        "410 made the watcher list again"
    );
    task.abort();
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn dropped_watch_resumes_without_losing_an_update() {
    let (double, client) = start().await;
    let models: Api<Model> = Api::namespaced(client.clone(), "ns1");
    models
        .create(&PostParams::default(), &model("m", "gs://1"))
        .await
        .expect("creates");
    let (store, task) = reflect(Api::all(client.clone()));
    within("first sync", store.wait_until_ready())
        .await
        .expect("store ready");
    eventually("the watch is open", || async { double.open_watches() == 1 }).await;

    assert_eq!(double.drop_watches(), 1);
    // Written while no watch is open: the resumed watch must replay it.
    models
        .patch(
            "m",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"storageUri": "gs://2"}})),
        )
        .await
        .expect("patches");
    models
        .delete("m", &DeleteParams::default())
        .await
        .expect("deletes");
    models
        .create(&PostParams::default(), &model("m2", "gs://3"))
        .await
        .expect("creates");

    eventually("the store caught up", || async {
        storage_of(&store, "ns1", "m").is_none()
            && storage_of(&store, "ns1", "m2").as_deref() == Some("gs://3")
    })
    .await;
    let stats = double.stats();
    assert_eq!(
        stats.requests("list", "models"),
        1,
        "resumed by watch, no relist"
    );
    assert!(stats.requests("watch", "models") >= 2);
    assert_eq!(stats.dropped_watches, 1);
    task.abort();
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn watch_from_a_compacted_resource_version_is_gone() {
    let mut config = ApiDoubleConfig::loopback();
    config.history_limit = 4;
    let (double, client) = start_with(config).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let first = cms
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: ObjectMeta {
                    name: Some("c".into()),
                    ..ObjectMeta::default()
                },
                ..ConfigMap::default()
            },
        )
        .await
        .expect("creates");
    let old = first.resource_version().expect("has a resourceVersion");
    for i in 0..5 {
        cms.patch(
            "c",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"i": i.to_string()}})),
        )
        .await
        .expect("patches");
    }
    let mut stream = cms
        .watch(&WatchParams::default(), &old)
        .await
        .expect("watch answered")
        .boxed();
    match within("410 event", stream.try_next()).await {
        Ok(Some(WatchEvent::Error(status))) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
        }
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    // Recent enough resourceVersions still replay.
    let recent = double.resource_version() - 2;
    let mut replay = cms
        .watch(&WatchParams::default(), &recent.to_string())
        .await
        .expect("watches")
        .boxed();
    match within("replayed event", replay.try_next()).await {
        Ok(Some(WatchEvent::Modified(cm))) => {
            assert_eq!(cm.resource_version(), Some((recent + 1).to_string()));
        }
        other => panic!("expected a replayed MODIFIED, got {other:?}"),
    }
    assert_eq!(double.stats().expired_watches, 1);
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn injected_write_failures() {
    let (double, client) = start().await;
    let models: Api<Model> = Api::namespaced(client.clone(), "ns1");
    models
        .create(&PostParams::default(), &model("m", "gs://1"))
        .await
        .expect("creates");
    let status_patch = Patch::Merge(json!({"status": {"replicas": 1}}));

    double.fail_next_writes(
        2,
        FailWith::Conflict,
        WriteScope::subresource("models", "status"),
    );
    // Main-resource writes are outside that scope.
    models
        .patch(
            "m",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await
        .expect("main resource unaffected");
    for _ in 0..2 {
        let refused = models
            .patch_status("m", &PatchParams::default(), &status_patch)
            .await;
        assert_eq!(api_reason(refused), "Conflict");
    }
    let written = models
        .patch_status("m", &PatchParams::default(), &status_patch)
        .await
        .expect("third status write passes");
    assert_eq!(written.status.map(|s| s.replicas), Some(1));

    double.fail_next_writes(1, FailWith::InternalError, WriteScope::Any);
    let failed = models
        .create(&PostParams::default(), &model("n", "gs://2"))
        .await;
    assert_eq!(api_code(failed), 500);
    models
        .create(&PostParams::default(), &model("n", "gs://2"))
        .await
        .expect("next create passes");

    double.fail_next_writes(
        5,
        FailWith::InternalError,
        WriteScope::resource("configmaps"),
    );
    double.clear_faults();
    models
        .delete("n", &DeleteParams::default())
        .await
        .expect("faults cleared");
    assert_eq!(double.stats().injected_write_failures, 3);
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn writes_are_counted_by_user_agent() {
    let (double, _client) = start().await;
    let leader: Api<ConfigMap> = Api::namespaced(
        double.client_with_user_agent("replica-a").expect("client"),
        "ns1",
    );
    let standby: Api<ConfigMap> = Api::namespaced(
        double.client_with_user_agent("replica-b").expect("client"),
        "ns1",
    );
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("c".into()),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    };
    leader
        .create(&PostParams::default(), &cm)
        .await
        .expect("creates");
    leader
        .patch(
            "c",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"a": "1"}})),
        )
        .await
        .expect("patches");
    standby.get("c").await.expect("reads");
    standby.list(&ListParams::default()).await.expect("lists");
    let stats = double.stats();
    assert_eq!(stats.writes_by("replica-a"), 2);
    assert_eq!(stats.writes_by("replica-b"), 0);
    assert_eq!(stats.writes(), 2);
    assert_eq!(stats.requests("get", "configmaps"), 1);
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn lease_create_and_update() {
    let (double, client) = start().await;
    let leases: Api<Lease> = Api::namespaced(client, "switchyard-system");
    let now = MicroTime(k8s_openapi::jiff::Timestamp::now());
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some("switchyard-leader".into()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("replica-a".into()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(now.clone()),
            renew_time: Some(now.clone()),
            ..LeaseSpec::default()
        }),
    };
    let created = leases
        .create(&PostParams::default(), &lease)
        .await
        .expect("creates");
    assert_eq!(
        api_reason(leases.create(&PostParams::default(), &lease).await),
        "AlreadyExists"
    );
    // Two replicas race to take over from the same observed version.
    let mut by_b = created.clone();
    let mut by_c = created.clone();
    if let Some(spec) = by_b.spec.as_mut() {
        spec.holder_identity = Some("replica-b".into());
        spec.lease_transitions = Some(1);
    }
    if let Some(spec) = by_c.spec.as_mut() {
        spec.holder_identity = Some("replica-c".into());
        spec.lease_transitions = Some(1);
    }
    let taken = leases
        .replace("switchyard-leader", &PostParams::default(), &by_b)
        .await
        .expect("first takes the lease");
    assert_eq!(
        api_code(
            leases
                .replace("switchyard-leader", &PostParams::default(), &by_c)
                .await
        ),
        409
    );
    assert_eq!(
        taken.spec.as_ref().and_then(|s| s.lease_transitions),
        Some(1)
    );
    let current = leases.get("switchyard-leader").await.expect("gets");
    assert_eq!(
        current.spec.and_then(|s| s.holder_identity).as_deref(),
        Some("replica-b")
    );
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn pagination_is_consistent() {
    let (double, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "ns1");
    for i in 0..7 {
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some(format!("c{i}")),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        };
        cms.create(&PostParams::default(), &cm)
            .await
            .expect("creates");
    }
    let first = cms
        .list(&ListParams::default().limit(3))
        .await
        .expect("lists");
    assert_eq!(first.items.len(), 3);
    let token = first.metadata.continue_.clone().expect("more pages");
    // Changes after the first page do not leak into later pages.
    cms.delete("c5", &DeleteParams::default())
        .await
        .expect("deletes");
    let mut all: Vec<String> = first.items.iter().map(ResourceExt::name_any).collect();
    let mut next = Some(token);
    while let Some(token) = next {
        let page = cms
            .list(&ListParams::default().limit(3).continue_token(&token))
            .await
            .expect("lists");
        assert_eq!(
            page.metadata.resource_version,
            first.metadata.resource_version
        );
        all.extend(page.items.iter().map(ResourceExt::name_any));
        next = page.metadata.continue_.filter(|t| !t.is_empty());
    }
    assert_eq!(all, ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);

    // kube-runtime's watcher pages through with a small page size too.
    let events: Vec<_> = watcher(cms.clone(), watcher::Config::default().page_size(2))
        .take_while(|e| std::future::ready(!matches!(e, Ok(watcher::Event::InitDone))))
        .try_collect()
        .await
        .expect("initial list");
    let listed = events
        .iter()
        .filter(|e| matches!(e, watcher::Event::InitApply(_)))
        .count();
    assert_eq!(listed, 6);
    assert!(double.stats().requests("list", "configmaps") >= 3 + 3);
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn discovery_finds_every_kind() {
    let (double, client) = start().await;
    let discovery = kube::discovery::Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery runs");
    let (models, caps) = discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .find(|(r, _)| r.kind == "Model")
        .expect("Model discovered");
    assert_eq!(models.plural, "models");
    assert_eq!(models.api_version, "mlops.seldon.io/v1alpha1");
    assert!(caps.subresources.iter().any(|(r, _)| r.plural == "status"));
    for kind in [
        "Namespace",
        "ConfigMap",
        "Secret",
        "Service",
        "ServiceAccount",
        "StatefulSet",
        "Deployment",
        "Role",
        "RoleBinding",
        "Lease",
        "Event",
        "SeldonRuntime",
        "Pipeline",
        "Experiment",
        "Server",
        "ServerConfig",
        "SeldonConfig",
    ] {
        assert!(
            discovery
                .groups()
                .flat_map(|g| g.recommended_resources())
                .any(|(r, _)| r.kind == kind),
            "{kind} discovered"
        );
    }
    let aggregated = kube::discovery::Discovery::new(client.clone())
        .run_aggregated()
        .await
        .expect("aggregated discovery runs");
    assert!(aggregated.has_group("mlops.seldon.io"));
    let version = client.apiserver_version().await.expect("version");
    assert_eq!(version.major, "1");

    // A dynamic API from discovery works against the same store.
    let dynamic: Api<kube::api::DynamicObject> =
        Api::namespaced_with(client.clone(), "ns1", &models);
    Api::<Model>::namespaced(client.clone(), "ns1")
        .create(&PostParams::default(), &model("m", "gs://a"))
        .await
        .expect("creates");
    assert_eq!(
        dynamic
            .list(&ListParams::default())
            .await
            .expect("lists")
            .items
            .len(),
        1
    );

    // Namespaces are cluster-scoped and get a phase; writing in one
    // creates it, as if it had been created first.
    let namespaces: Api<Namespace> = Api::all(client);
    let implicit = namespaces.get("ns1").await.expect("ns1 exists");
    assert_eq!(
        implicit.status.and_then(|s| s.phase).as_deref(),
        Some("Active")
    );
    assert_eq!(api_code(namespaces.get("ns2").await), 404);
    let ns = namespaces
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: ObjectMeta {
                    name: Some("ns2".into()),
                    ..ObjectMeta::default()
                },
                ..Namespace::default()
            },
        )
        .await
        .expect("creates a namespace");
    assert_eq!(ns.status.and_then(|s| s.phase).as_deref(), Some("Active"));
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn bad_requests_get_status_objects() {
    let (double, client) = start().await;
    let raw = |method: &str, path: &str, content_type: &str, body: &str| {
        hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .body(body.as_bytes().to_vec())
            .expect("valid request")
    };
    let garbage = client
        .request::<serde_json::Value>(raw(
            "POST",
            "/api/v1/namespaces/ns1/configmaps",
            "application/json",
            "{not json",
        ))
        .await;
    assert_eq!(api_code(garbage), 400);
    let unknown = client
        .request::<serde_json::Value>(raw(
            "GET",
            "/apis/nope.io/v1/widgets",
            "application/json",
            "",
        ))
        .await;
    assert_eq!(api_code(unknown), 404);
    let not_allowed = client
        .request::<serde_json::Value>(raw(
            "PUT",
            "/api/v1/namespaces/ns1/configmaps",
            "application/json",
            "{}",
        ))
        .await;
    assert_eq!(api_code(not_allowed), 405);
    let bad_rv = client
        .request::<serde_json::Value>(raw(
            "GET",
            "/api/v1/configmaps?resourceVersion=abc&resourceVersionMatch=Exact",
            "application/json",
            "",
        ))
        .await;
    assert_eq!(api_code(bad_rv), 400);
    let wrong_kind = client
        .request::<serde_json::Value>(raw(
            "POST",
            "/api/v1/namespaces/ns1/configmaps",
            "application/json",
            r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}"#,
        ))
        .await;
    assert_eq!(api_code(wrong_kind), 400);
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn latency_is_added_to_every_request() {
    let (double, client) = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "ns1");
    double.set_latency(Duration::from_millis(150));
    let started = tokio::time::Instant::now();
    cms.list(&ListParams::default()).await.expect("lists");
    assert!(started.elapsed() >= Duration::from_millis(150));
    double.clear_faults();
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn scale_subresource_and_delete_collection() {
    let (double, client) = start().await;
    let models: Api<Model> = Api::namespaced(client.clone(), "ns1");
    let mut m = model("m", "gs://a");
    m.spec.replicas = Some(1);
    models
        .create(&PostParams::default(), &m)
        .await
        .expect("creates");
    let scale = models.get_scale("m").await.expect("gets scale");
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(1));
    let scaled = models
        .patch_scale(
            "m",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .expect("patches scale");
    assert_eq!(scaled.spec.and_then(|s| s.replicas), Some(4));
    let after = models.get("m").await.expect("gets");
    assert_eq!(after.spec.replicas, Some(4));
    assert_eq!(generation(&after), 2, "scaling is a spec change");

    for name in ["x1", "x2"] {
        let mut labelled = model(name, "gs://x");
        labelled.metadata.labels = Some(BTreeMap::from([("batch".into(), "x".into())]));
        models
            .create(&PostParams::default(), &labelled)
            .await
            .expect("creates");
    }
    let deleted = models
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("batch=x"),
        )
        .await
        .expect("deletes the collection");
    assert_eq!(deleted.left().map(|l| l.items.len()), Some(2));
    let left: Vec<String> = models
        .list(&ListParams::default())
        .await
        .expect("lists")
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert_eq!(left, ["m"]);
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn metadata_only_and_streaming_lists() {
    let (double, client) = start().await;
    let models: Api<Model> = Api::namespaced(client.clone(), "ns1");
    models
        .create(&PostParams::default(), &model("m", "gs://a"))
        .await
        .expect("creates");
    let meta = models.get_metadata("m").await.expect("gets metadata");
    assert_eq!(meta.metadata.name.as_deref(), Some("m"));
    let metas = models
        .list_metadata(&ListParams::default())
        .await
        .expect("lists metadata");
    assert_eq!(metas.items.len(), 1);

    let streaming: Vec<_> = watcher(models.clone(), watcher::Config::default().streaming_lists())
        .take_while(|e| std::future::ready(!matches!(e, Ok(watcher::Event::InitDone))))
        .try_collect()
        .await
        .expect("streaming list");
    assert!(
        streaming
            .iter()
            .any(|e| matches!(e, watcher::Event::InitApply(m) if m.name_any() == "m"))
    );

    let metadata_only: Api<kube::core::PartialObjectMeta<Model>> = Api::namespaced(client, "ns1");
    let metadata_events: Vec<_> = watcher(metadata_only, watcher::Config::default())
        .take_while(|e| std::future::ready(!matches!(e, Ok(watcher::Event::InitDone))))
        .try_collect()
        .await
        .expect("metadata list");
    assert!(metadata_events.iter().any(
        |e| matches!(e, watcher::Event::InitApply(m) if m.metadata.name.as_deref() == Some("m"))
    ));
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn namespaces_can_be_required() {
    let mut config = ApiDoubleConfig::loopback();
    config.require_namespaces = true;
    let (double, client) = start_with(config).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team");
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("c".into()),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    };
    assert_eq!(api_code(cms.create(&PostParams::default(), &cm).await), 404);
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: ObjectMeta {
                    name: Some("team".into()),
                    finalizers: Some(vec!["example.com/hold".into()]),
                    ..ObjectMeta::default()
                },
                ..Namespace::default()
            },
        )
        .await
        .expect("creates the namespace");
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("creates");
    namespaces
        .delete("team", &DeleteParams::default())
        .await
        .expect("namespace deletion starts");
    let mut second = cm.clone();
    second.metadata.name = Some("d".into());
    assert_eq!(
        api_code(cms.create(&PostParams::default(), &second).await),
        403
    );
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn watches_get_bookmarks_and_end_at_their_timeout() {
    let mut config = ApiDoubleConfig::loopback();
    config.bookmark_interval = Duration::from_millis(50);
    let (double, client) = start_with(config).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "ns1");
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("c".into()),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    };
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("creates");
    let from = double.resource_version().to_string();
    let mut stream = cms
        .watch(&WatchParams::default().timeout(1), &from)
        .await
        .expect("watches")
        .boxed();
    match within("a bookmark", stream.try_next()).await {
        Ok(Some(WatchEvent::Bookmark(bookmark))) => {
            let rv: u64 = bookmark.metadata.resource_version.parse().expect("numeric");
            assert_eq!(rv, double.resource_version());
        }
        other => panic!("expected a bookmark, got {other:?}"),
    }
    // After timeoutSeconds the server ends the stream cleanly.
    loop {
        match within("the end of the watch", stream.try_next()).await {
            Ok(Some(WatchEvent::Bookmark(_))) => {}
            Ok(None) => break,
            other => panic!("unexpected watch item: {other:?}"),
        }
    }
    double.shutdown().await.expect("stops");
}
