//! The operator end to end: the binary's own App (discovery, controllers,
//! status write-back, resync, gateway) against the Kubernetes API double and
//! simulated schedulers, over real HTTP and gRPC on 127.0.0.1.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::DEADLINE;
use kube::api::{DeleteParams, PostParams};
use kube::{Api, Client, ResourceExt};
use switchyard::app::{App, AppConfig, KubeConnection, KubernetesConfig};
use switchyard::config::GatewayConfig;
use switchyard::kube_double::{ApiDouble, ApiDoubleHandle, FailWith, WriteScope};
use switchyard::operator::{SchedulerAddressing, WatchScope};
use switchyard::resources::model::{Model, ModelSpec};
use switchyard::resources::runtime::{SeldonRuntime, SeldonRuntimeSpec};
use switchyard::resources::{ConditionStatus, Pipeline};
use switchyard::simulator::{Rpc, SimulatorConfig, SimulatorFleet};

const NAMESPACES: [&str; 2] = ["team-a", "team-b"];

struct Stack {
    double: ApiDoubleHandle,
    sims: SimulatorFleet,
    app: App,
    client: Client,
}

async fn start() -> Stack {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut template = SimulatorConfig::new("x", "127.0.0.1:0".parse().unwrap());
    template.sync_timeout = Duration::ZERO;
    let sims =
        SimulatorFleet::start_named(template, NAMESPACES.iter().map(|s| s.to_string()).collect())
            .await
            .unwrap();
    let overrides: BTreeMap<String, String> = sims
        .handles()
        .iter()
        .map(|s| (s.namespace().to_owned(), s.local_addr().to_string()))
        .collect();
    let app = App::start(
        AppConfig {
            gateway: GatewayConfig::default(),
            gateway_listen: "127.0.0.1:0".parse().unwrap(),
            metrics_listen: None,
            runtimes_file: None,
            runtimes_poll: Duration::from_secs(1),
            kubernetes: Some(KubernetesConfig {
                connection: KubeConnection::Config(Box::new(double.kube_config())),
                scope: WatchScope::AllNamespaces,
                addressing: SchedulerAddressing {
                    overrides,
                    ..Default::default()
                },
                leader_election: None,
                finalizer_recheck: Duration::from_millis(200),
            }),
        },
        None,
    )
    .await
    .unwrap();
    let client = double.client().unwrap();
    for ns in NAMESPACES {
        let runtime = SeldonRuntime::new(
            "seldon",
            SeldonRuntimeSpec {
                seldon_config: "default".into(),
                ..Default::default()
            },
        );
        Api::<SeldonRuntime>::namespaced(client.clone(), ns)
            .create(&PostParams::default(), &runtime)
            .await
            .unwrap();
    }
    Stack {
        double,
        sims,
        app,
        client,
    }
}

fn model(name: &str, memory: &str) -> Model {
    Model::new(
        name,
        ModelSpec {
            storage_uri: format!("gs://models/{name}"),
            memory: Some(k8s_openapi::apimachinery::pkg::api::resource::Quantity(
                memory.into(),
            )),
            ..Default::default()
        },
    )
}

fn condition(m: &Model, type_: &str) -> Option<(ConditionStatus, String, String)> {
    m.status
        .as_ref()?
        .duck
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status, c.reason.clone(), c.message.clone()))
}

async fn until<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let start = tokio::time::Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn models_in_two_namespaces_become_ready_and_go_away_when_deleted() {
    let stack = start().await;
    for ns in NAMESPACES {
        Api::<Model>::namespaced(stack.client.clone(), ns)
            .create(&PostParams::default(), &model("iris", "2Gi"))
            .await
            .unwrap();
    }
    for ns in NAMESPACES {
        let api = Api::<Model>::namespaced(stack.client.clone(), ns);
        let ready = until(&format!("{ns}/iris Ready"), async || {
            let m = api.get("iris").await.ok()?;
            matches!(condition(&m, "Ready"), Some((ConditionStatus::True, _, _))).then_some(m)
        })
        .await;
        assert_eq!(ready.finalizers(), ["seldon.model.finalizer"]);
        assert_eq!(
            ready.status.as_ref().unwrap().duck.observed_generation,
            Some(1)
        );
        assert_eq!(
            stack.sims.get(ns).unwrap().calls(Rpc::LoadModel),
            1,
            "{ns}: its own scheduler"
        );
    }
    for ns in NAMESPACES {
        Api::<Model>::namespaced(stack.client.clone(), ns)
            .delete("iris", &DeleteParams::default())
            .await
            .unwrap();
    }
    for ns in NAMESPACES {
        let api = Api::<Model>::namespaced(stack.client.clone(), ns);
        until(&format!("{ns}/iris gone"), async || {
            api.get_opt("iris").await.ok()?.is_none().then_some(())
        })
        .await;
        assert_eq!(stack.sims.get(ns).unwrap().calls(Rpc::UnloadModel), 1);
    }
    stack.app.shutdown().await.unwrap();
    stack.sims.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_malformed_model_gets_a_condition_naming_the_field_and_others_carry_on() {
    let stack = start().await;
    let api = Api::<Model>::namespaced(stack.client.clone(), "team-a");
    api.create(&PostParams::default(), &model("broken", "-1Gi"))
        .await
        .unwrap();
    api.create(&PostParams::default(), &model("fine", "1Mi"))
        .await
        .unwrap();
    let (status, reason, message) = until("broken rejected", async || {
        let m = api.get("broken").await.ok()?;
        condition(&m, "ModelReady").filter(|c| c.0 == ConditionStatus::False)
    })
    .await;
    assert_eq!(status, ConditionStatus::False);
    assert_eq!(reason, "ModelFailed");
    assert!(message.contains("spec.memory"), "{message}");
    until("fine Ready", async || {
        let m = api.get("fine").await.ok()?;
        matches!(condition(&m, "Ready"), Some((ConditionStatus::True, _, _))).then_some(())
    })
    .await;
    stack.app.shutdown().await.unwrap();
    stack.sims.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_restarted_scheduler_gets_its_state_back_and_conflicts_lose_nothing() {
    let stack = start().await;
    let models = Api::<Model>::namespaced(stack.client.clone(), "team-b");
    models
        .create(&PostParams::default(), &model("iris", "1Mi"))
        .await
        .unwrap();
    let pipeline: Pipeline = serde_json::from_value(serde_json::json!({
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Pipeline",
        "metadata": {"name": "chain"},
        "spec": {"steps": [{"name": "iris"}]}
    }))
    .unwrap();
    Api::<Pipeline>::namespaced(stack.client.clone(), "team-b")
        .create(&PostParams::default(), &pipeline)
        .await
        .unwrap();
    until("iris Ready", async || {
        let m = models.get("iris").await.ok()?;
        matches!(condition(&m, "Ready"), Some((ConditionStatus::True, _, _))).then_some(())
    })
    .await;

    // Status writes conflict for a while; the scheduler restarts with its
    // state wiped: resync loads everything again, and the CR ends Ready.
    stack.double.fail_next_writes(
        3,
        FailWith::Conflict,
        WriteScope::subresource("models", "status"),
    );
    let sim = stack.sims.get("team-b").unwrap();
    let loads_before = sim.calls(Rpc::LoadModel);
    sim.restart();
    until("model re-sent after the restart", async || {
        (sim.calls(Rpc::LoadModel) > loads_before).then_some(())
    })
    .await;
    until("pipeline re-sent after the restart", async || {
        (sim.calls(Rpc::LoadPipeline) >= 2).then_some(())
    })
    .await;
    until("iris Ready again", async || {
        let m = models.get("iris").await.ok()?;
        matches!(condition(&m, "Ready"), Some((ConditionStatus::True, _, _))).then_some(())
    })
    .await;
    stack.app.shutdown().await.unwrap();
    stack.sims.shutdown().await.unwrap();
}
