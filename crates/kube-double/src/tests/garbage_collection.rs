//! Garbage collection through `ownerReferences`, through the real
//! `kube::Client`: a deleted Server takes its StatefulSet and Services
//! (and what they own) with it, with DELETED events; a dependent with
//! another live owner only loses the reference; other namespaces are not
//! touched; a dependent's finalizers hold it; `Orphan` keeps dependents.

use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use switchyard_api::{Server, ServerSpec};
use switchyard_testkit::within;

use super::kube_double::{api_code, start};

fn apply() -> PatchParams {
    PatchParams::apply("switchyard").force()
}

/// A controller owner reference to `owner`.
fn owned_by<K: Resource<DynamicType = ()>>(owner: &K) -> Value {
    json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "name": owner.meta().name,
        "uid": owner.meta().uid,
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

fn service(name: &str, owners: Vec<Value>) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "ownerReferences": owners},
        "spec": {"clusterIP": "None", "ports": [{"name": "http", "port": 9000}]},
    })
}

fn statefulset(name: &str, owner: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "ownerReferences": [owner]},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}},
        },
    })
}

async fn create_server(client: &kube::Client, ns: &str, name: &str) -> Server {
    Api::<Server>::namespaced(client.clone(), ns)
        .create(
            &PostParams::default(),
            &Server::new(
                name,
                ServerSpec {
                    server_config: "mlserver".into(),
                    ..ServerSpec::default()
                },
            ),
        )
        .await
        .expect("creates the Server")
}

fn names<K: Resource>(list: &[K]) -> Vec<String> {
    list.iter()
        .map(|o| o.meta().name.clone().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn deleting_an_owner_collects_its_dependents() {
    let (double, client) = start().await;
    let server = create_server(&client, "ns1", "mlserver").await;
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), "ns1");
    let services: Api<Service> = Api::namespaced(client.clone(), "ns1");
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), "ns1");
    let sts = statefulsets
        .patch(
            "mlserver",
            &apply(),
            &Patch::Apply(statefulset("mlserver", owned_by(&server))),
        )
        .await
        .expect("applies the StatefulSet");
    for name in ["mlserver-0", "mlserver-1"] {
        services
            .patch(
                name,
                &apply(),
                &Patch::Apply(service(name, vec![owned_by(&server)])),
            )
            .await
            .expect("applies a Service");
    }
    // Owned by the StatefulSet: collected in turn.
    configmaps
        .create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": "sts-owned", "ownerReferences": [owned_by(&sts)]}}),
            )
            .expect("valid ConfigMap"),
        )
        .await
        .expect("creates");
    // Owned by the Server and a ConfigMap that stays: only loses a reference.
    let keeper = configmaps
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "keeper"}})).expect("valid"),
        )
        .await
        .expect("creates");
    let mut second_owner = owned_by(&keeper);
    second_owner["controller"] = json!(false);
    let mut two_controllers = json!({"metadata": {
        "name": "shared",
        "ownerReferences": [owned_by(&server), owned_by(&keeper)],
    }});
    // At most one owner is the controller, as on a real server.
    assert_eq!(
        api_code(
            configmaps
                .create(
                    &PostParams::default(),
                    &serde_json::from_value(two_controllers.clone()).expect("valid ConfigMap"),
                )
                .await
        ),
        422
    );
    two_controllers["metadata"]["ownerReferences"][1] = second_owner;
    configmaps
        .create(
            &PostParams::default(),
            &serde_json::from_value(two_controllers).expect("valid ConfigMap"),
        )
        .await
        .expect("creates");
    // Held by a finalizer: marked for deletion, not removed.
    let mut held = service("held", vec![owned_by(&server)]);
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    services
        .patch("held", &apply(), &Patch::Apply(held))
        .await
        .expect("applies");
    // The same uid in another namespace is not this owner.
    let elsewhere: Api<Service> = Api::namespaced(client.clone(), "ns2");
    elsewhere
        .patch(
            "mlserver-0",
            &apply(),
            &Patch::Apply(service("mlserver-0", vec![owned_by(&server)])),
        )
        .await
        .expect("applies");

    let from = double.resource_version().to_string();
    let mut events = services
        .watch(&WatchParams::default(), &from)
        .await
        .expect("watches")
        .boxed();
    Api::<Server>::namespaced(client.clone(), "ns1")
        .delete("mlserver", &DeleteParams::default())
        .await
        .expect("deletes the Server");

    // The collection is done when the delete has answered.
    assert_eq!(api_code(statefulsets.get("mlserver").await), 404);
    assert_eq!(api_code(configmaps.get("sts-owned").await), 404);
    let left = services.list(&Default::default()).await.expect("lists");
    assert_eq!(names(&left.items), ["held"]);
    assert!(left.items[0].metadata.deletion_timestamp.is_some());
    let shared = configmaps.get("shared").await.expect("kept");
    assert_eq!(
        shared
            .owner_references()
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        ["keeper"]
    );
    // A namespaced owner has no dependents in other namespaces: that one's
    // owner never existed where it lives, so it was collected when written,
    // as the real collector treats such a reference.
    assert_eq!(api_code(elsewhere.get("mlserver-0").await), 404);

    let mut deleted = Vec::new();
    while deleted.len() < 2 {
        match within("DELETED events", events.try_next()).await {
            Ok(Some(WatchEvent::Deleted(s))) => deleted.push(s.name_any()),
            Ok(Some(WatchEvent::Modified(s))) => assert_eq!(s.name_any(), "held"),
            Ok(Some(WatchEvent::Bookmark(_))) => {}
            other => panic!("unexpected watch item: {other:?}"),
        }
    }
    deleted.sort();
    assert_eq!(deleted, ["mlserver-0", "mlserver-1"]);

    // Releasing the finalizer removes the last one.
    services
        .patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .expect("releases");
    assert_eq!(api_code(services.get("held").await), 404);
    let stats = double.stats();
    assert_eq!(stats.collected("statefulsets"), 1);
    // mlserver-0 and -1, held, and ns2's mlserver-0 (collected when written).
    assert_eq!(stats.collected("services"), 4);
    assert_eq!(stats.collected("configmaps"), 1);
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn an_owner_removed_after_its_finalizers_collects_then() {
    let (double, client) = start().await;
    let servers: Api<Server> = Api::namespaced(client.clone(), "ns1");
    let mut server = Server::new(
        "s",
        ServerSpec {
            server_config: "mlserver".into(),
            ..ServerSpec::default()
        },
    );
    server.metadata.finalizers = Some(vec!["mlops.seldon.io/finalizer".into()]);
    let server = servers
        .create(&PostParams::default(), &server)
        .await
        .expect("creates");
    let services: Api<Service> = Api::namespaced(client.clone(), "ns1");
    services
        .patch(
            "s-0",
            &apply(),
            &Patch::Apply(service("s-0", vec![owned_by(&server)])),
        )
        .await
        .expect("applies");
    servers
        .delete("s", &DeleteParams::default())
        .await
        .expect("deletion starts");
    assert!(services.get("s-0").await.is_ok(), "the owner still exists");
    servers
        .patch(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .expect("finalizer removed");
    assert_eq!(api_code(services.get("s-0").await), 404);
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn orphan_propagation_keeps_dependents() {
    let (double, client) = start().await;
    let server = create_server(&client, "ns1", "s").await;
    let services: Api<Service> = Api::namespaced(client.clone(), "ns1");
    services
        .patch(
            "s-0",
            &apply(),
            &Patch::Apply(service("s-0", vec![owned_by(&server)])),
        )
        .await
        .expect("applies");
    Api::<Server>::namespaced(client.clone(), "ns1")
        .delete("s", &DeleteParams::orphan())
        .await
        .expect("deletes");
    let orphan = services.get("s-0").await.expect("kept");
    assert!(orphan.owner_references().is_empty());
    assert_eq!(double.stats().collected("services"), 0);
    double.shutdown().await.expect("stops");
}

#[tokio::test]
async fn deleting_a_collection_collects_every_owner_s_dependents() {
    let (double, client) = start().await;
    let services: Api<Service> = Api::namespaced(client.clone(), "ns1");
    for name in ["a", "b"] {
        let server = create_server(&client, "ns1", name).await;
        let svc = format!("{name}-0");
        services
            .patch(
                &svc,
                &apply(),
                &Patch::Apply(service(&svc, vec![owned_by(&server)])),
            )
            .await
            .expect("applies");
    }
    Api::<Server>::namespaced(client.clone(), "ns1")
        .delete_collection(&DeleteParams::default(), &Default::default())
        .await
        .expect("deletes the Servers");
    assert!(
        services
            .list(&Default::default())
            .await
            .expect("lists")
            .items
            .is_empty()
    );
    assert_eq!(double.stats().collected("services"), 2);
    double.shutdown().await.expect("stops");
}
