//! The guard against two operators, end to end: while Seldon's own
//! operator holds a fresh Lease (or, without one, runs a ready Deployment),
//! switchyard writes nothing to the Seldon resources but keeps serving the
//! gateway; once Seldon's operator is gone it takes over.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;
use switchyard::app::App;
use switchyard_api::model::Model;
use switchyard_kube_double::{ApiDouble, ApiDoubleHandle};
use switchyard_operator::controllers::MODEL_FINALIZER;
use switchyard_operator::guard::{REASON_SELDON_OPERATOR_ACTIVE, SELDON_LEASE_NAME};
use switchyard_proto::gateway::ListRuntimesRequest;
use switchyard_proto::gateway::gateway_client::GatewayClient;
use switchyard_testkit::{eventually, until};

use crate::common::Operator;
use tonic::transport::Channel;

const NS: &str = "team-a";
const SELDON_NS: &str = "seldon-mesh";

async fn seldon_lease(client: &Client) -> Lease {
    let api: Api<Lease> = Api::namespaced(client.clone(), SELDON_NS);
    let lease: Lease = serde_json::from_value(json!({
        "metadata": { "name": SELDON_LEASE_NAME },
        "spec": {
            "holderIdentity": "seldon-v2-controller-manager-abc_1",
            "leaseDurationSeconds": 15,
            "renewTime": MicroTime(Timestamp::now()),
        }
    }))
    .unwrap();
    api.create(&PostParams::default(), &lease).await.unwrap()
}

/// A token the API double accepts as a cluster administrator: the
/// gateway authenticates its callers (`kubernetes` mode, the default with
/// the operator side), also while the operator is held back.
const ADMIN_TOKEN: &str = "guard-test-admin";

/// switchyard against `double`, looking for Seldon's operator every 200 ms.
async fn start(double: ApiDoubleHandle) -> Operator {
    let mut admin = switchyard_kube_double::TokenUser::new("admin");
    admin.groups = vec!["system:masters".into()];
    double.register_token(ADMIN_TOKEN, admin);
    Operator::start_on(double, &[NS], |k| {
        k.seldon_operator_guard = Some(Duration::from_millis(200));
    })
    .await
}

fn model(name: &str) -> Model {
    let mut m = crate::common::model(name);
    m.metadata.namespace = Some(NS.into());
    m
}

async fn has_finalizer(models: &Api<Model>, name: &str) -> bool {
    models.get(name).await.is_ok_and(|m| {
        m.metadata
            .finalizers
            .unwrap_or_default()
            .iter()
            .any(|f| f == MODEL_FINALIZER)
    })
}

async fn runtimes_served(app: &App) -> Vec<String> {
    let channel = Channel::from_shared(format!("http://{}", app.gateway_addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut request = tonic::Request::new(ListRuntimesRequest::default());
    let bearer = format!("Bearer {ADMIN_TOKEN}").parse().unwrap();
    request.metadata_mut().insert("authorization", bearer);
    let answer = GatewayClient::new(channel)
        .list_runtimes(request)
        .await
        .unwrap()
        .into_inner();
    answer.runtimes.into_iter().map(|r| r.namespace).collect()
}

#[tokio::test]
async fn a_live_seldon_lease_holds_switchyard_back_until_it_goes_stale() {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = double.client().unwrap();
    let lease = seldon_lease(&client).await;
    let op = start(double).await;
    let double = &op.double;
    double.create_runtime(NS).await.unwrap();
    let models: Api<Model> = Api::namespaced(client.clone(), NS);
    models
        .create(&PostParams::default(), &model("iris"))
        .await
        .unwrap();

    // The gateway serves the namespace meanwhile.
    until("the gateway serves team-a", async || {
        runtimes_served(&op.app)
            .await
            .contains(&NS.to_owned())
            .then_some(())
    })
    .await;
    // The leader says why, about Seldon's Lease.
    let events: Api<Event> = Api::namespaced(client.clone(), SELDON_NS);
    let event = until("an event about Seldon's Lease", async || {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some(REASON_SELDON_OPERATOR_ACTIVE))
    })
    .await;
    assert_eq!(
        event.regarding.and_then(|r| r.name).as_deref(),
        Some(SELDON_LEASE_NAME)
    );
    // Several guard polls later, still nothing written to the Model.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !has_finalizer(&models, "iris").await,
        "switchyard wrote while Seldon's operator leads"
    );
    assert_eq!(
        models.get("iris").await.unwrap().status,
        None,
        "no status written either"
    );

    // Seldon's operator stops renewing: its Lease goes stale.
    let stale = Timestamp::now() - k8s_openapi::jiff::SignedDuration::from_secs(120);
    let leases: Api<Lease> = Api::namespaced(client.clone(), SELDON_NS);
    leases
        .patch(
            SELDON_LEASE_NAME,
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "renewTime": MicroTime(stale) } })),
        )
        .await
        .unwrap();
    drop(lease);
    eventually("switchyard takes the Model over", async || {
        has_finalizer(&models, "iris").await
    })
    .await;
    op.stop().await;
}

#[tokio::test]
async fn without_a_lease_a_ready_seldon_deployment_holds_switchyard_back() {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = double.client().unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), SELDON_NS);
    let manager: Deployment = serde_json::from_value(json!({
        "metadata": {
            "name": "seldon-v2-controller-manager",
            "labels": { "control-plane": "v2-controller-manager" }
        },
        "spec": {
            "replicas": 1,
            "selector": { "matchLabels": { "control-plane": "v2-controller-manager" } },
            "template": {
                "metadata": { "labels": { "control-plane": "v2-controller-manager" } },
                "spec": { "containers": [{ "name": "manager", "image": "seldonio/seldonv2-controller" }] }
            }
        }
    }))
    .unwrap();
    deployments
        .create(&PostParams::default(), &manager)
        .await
        .unwrap();
    deployments
        .patch_status(
            "seldon-v2-controller-manager",
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": { "replicas": 1, "readyReplicas": 1 } })),
        )
        .await
        .unwrap();
    let op = start(double).await;
    let double = &op.double;
    double.create_runtime(NS).await.unwrap();
    let models: Api<Model> = Api::namespaced(client.clone(), NS);
    models
        .create(&PostParams::default(), &model("iris"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !has_finalizer(&models, "iris").await,
        "switchyard wrote beside a ready Seldon operator"
    );

    // Scaled to zero (and gone): switchyard takes over.
    deployments
        .delete("seldon-v2-controller-manager", &DeleteParams::default())
        .await
        .unwrap();
    eventually("switchyard takes the Model over", async || {
        has_finalizer(&models, "iris").await
    })
    .await;
    op.stop().await;
}
