//! One source of truth, through the whole App against the API double: with
//! the operator side on, a direct gateway write of an object that has a
//! custom resource is refused (FAILED_PRECONDITION pointing at the
//! resource), an object without one may be written directly unless its
//! namespace refuses direct writes. The caller is an authenticated
//! administrator (the gateway runs with `kubernetes` authentication, the
//! default with the operator side).

use crate::common;

use kube::Api;
use kube::api::PostParams;

use switchyard::config::GatewayConfig;
use switchyard_api::Model;
use switchyard_kube_double::{ApiDouble, TokenUser};
use switchyard_proto::scheduler::scheduler_client::SchedulerClient;
use switchyard_proto::scheduler::{
    LoadModelRequest, MetaData, Model as SchedulerModel, ModelReference, ModelSpec,
    UnloadModelRequest,
};
use switchyard_simulator::{Rpc, SimulatorFleet};
use tonic::{Code, Request};

const NAMESPACES: [&str; 2] = ["team-a", "team-b"];
const ADMIN: &str = "truth-admin-token";

fn as_admin<T>(ns: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert("seldon-namespace", ns.parse().unwrap());
    metadata.insert("authorization", format!("Bearer {ADMIN}").parse().unwrap());
    request
}

fn load(name: &str) -> LoadModelRequest {
    LoadModelRequest {
        model: Some(SchedulerModel {
            meta: Some(MetaData {
                name: name.into(),
                ..Default::default()
            }),
            model_spec: Some(ModelSpec {
                uri: "gs://seldon-models/iris".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

fn unload(name: &str) -> UnloadModelRequest {
    UnloadModelRequest {
        model: Some(ModelReference {
            name: name.into(),
            version: None,
        }),
        kubernetes_meta: None,
    }
}

fn team_a(sims: &SimulatorFleet) -> &switchyard_simulator::SimulatorHandle {
    sims.handles()
        .iter()
        .find(|s| s.namespace() == "team-a")
        .unwrap()
}

#[tokio::test]
async fn direct_writes_of_resource_managed_objects_are_refused_and_others_follow_the_setting() {
    let logs = switchyard_testkit::CapturedLogs::start(tracing::Level::INFO);
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut admin = TokenUser::new("admin");
    admin.groups = vec!["system:masters".into()];
    double.register_token(ADMIN, admin);
    common::install_seldon_templates(&double.client().unwrap()).await;
    let op = common::Operator::start_app(double, &NAMESPACES, |app| {
        app.gateway.refuse_direct_writes = vec!["team-b".into()];
    })
    .await;
    let (double, client, sims, app) = (&op.double, &op.client, &op.sims, &op.app);
    for ns in NAMESPACES {
        double.create_runtime(ns).await.unwrap();
    }
    let model: Model = serde_json::from_value(serde_json::json!({
        "apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Model",
        "metadata": {"name": "iris"},
        "spec": {"storageUri": "gs://seldon-models/iris", "requirements": ["sklearn"]}
    }))
    .unwrap();
    Api::<Model>::namespaced(client.clone(), "team-a")
        .create(&PostParams::default(), &model)
        .await
        .unwrap();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", app.gateway_addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut gw = SchedulerClient::new(channel);

    // The Model resource is the one source of truth for iris in team-a.
    let mut refused = None;
    common::eventually("iris is known as managed", async || {
        match gw.unload_model(as_admin("team-a", unload("iris"))).await {
            Err(status) if status.code() == Code::FailedPrecondition => {
                refused = Some(status);
                true
            }
            _ => false,
        }
    })
    .await;
    let refused = refused.unwrap();
    assert!(
        refused
            .message()
            .contains("kubectl delete models/iris -n team-a"),
        "{}",
        refused.message()
    );
    // The refusal is an audit line of its own.
    let audited = logs.lines();
    assert!(
        audited.iter().any(|l| l.contains("audit")
            && l.contains("UnloadModel")
            && l.contains("refused")
            && l.contains("FAILED_PRECONDITION")),
        "{audited:#?}"
    );
    // ... and only that: the refused call is not also audited as allowed.
    assert!(
        !audited.iter().any(|l| l.contains("audit")
            && l.contains("allowed")
            && l.contains("FAILED_PRECONDITION")),
        "{audited:#?}"
    );
    let edit = gw
        .load_model(as_admin("team-a", load("iris")))
        .await
        .unwrap_err();
    assert_eq!(edit.code(), Code::FailedPrecondition, "{edit:?}");
    assert!(
        edit.message()
            .contains("kubectl edit models/iris -n team-a"),
        "{}",
        edit.message()
    );

    // No resource: allowed in team-a (the default), refused in team-b.
    let direct_before = team_a(sims).calls(Rpc::LoadModel);
    gw.load_model(as_admin("team-a", load("scratch")))
        .await
        .expect("a direct write of an object with no resource");
    assert_eq!(team_a(sims).calls(Rpc::LoadModel), direct_before + 1);
    let b = gw
        .load_model(as_admin("team-b", load("scratch")))
        .await
        .unwrap_err();
    assert_eq!(b.code(), Code::FailedPrecondition, "{b:?}");
    assert!(
        b.message().contains("takes no direct writes"),
        "{}",
        b.message()
    );
    op.stop().await;
}

/// No custom resources at all (the warning test needs no reflectors).
struct NoResources;

impl switchyard_core::managed::ManagedObjects for NoResources {
    fn is_managed(&self, _: &str, _: switchyard_core::managed::ManagedKind, _: &str) -> bool {
        false
    }
    fn is_synced(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn a_kubernetes_gateway_without_authentication_must_be_asked_for_and_warns() {
    use switchyard::config::AuthSection;
    use switchyard::gateway_access::gateway_access;
    use switchyard_access::AuthMode;

    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let operator = || {
        let managed: std::sync::Arc<dyn switchyard_core::managed::ManagedObjects> =
            std::sync::Arc::new(NoResources);
        Some((double.client().unwrap(), managed))
    };
    let logs = switchyard_testkit::CapturedLogs::start(tracing::Level::INFO);
    // By default, with the operator side: authentication on, no warning.
    let default = gateway_access(&GatewayConfig::default(), operator()).unwrap();
    assert!(default.keeper.enabled());
    assert!(
        !logs.lines().iter().any(|l| l.contains("WARN")),
        "{:?}",
        logs.lines()
    );
    // Asked for explicitly: off, with a warning saying what that means.
    let none = GatewayConfig {
        auth: AuthSection {
            mode: Some(AuthMode::None),
            ..Default::default()
        },
        ..Default::default()
    };
    let off = gateway_access(&none, operator()).unwrap();
    assert!(!off.keeper.enabled());
    let warned = logs.lines();
    assert!(
        warned
            .iter()
            .any(|l| l.contains("WARN") && l.contains("--gateway-auth=none")),
        "{warned:?}"
    );
}
