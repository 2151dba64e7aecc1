//! A Server's pods, end to end: switchyard builds its StatefulSet and
//! per-replica Services from its ServerConfig, resizes them with the
//! Server, puts back what someone deletes or changes, writes nothing in a
//! steady state, and garbage collection removes them with the Server.

use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Service;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use switchyard_api::Server;
use switchyard_testkit::{eventually, until};

use crate::common::Operator;

const NS: &str = "team-a";

async fn start() -> Operator {
    let op = Operator::start(&[NS], |_| {}).await;
    op.double.create_runtime(NS).await.unwrap();
    op
}

async fn create_server(client: &Client, replicas: i32) -> Server {
    let server: Server = serde_json::from_value(json!({
        "apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Server",
        "metadata": {"name": "mlserver", "namespace": NS},
        "spec": {"serverConfig": "mlserver", "replicas": replicas}
    }))
    .unwrap();
    Api::<Server>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &server)
        .await
        .unwrap()
}

async fn set_replicas(client: &Client, replicas: i32) {
    Api::<Server>::namespaced(client.clone(), NS)
        .patch(
            "mlserver",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": replicas}})),
        )
        .await
        .unwrap();
}

/// The names of the Server's per-replica Services, sorted.
async fn replica_services(client: &Client) -> Vec<String> {
    let services: Api<Service> = Api::namespaced(client.clone(), NS);
    let mut names: Vec<String> = services
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|s| s.labels().get("seldon-server-replica").map(String::as_str) == Some("mlserver"))
        .map(ResourceExt::name_any)
        .collect();
    names.sort();
    names
}

async fn statefulset_replicas(client: &Client) -> Option<i32> {
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    api.get_opt("mlserver").await.ok()??.spec.replicas
}

async fn shaped(client: &Client, replicas: i32) -> bool {
    let want: Vec<String> = (0..replicas).map(|i| format!("mlserver-{i}")).collect();
    statefulset_replicas(client).await == Some(replicas) && replica_services(client).await == want
}

#[tokio::test]
async fn a_servers_pods_follow_its_replicas_and_are_put_back() {
    let stack = start().await;
    let client = &stack.client;
    let server = create_server(client, 2).await;
    eventually("a StatefulSet of 2 and two Services", async || {
        shaped(client, 2).await
    })
    .await;

    // Built from the ServerConfig, owned by the Server.
    let sts = Api::<StatefulSet>::namespaced(client.clone(), NS)
        .get("mlserver")
        .await
        .unwrap();
    let owner = sts.owner_references().first().cloned().unwrap();
    assert_eq!(
        (
            owner.kind.as_str(),
            owner.name.as_str(),
            owner.uid.as_str(),
            owner.controller
        ),
        (
            "Server",
            "mlserver",
            server.uid().unwrap().as_str(),
            Some(true)
        )
    );
    let pod = sts.spec.template.spec.unwrap();
    assert!(
        pod.containers.iter().any(|c| c.name == "agent"),
        "the ServerConfig's containers"
    );
    assert_eq!(
        sts.spec
            .selector
            .match_labels
            .unwrap()
            .get("seldon-server-name")
            .map(String::as_str),
        Some("mlserver")
    );

    // Up and down with the Server.
    set_replicas(client, 3).await;
    eventually("3 replicas, 3 Services", async || shaped(client, 3).await).await;
    set_replicas(client, 1).await;
    eventually("1 replica, the other Services gone", async || {
        shaped(client, 1).await
    })
    .await;

    // A Service someone deletes is put back.
    Api::<Service>::namespaced(client.clone(), NS)
        .delete("mlserver-0", &DeleteParams::default())
        .await
        .unwrap();
    eventually("mlserver-0 put back", async || shaped(client, 1).await).await;

    // A field switchyard does not set (a user's annotation) stays through
    // later applies.
    Api::<StatefulSet>::namespaced(client.clone(), NS)
        .patch(
            "mlserver",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"team.example/owner": "fraud"}}})),
        )
        .await
        .unwrap();
    set_replicas(client, 2).await;
    eventually("2 again", async || shaped(client, 2).await).await;
    set_replicas(client, 1).await;
    eventually("1 again", async || shaped(client, 1).await).await;
    let annotated = Api::<StatefulSet>::namespaced(client.clone(), NS)
        .get("mlserver")
        .await
        .unwrap();
    assert_eq!(
        annotated
            .annotations()
            .get("team.example/owner")
            .map(String::as_str),
        Some("fraud"),
        "switchyard's applies keep what others set"
    );

    // A StatefulSet someone scales by hand is put back to the Server's.
    Api::<StatefulSet>::namespaced(client.clone(), NS)
        .patch(
            "mlserver",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await
        .unwrap();
    eventually("the StatefulSet back at 1", async || {
        statefulset_replicas(client).await == Some(1)
    })
    .await;

    // A ServerConfig edit rolls to the Server's pods.
    let configs: Api<switchyard_api::ServerConfig> = Api::namespaced(client.clone(), "seldon-mesh");
    let mut config = configs.get("mlserver").await.unwrap();
    let agent = config
        .spec
        .pod_spec
        .containers
        .iter_mut()
        .find(|c| c.name == "agent")
        .unwrap();
    agent.image = Some("docker.io/seldonio/seldon-agent:2.9.9".into());
    configs
        .replace("mlserver", &PostParams::default(), &config)
        .await
        .unwrap();
    eventually("the new agent image in the pod template", async || {
        let Ok(sts) = Api::<StatefulSet>::namespaced(client.clone(), NS)
            .get("mlserver")
            .await
        else {
            return false;
        };
        sts.spec.template.spec.is_some_and(|pod| {
            pod.containers.iter().any(|c| {
                c.name == "agent"
                    && c.image.as_deref() == Some("docker.io/seldonio/seldon-agent:2.9.9")
            })
        })
    })
    .await;

    // Deleting the Server takes its objects with it.
    Api::<Server>::namespaced(client.clone(), NS)
        .delete("mlserver", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the StatefulSet and Services collected", async || {
        statefulset_replicas(client).await.is_none() && replica_services(client).await.is_empty()
    })
    .await;
    stack.stop().await;
}

#[tokio::test]
async fn a_steady_server_costs_no_write() {
    let stack = start().await;
    let client = &stack.client;
    create_server(client, 2).await;
    eventually("built", async || shaped(client, 2).await).await;
    // Settled: the Server's own status writes are done.
    let servers: Api<Server> = Api::namespaced(client.clone(), NS);
    until("the Server reports its 2 replicas", async || {
        (servers.get("mlserver").await.ok()?.status?.replicas == 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let owned = |stats: &switchyard_kube_double::ApiStats| {
        stats.outcomes_for("statefulsets").changed + stats.outcomes_for("services").changed
    };
    let before = stack.double.stats();
    // A reconcile without a change of intent: the kubelet's status write on
    // the StatefulSet (the Server's labels and annotations would be part of
    // the intent: they are copied onto the workload).
    Api::<StatefulSet>::namespaced(client.clone(), NS)
        .patch_status(
            "mlserver",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 2, "readyReplicas": 1}})),
        )
        .await
        .unwrap();
    until("the Server saw its pods", async || {
        let s = servers.get("mlserver").await.ok()?;
        let ready = s
            .status?
            .duck
            .conditions
            .into_iter()
            .find(|c| c.type_ == "StatefulSetOrDeploymentReady")?;
        (ready.status == switchyard_api::ConditionStatus::False).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = stack.double.stats();
    // (The kubelet's write went to statefulsets/status.)
    assert_eq!(
        owned(&after) - owned(&before),
        0,
        "switchyard wrote to the StatefulSet or Services without a change of intent"
    );
    assert_eq!(
        after.applies("statefulsets", "switchyard").changed
            + after.applies("statefulsets", "switchyard").unchanged,
        before.applies("statefulsets", "switchyard").changed
            + before.applies("statefulsets", "switchyard").unchanged,
        "not even a no-op apply"
    );
    stack.stop().await;
}

/// A Server naming a ServerConfig that does not exist gets a condition
/// naming it, and nothing is built for it.
#[tokio::test]
async fn a_missing_server_config_is_named_and_nothing_is_built() {
    let stack = start().await;
    let client = &stack.client;
    let server: Server = serde_json::from_value(json!({
        "apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Server",
        "metadata": {"name": "mlserver", "namespace": NS},
        "spec": {"serverConfig": "nope", "replicas": 1}
    }))
    .unwrap();
    let servers: Api<Server> = Api::namespaced(client.clone(), NS);
    servers
        .create(&PostParams::default(), &server)
        .await
        .unwrap();
    eventually("the condition names the ServerConfig", async || {
        servers.get("mlserver").await.is_ok_and(|s| {
            s.status.is_some_and(|st| {
                st.duck.conditions.iter().any(|c| {
                    c.type_ == "StatefulSetOrDeploymentReady"
                        && c.status == switchyard_api::ConditionStatus::False
                        && c.message.contains("ServerConfig seldon-mesh/nope")
                })
            })
        })
    })
    .await;
    assert_eq!(statefulset_replicas(client).await, None);
    stack.stop().await;
}

/// A Server built from the `triton` ServerConfig runs Triton's container.
#[tokio::test]
async fn a_triton_server_runs_triton() {
    let stack = start().await;
    let client = &stack.client;
    let server: Server = serde_json::from_value(json!({
        "apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Server",
        "metadata": {"name": "triton", "namespace": NS},
        "spec": {"serverConfig": "triton", "replicas": 1}
    }))
    .unwrap();
    Api::<Server>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &server)
        .await
        .unwrap();
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), NS);
    eventually("a StatefulSet with Triton's container", async || {
        statefulsets
            .get_opt("triton")
            .await
            .ok()
            .flatten()
            .is_some_and(|sts| {
                sts.spec
                    .template
                    .spec
                    .is_some_and(|pod| pod.containers.iter().any(|c| c.name == "triton"))
            })
    })
    .await;
    stack.stop().await;
}

/// With `--use-deployments-for-servers`, a Server runs as a Deployment
/// (with the Server's strategy) and has no per-replica Services; it is
/// Ready once the Deployment's pods are.
#[tokio::test]
async fn with_deployments_for_servers_a_server_runs_as_a_deployment() {
    let op = Operator::start(&[NS], |k| k.use_deployments_for_servers = true).await;
    op.double.create_runtime(NS).await.unwrap();
    let client = &op.client;
    create_server(client, 2).await;
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), NS);
    eventually("a Deployment of 2", async || {
        deployments
            .get_opt("mlserver")
            .await
            .ok()
            .flatten()
            .is_some_and(|d| d.spec.replicas == Some(2))
    })
    .await;
    assert!(
        replica_services(client).await.is_empty(),
        "no per-replica Services"
    );
    assert_eq!(statefulset_replicas(client).await, None, "no StatefulSet");
    deployments
        .patch_status(
            "mlserver",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 2, "readyReplicas": 2}})),
        )
        .await
        .unwrap();
    let servers: Api<Server> = Api::namespaced(client.clone(), NS);
    eventually("the Server Ready from its Deployment", async || {
        servers.get("mlserver").await.is_ok_and(|s| {
            s.status.is_some_and(|st| {
                st.duck.conditions.iter().any(|c| {
                    c.type_ == "Ready" && c.status == switchyard_api::ConditionStatus::True
                })
            })
        })
    })
    .await;
    op.stop().await;
}
