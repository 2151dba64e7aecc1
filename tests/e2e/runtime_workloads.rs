//! A SeldonRuntime's control plane, end to end: built from its SeldonConfig
//! (ServiceAccounts, Roles, RoleBindings, ConfigMaps, Services and one
//! workload per component), owned by the runtime, repaired, a disabled
//! component removed, and the runtime Ready once every component is.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::json;
use switchyard_api::SeldonRuntime;
use switchyard_testkit::eventually;

use crate::common::Operator;

const NS: &str = "team-a";

async fn names<K>(client: &Client) -> Vec<String>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
{
    let mut names: Vec<String> = Api::<K>::namespaced(client.clone(), NS)
        .list(&Default::default())
        .await
        .map(|l| l.items.iter().map(ResourceExt::name_any).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// Plays the Deployment and StatefulSet controllers: every workload of
/// the namespace reports all its replicas ready.
async fn pods_ready(client: &Client) {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    for d in deployments.list(&Default::default()).await.unwrap().items {
        let replicas = d.spec.replicas.unwrap_or(1);
        let status = json!({"status": {"replicas": replicas, "readyReplicas": replicas}});
        deployments
            .patch_status(
                &d.name_any(),
                &PatchParams::default(),
                &Patch::Merge(status),
            )
            .await
            .unwrap();
    }
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    for s in statefulsets.list(&Default::default()).await.unwrap().items {
        let replicas = s.spec.replicas.unwrap_or(1);
        let status = json!({"status": {"replicas": replicas, "readyReplicas": replicas}});
        statefulsets
            .patch_status(
                &s.name_any(),
                &PatchParams::default(),
                &Patch::Merge(status),
            )
            .await
            .unwrap();
    }
}

async fn ready(runtimes: &Api<SeldonRuntime>) -> bool {
    runtimes.get("seldon").await.is_ok_and(|r| {
        r.status.is_some_and(|s| {
            s.duck
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == switchyard_api::ConditionStatus::True)
        })
    })
}

#[tokio::test]
async fn a_runtime_becomes_its_namespaces_control_plane() {
    let op = Operator::start(&[NS], |_| {}).await;
    let (double, client) = (&op.double, &op.client);
    let runtime = double.create_runtime(NS).await.unwrap();

    eventually("the control plane built", async || {
        names::<Deployment>(client).await.len() == 5
            && names::<StatefulSet>(client).await == ["seldon-scheduler"]
    })
    .await;
    assert_eq!(
        names::<ServiceAccount>(client).await,
        ["hodometer", "seldon-scheduler", "seldon-server"]
    );
    assert_eq!(
        names::<Role>(client).await,
        ["agent-role", "hodometer-role", "seldon-scheduler-role"]
    );
    assert_eq!(names::<RoleBinding>(client).await.len(), 3);
    assert_eq!(
        names::<ConfigMap>(client).await,
        [
            "seldon-agent",
            "seldon-kafka",
            "seldon-scaling",
            "seldon-tracing"
        ]
    );
    assert_eq!(
        names::<Service>(client).await,
        ["seldon-mesh", "seldon-scheduler"]
    );
    let scheduler = Api::<StatefulSet>::namespaced(client.clone(), NS)
        .get("seldon-scheduler")
        .await
        .unwrap();
    let owner = scheduler.owner_references().first().cloned().unwrap();
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("SeldonRuntime", runtime.uid().unwrap().as_str(), Some(true))
    );

    // Ready once every component's pods are.
    let runtimes: Api<SeldonRuntime> = Api::namespaced(client.clone(), NS);
    assert!(!ready(&runtimes).await, "no pod is ready yet");
    pods_ready(client).await;
    eventually("the runtime Ready", async || ready(&runtimes).await).await;

    // A deleted ConfigMap is put back.
    Api::<ConfigMap>::namespaced(client.clone(), NS)
        .delete("seldon-kafka", &DeleteParams::default())
        .await
        .unwrap();
    eventually("seldon-kafka put back", async || {
        names::<ConfigMap>(client)
            .await
            .contains(&"seldon-kafka".to_owned())
    })
    .await;

    // An override disabling hodometer removes its Deployment.
    runtimes
        .patch(
            "seldon",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"overrides": [{"name": "hodometer", "disable": true}]}})),
        )
        .await
        .unwrap();
    eventually("hodometer removed", async || {
        !names::<Deployment>(client)
            .await
            .contains(&"hodometer".to_owned())
    })
    .await;
    op.stop().await;
}

/// Bad input: a runtime naming a SeldonConfig that does not exist, one with
/// an override of no component, and a Server naming a missing ServerConfig
/// each get a condition and an event naming what is wrong, while a good
/// runtime in another namespace is built as usual.
#[tokio::test]
async fn bad_templates_and_overrides_are_reported_and_harm_no_one_else() {
    let namespaces = ["good", "no-config", "bad-override"];
    let op = Operator::start(&namespaces, |_| {}).await;
    let client = &op.client;
    let runtime = |ns: &str, spec: serde_json::Value| -> SeldonRuntime {
        serde_json::from_value(json!({
            "apiVersion": "mlops.seldon.io/v1alpha1", "kind": "SeldonRuntime",
            "metadata": {"name": "seldon", "namespace": ns}, "spec": spec
        }))
        .unwrap()
    };
    let create = async |ns: &str, spec: serde_json::Value| {
        Api::<SeldonRuntime>::namespaced(client.clone(), ns)
            .create(&Default::default(), &runtime(ns, spec))
            .await
            .unwrap();
    };
    create("good", json!({"seldonConfig": "default"})).await;
    create("no-config", json!({"seldonConfig": "nope"})).await;
    create(
        "bad-override",
        json!({"seldonConfig": "default", "overrides": [{"name": "seldon-foo", "replicas": 2}]}),
    )
    .await;
    let ready_message = async |ns: &str| -> Option<String> {
        let rt = Api::<SeldonRuntime>::namespaced(client.clone(), ns)
            .get("seldon")
            .await
            .ok()?;
        let ready = rt
            .status?
            .duck
            .conditions
            .into_iter()
            .find(|c| c.type_ == "Ready")?;
        (ready.status == switchyard_api::ConditionStatus::False).then_some(ready.message)
    };
    eventually("the missing SeldonConfig named", async || {
        ready_message("no-config")
            .await
            .is_some_and(|m| m.contains("SeldonConfig") && m.contains("nope"))
    })
    .await;
    eventually("the unknown component named", async || {
        ready_message("bad-override")
            .await
            .is_some_and(|m| m.contains("overrides[0].name") && m.contains("seldon-foo"))
    })
    .await;
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(client.clone(), "bad-override");
    eventually("an UpdateFailed event", async || {
        events.list(&Default::default()).await.is_ok_and(|l| {
            l.items
                .iter()
                .any(|e| e.reason.as_deref() == Some("UpdateFailed"))
        })
    })
    .await;
    // The good namespace is built all the same; the bad ones hold nothing.
    let deployments = |ns: &str| Api::<Deployment>::namespaced(client.clone(), ns);
    eventually("the good runtime built", async || {
        deployments("good")
            .list(&Default::default())
            .await
            .is_ok_and(|l| l.items.len() == 5)
    })
    .await;
    for ns in ["no-config", "bad-override"] {
        assert!(
            deployments(ns)
                .list(&Default::default())
                .await
                .unwrap()
                .items
                .is_empty(),
            "{ns}: nothing half-built"
        );
    }
    op.stop().await;
}

/// A runtime's control plane in its steady state costs no write; a
/// SeldonConfig edit rolls to it; a model gateway asked for more replicas
/// than the namespace's Models allow is capped, with Seldon's warning.
#[tokio::test]
async fn a_runtime_rolls_with_its_seldon_config_and_caps_its_gateways() {
    let op = Operator::start(&[NS], |_| {}).await;
    let (double, client) = (&op.double, &op.client);
    let runtime: SeldonRuntime = serde_json::from_value(json!({
        "apiVersion": "mlops.seldon.io/v1alpha1", "kind": "SeldonRuntime",
        "metadata": {"name": "seldon", "namespace": NS},
        "spec": {"seldonConfig": "default", "overrides": [{"name": "seldon-modelgateway", "replicas": 3}]}
    }))
    .unwrap();
    let runtimes: Api<SeldonRuntime> = Api::namespaced(client.clone(), NS);
    runtimes
        .create(&Default::default(), &runtime)
        .await
        .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);

    // No Model in the namespace: the model gateway runs one replica.
    eventually("the model gateway capped at 1", async || {
        deployments
            .get_opt("seldon-modelgateway")
            .await
            .ok()
            .flatten()
            .is_some_and(|d| d.spec.replicas == Some(1))
    })
    .await;
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), NS);
    eventually("ModelGatewayReplicasAdjusted", async || {
        events.list(&Default::default()).await.is_ok_and(|l| {
            l.items
                .iter()
                .any(|e| e.reason.as_deref() == Some("ModelGatewayReplicasAdjusted"))
        })
    })
    .await;

    // Settled, its pods ready: no write to what it owns.
    pods_ready(client).await;
    eventually("the runtime Ready", async || ready(&runtimes).await).await;
    let owned = |stats: &switchyard_kube_double::ApiStats| {
        [
            "statefulsets",
            "deployments",
            "services",
            "configmaps",
            "serviceaccounts",
            "roles",
            "rolebindings",
        ]
        .iter()
        .map(|kind| {
            let o = stats.applies(kind, "switchyard");
            o.changed + o.unchanged
        })
        .sum::<u64>()
    };
    let before = owned(&double.stats());
    pods_ready(client).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        owned(&double.stats()),
        before,
        "a settled runtime is applied again"
    );

    // A new scheduler image in the SeldonConfig rolls to the runtime.
    let configs: Api<switchyard_api::SeldonConfig> = Api::namespaced(client.clone(), "seldon-mesh");
    let mut config = configs.get("default").await.unwrap();
    let scheduler = config
        .spec
        .components
        .iter_mut()
        .find(|c| c.name == "seldon-scheduler")
        .unwrap();
    let pod = scheduler.pod_spec.as_mut().unwrap();
    pod.containers[0].image = Some("docker.io/seldonio/seldon-scheduler:2.9.9".into());
    configs
        .replace("default", &Default::default(), &config)
        .await
        .unwrap();
    eventually("the new scheduler image", async || {
        Api::<StatefulSet>::namespaced(client.clone(), NS)
            .get("seldon-scheduler")
            .await
            .is_ok_and(|s| {
                s.spec.template.spec.is_some_and(|p| {
                    p.containers[0].image.as_deref()
                        == Some("docker.io/seldonio/seldon-scheduler:2.9.9")
                })
            })
    })
    .await;
    op.stop().await;
}

/// A deleted runtime (nothing left in its namespace) takes its control
/// plane with it: garbage collection follows the owner references.
#[tokio::test]
async fn a_deleted_runtimes_control_plane_is_collected() {
    let op = Operator::start(&[NS], |_| {}).await;
    let (double, client) = (&op.double, &op.client);
    double.create_runtime(NS).await.unwrap();
    eventually("the control plane built", async || {
        names::<Deployment>(client).await.len() == 5 && names::<ConfigMap>(client).await.len() == 4
    })
    .await;
    Api::<SeldonRuntime>::namespaced(client.clone(), NS)
        .delete("seldon", &DeleteParams::default())
        .await
        .unwrap();
    eventually("everything it owned collected", async || {
        names::<Deployment>(client).await.is_empty()
            && names::<StatefulSet>(client).await.is_empty()
            && names::<ConfigMap>(client).await.is_empty()
            && names::<Service>(client).await.is_empty()
            && names::<Role>(client).await.is_empty()
    })
    .await;
    op.stop().await;
}
