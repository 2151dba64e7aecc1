//! Server-side apply as the operator uses it, through the real
//! `kube::Client`: create, no-op re-apply (no resourceVersion, no event,
//! counted as a no-op), `managedFields` per manager, drift repaired, other
//! managers' fields kept, conflicts without `force`, ownership moved with
//! it, fields no longer applied removed, lists merged by key.

use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, WatchEvent, WatchParams};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use switchyard_testkit::within;

use super::kube_double::{api_code, generation, start};
use crate::WriteOutcome;

const MANAGER: &str = "switchyard";

fn apply() -> PatchParams {
    PatchParams::apply(MANAGER).force()
}

fn managed_by(manager: &str) -> PatchParams {
    PatchParams {
        field_manager: Some(manager.into()),
        ..PatchParams::default()
    }
}

/// (manager, operation, subresource) of each managedFields entry.
fn managers<K: Resource>(obj: &K) -> Vec<(String, String, String)> {
    obj.meta()
        .managed_fields
        .iter()
        .flatten()
        .map(|e| {
            (
                e.manager.clone().unwrap_or_default(),
                e.operation.clone().unwrap_or_default(),
                e.subresource.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn fields_of<K: Resource>(obj: &K, manager: &str, operation: &str) -> Value {
    obj.meta()
        .managed_fields
        .iter()
        .flatten()
        .find(|e| {
            e.manager.as_deref() == Some(manager) && e.operation.as_deref() == Some(operation)
        })
        .and_then(|e| e.fields_v1.as_ref())
        .map(|f| f.0.clone())
        .unwrap_or(Value::Null)
}

/// The StatefulSet the operator would apply (no status, no defaults).
fn statefulset(image: &str, replicas: Option<i32>) -> Value {
    let mut sts = json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "mlserver", "labels": {"app": "mlserver"}},
        "spec": {
            "serviceName": "mlserver",
            "selector": {"matchLabels": {"app": "mlserver"}},
            "template": {
                "metadata": {"labels": {"app": "mlserver"}},
                "spec": {"containers": [{
                    "name": "agent",
                    "image": image,
                    "ports": [{"name": "http", "containerPort": 9000}],
                    "env": [{"name": "A", "value": "1"}],
                }]},
            },
        },
    });
    if let Some(replicas) = replicas {
        sts["spec"]["replicas"] = json!(replicas);
    }
    sts
}

fn image_of(sts: &StatefulSet) -> Vec<(String, Option<String>)> {
    sts.spec
        .template
        .spec
        .as_ref()
        .map(|p| {
            p.containers
                .iter()
                .map(|c| (c.name.clone(), c.image.clone()))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn apply_creates_and_the_same_intent_again_is_no_write() {
    let (double, client) = start().await;
    let api: Api<StatefulSet> = Api::namespaced(client, "ns1");
    let created = api
        .patch(
            "mlserver",
            &apply(),
            &Patch::Apply(statefulset("a:1", Some(1))),
        )
        .await
        .expect("apply creates");
    assert_eq!(generation(&created), 1);
    assert_eq!(
        managers(&created),
        [(MANAGER.into(), "Apply".into(), String::new())]
    );
    let entry = &created.metadata.managed_fields.as_ref().expect("managed")[0];
    assert_eq!(entry.api_version.as_deref(), Some("apps/v1"));
    assert_eq!(entry.fields_type.as_deref(), Some("FieldsV1"));
    assert!(entry.time.is_some());
    let fields = fields_of(&created, MANAGER, "Apply");
    let agent = &fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"agent\"}"];
    assert_eq!(agent["."], json!({}));
    assert_eq!(agent["f:image"], json!({}));
    assert_eq!(
        agent["f:ports"]["k:{\"containerPort\":9000,\"protocol\":\"TCP\"}"]["f:name"],
        json!({})
    );
    assert_eq!(agent["f:env"]["k:{\"name\":\"A\"}"]["f:value"], json!({}));
    assert_eq!(
        fields["f:spec"]["f:selector"],
        json!({}),
        "selectors are atomic"
    );
    assert_eq!(fields["f:metadata"]["f:labels"]["f:app"], json!({}));
    assert!(fields["f:metadata"].get("f:name").is_none());

    let rv = created.resource_version().expect("has a resourceVersion");
    let mut events = api
        .watch(&WatchParams::default().timeout(1), &rv)
        .await
        .expect("watches")
        .boxed();
    let again = api
        .patch(
            "mlserver",
            &apply(),
            &Patch::Apply(statefulset("a:1", Some(1))),
        )
        .await
        .expect("re-applies");
    assert_eq!(again.resource_version(), Some(rv.clone()));
    assert_eq!(
        again.metadata.managed_fields,
        created.metadata.managed_fields
    );
    assert_eq!(double.resource_version().to_string(), rv);
    while let Some(event) = within("the watch to end", events.try_next())
        .await
        .expect("watch item")
    {
        assert!(
            matches!(event, WatchEvent::Bookmark(_)),
            "a no-op apply sent {event:?}"
        );
    }

    let stats = double.stats();
    assert_eq!(
        stats.applies("statefulsets", MANAGER),
        WriteOutcome {
            changed: 1,
            unchanged: 1
        }
    );
    assert_eq!(stats.changes_to("statefulsets", "ns1", "mlserver"), 1);
    assert_eq!(stats.changes(), 1);
    assert_eq!(stats.no_ops(), 1);
    assert_eq!(stats.writes(), 2, "requests still count both");

    // A dry run answers what would be, stores nothing, is no outcome.
    let dry = api
        .patch(
            "mlserver",
            &apply().dry_run(),
            &Patch::Apply(statefulset("b:1", Some(1))),
        )
        .await
        .expect("dry run");
    assert_eq!(
        image_of(&dry),
        [("agent".to_string(), Some("b:1".to_string()))]
    );
    let stored = api.get("mlserver").await.expect("gets");
    assert_eq!(
        image_of(&stored),
        [("agent".to_string(), Some("a:1".to_string()))]
    );
    assert_eq!(double.stats().changes(), 1);
    assert_eq!(double.stats().no_ops(), 1);
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn apply_repairs_drift_and_leaves_other_managers_fields() {
    let (double, client) = start().await;
    let api: Api<StatefulSet> = Api::namespaced(client, "ns1");
    api.patch(
        "mlserver",
        &apply(),
        &Patch::Apply(statefulset("a:1", Some(1))),
    )
    .await
    .expect("apply creates");
    // An autoscaler scales, a user annotates, someone edits the image.
    api.patch_scale(
        "mlserver",
        &managed_by("hpa"),
        &Patch::Merge(json!({"spec": {"replicas": 3}})),
    )
    .await
    .expect("scales");
    api.patch(
        "mlserver",
        &managed_by("kubectl-annotate"),
        &Patch::Merge(json!({"metadata": {"annotations": {"note": "mine"}}})),
    )
    .await
    .expect("annotates");
    let edited = api
        .patch(
            "mlserver",
            &managed_by("kubectl-edit"),
            &Patch::Json::<()>(
                serde_json::from_value(json!([{
                    "op": "replace",
                    "path": "/spec/template/spec/containers/0/image",
                    "value": "b:2",
                }]))
                .expect("valid JSON patch"),
            ),
        )
        .await
        .expect("edits");
    assert_eq!(
        managers(&edited),
        [
            (MANAGER.into(), "Apply".into(), String::new()),
            ("hpa".into(), "Update".into(), "scale".into()),
            ("kubectl-annotate".into(), "Update".into(), String::new()),
            ("kubectl-edit".into(), "Update".into(), String::new()),
        ]
    );
    let replicas_owner = fields_of(&edited, "hpa", "Update");
    assert_eq!(replicas_owner, json!({"f:spec": {"f:replicas": {}}}));
    assert!(
        fields_of(&edited, MANAGER, "Apply")["f:spec"]
            .get("f:replicas")
            .is_none(),
        "the scale took spec.replicas over"
    );

    // The operator re-applies its intent, which no longer sets replicas.
    let repaired = api
        .patch(
            "mlserver",
            &apply(),
            &Patch::Apply(statefulset("a:1", None)),
        )
        .await
        .expect("re-applies");
    assert_eq!(
        image_of(&repaired),
        [("agent".to_string(), Some("a:1".to_string()))]
    );
    assert_eq!(repaired.spec.replicas, Some(3));
    assert_eq!(
        repaired.annotations().get("note").map(String::as_str),
        Some("mine")
    );
    assert!(
        !managers(&repaired)
            .iter()
            .any(|(m, _, _)| m == "kubectl-edit"),
        "the image went back to the operator"
    );
    let steady = api
        .patch(
            "mlserver",
            &apply(),
            &Patch::Apply(statefulset("a:1", None)),
        )
        .await
        .expect("re-applies");
    assert_eq!(steady.resource_version(), repaired.resource_version());

    // Taking replicas back conflicts with the autoscaler, unless forced.
    let refused = api
        .patch(
            "mlserver",
            &PatchParams::apply(MANAGER),
            &Patch::Apply(statefulset("a:1", Some(1))),
        )
        .await;
    match refused {
        Err(kube::Error::Api(status)) => assert!(
            status.message.contains(
                r#"conflict with "hpa" with subresource "scale" using apps/v1: .spec.replicas"#
            ),
            "{}",
            status.message
        ),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let taken = api
        .patch(
            "mlserver",
            &apply(),
            &Patch::Apply(statefulset("a:1", Some(1))),
        )
        .await
        .expect("forces");
    assert_eq!(taken.spec.replicas, Some(1));
    assert!(!managers(&taken).iter().any(|(m, _, _)| m == "hpa"));
    assert_eq!(
        double.stats().applies("statefulsets", MANAGER),
        WriteOutcome {
            changed: 3,
            unchanged: 1
        }
    );
    double.shutdown().await.expect("stops");
}

fn configmap(data: Value, labels: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "seldon-kafka", "labels": labels},
        "data": data,
    })
}

#[tokio::test]
async fn apply_conflicts_without_force_and_force_takes_ownership() {
    let (double, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "ns1");
    let intent = configmap(json!({"a": "1", "b": "1"}), json!({}));
    api.patch(
        "seldon-kafka",
        &PatchParams::apply(MANAGER),
        &Patch::Apply(&intent),
    )
    .await
    .expect("creates");
    let drifted = api
        .patch(
            "seldon-kafka",
            &managed_by("kubectl-edit"),
            &Patch::Merge(json!({"data": {"a": "2"}})),
        )
        .await
        .expect("edits");
    assert_eq!(
        fields_of(&drifted, "kubectl-edit", "Update"),
        json!({"f:data": {"f:a": {}}})
    );

    let refused = api
        .patch(
            "seldon-kafka",
            &PatchParams::apply(MANAGER),
            &Patch::Apply(&intent),
        )
        .await;
    match refused {
        Err(kube::Error::Api(status)) => {
            assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
            assert!(
                status
                    .message
                    .contains(r#"conflict with "kubectl-edit" using v1: .data.a"#),
                "{}",
                status.message
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // The same value is no conflict: both own it.
    let shared = api
        .patch(
            "seldon-kafka",
            &PatchParams::apply(MANAGER),
            &Patch::Apply(configmap(json!({"a": "2", "b": "1"}), json!({}))),
        )
        .await
        .expect("agrees");
    assert_eq!(managers(&shared).len(), 2);

    let forced = api
        .patch("seldon-kafka", &apply(), &Patch::Apply(&intent))
        .await
        .expect("force applies");
    assert_eq!(
        forced
            .data
            .as_ref()
            .and_then(|d| d.get("a"))
            .map(String::as_str),
        Some("1")
    );
    assert_eq!(
        managers(&forced),
        [(MANAGER.into(), "Apply".into(), String::new())],
        "the editor's only field moved to the applier"
    );
    let stats = double.stats();
    assert_eq!(
        stats.applies("configmaps", MANAGER),
        WriteOutcome {
            changed: 3,
            unchanged: 0
        },
        "the refused apply is not an outcome"
    );
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn apply_removes_what_it_no_longer_sets_and_only_that() {
    let (double, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "ns1");
    api.patch(
        "seldon-kafka",
        &apply(),
        &Patch::Apply(configmap(
            json!({"x": "1", "y": "1"}),
            json!({"a": "1", "b": "1"}),
        )),
    )
    .await
    .expect("creates");
    api.patch(
        "seldon-kafka",
        &managed_by("user"),
        &Patch::Merge(json!({"data": {"z": "user"}, "metadata": {"labels": {"mine": "yes"}}})),
    )
    .await
    .expect("user adds");
    let applied = api
        .patch(
            "seldon-kafka",
            &apply(),
            &Patch::Apply(configmap(json!({"x": "1"}), json!({"a": "1"}))),
        )
        .await
        .expect("applies less");
    let data: Vec<&String> = applied.data.as_ref().expect("data").keys().collect();
    assert_eq!(data, ["x", "z"]);
    let labels: Vec<&String> = applied.labels().keys().collect();
    assert_eq!(labels, ["a", "mine"]);
    // Dropping every field of a map removes the map.
    let bare = api
        .patch(
            "seldon-kafka",
            &managed_by("user"),
            &Patch::Json::<()>(
                serde_json::from_value(json!([{"op": "remove", "path": "/data/z"}]))
                    .expect("valid JSON patch"),
            ),
        )
        .await
        .expect("user removes");
    assert_eq!(
        fields_of(&bare, "user", "Update"),
        json!({"f:metadata": {"f:labels": {"f:mine": {}}}})
    );
    let emptied = api
        .patch(
            "seldon-kafka",
            &apply(),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "seldon-kafka"}})),
        )
        .await
        .expect("applies nothing");
    assert!(emptied.data.is_none());
    let labels: Vec<&String> = emptied.labels().keys().collect();
    assert_eq!(labels, ["mine"]);
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn lists_merged_by_key_keep_other_appliers_items() {
    let (double, client) = start().await;
    let api: Api<StatefulSet> = Api::namespaced(client, "ns1");
    api.patch(
        "mlserver",
        &apply(),
        &Patch::Apply(statefulset("a:1", Some(1))),
    )
    .await
    .expect("creates");
    // A sidecar injector applies its own container with its own manager.
    let sidecar = json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "mlserver"},
        "spec": {"template": {"spec": {"containers": [{"name": "proxy", "image": "p:1"}]}}},
    });
    api.patch(
        "mlserver",
        &PatchParams::apply("injector"),
        &Patch::Apply(sidecar),
    )
    .await
    .expect("injects");
    let reapplied = api
        .patch(
            "mlserver",
            &apply(),
            &Patch::Apply(statefulset("a:2", Some(1))),
        )
        .await
        .expect("re-applies");
    assert_eq!(
        image_of(&reapplied),
        [
            ("agent".to_string(), Some("a:2".to_string())),
            ("proxy".to_string(), Some("p:1".to_string())),
        ]
    );
    assert_eq!(generation(&reapplied), 3);
    // A status in an apply of the main resource is ignored.
    let mut with_status = statefulset("a:2", Some(1));
    with_status["status"] = json!({"replicas": 5});
    let ignored = api
        .patch("mlserver", &apply(), &Patch::Apply(with_status))
        .await
        .expect("applies");
    assert!(ignored.status.is_none());
    assert_eq!(ignored.resource_version(), reapplied.resource_version());
    // An apply must name a manager, and the kind it writes.
    let unmanaged = api
        .patch(
            "mlserver",
            &PatchParams::default(),
            &Patch::Apply(statefulset("a:2", Some(1))),
        )
        .await;
    assert_eq!(api_code(unmanaged), 422);
    let mut wrong = statefulset("a:2", Some(1));
    wrong["kind"] = json!("Deployment");
    assert_eq!(
        api_code(api.patch("mlserver", &apply(), &Patch::Apply(wrong)).await),
        400
    );
    double.shutdown().await.expect("stops");
}
