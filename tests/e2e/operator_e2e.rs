//! The operator end to end: the binary's own App (discovery, controllers,
//! status write-back, resync, gateway) against the Kubernetes API double and
//! simulated schedulers, over real HTTP and gRPC on 127.0.0.1.

use crate::common;
use tonic::transport::Channel;

use std::collections::BTreeMap;
use std::time::Duration;

use common::until;
use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use switchyard::app::{App, AppConfig, KubernetesConfig};
use switchyard_api::model::{Model, ModelSpec};
use switchyard_api::runtime::SeldonRuntime;
use switchyard_api::{ConditionStatus, Experiment, Pipeline, Server};
use switchyard_kube_double::{ApiDouble, ApiDoubleHandle, FailWith, WriteScope};
use switchyard_operator::leader::LeaderElectionConfig;
use switchyard_proto::scheduler::ServerStatusRequest;
use switchyard_proto::scheduler::scheduler_client::SchedulerClient;
use switchyard_simulator::{Rpc, SimulatorConfig, SimulatorFleet};

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
    start_with(double).await
}

async fn start_with(double: ApiDoubleHandle) -> Stack {
    let mut template = SimulatorConfig::new("x", "127.0.0.1:0".parse().unwrap());
    template.sync_timeout = Duration::ZERO;
    let sims =
        SimulatorFleet::start_named(template, NAMESPACES.iter().map(|s| s.to_string()).collect())
            .await
            .unwrap();
    let client = double.client().unwrap();
    common::install_seldon_templates(&client).await;
    let app = start_app(&double, sims.addresses(), None, None).await;
    // Leading (the guard against Seldon's operator has looked once): the
    // takeover resync is done before the tests create anything, so each
    // object reaches its scheduler once.
    let mut leading = app.kubernetes.as_ref().unwrap().leadership.clone();
    tokio::time::timeout(common::DEADLINE, leading.wait_for(|l| *l))
        .await
        .unwrap()
        .unwrap();
    for ns in NAMESPACES {
        double.create_runtime(ns).await.unwrap();
    }
    Stack {
        double,
        sims,
        app,
        client,
    }
}

/// An App against `double`, sending `User-Agent: {user_agent}` when given.
async fn start_app(
    double: &ApiDoubleHandle,
    overrides: BTreeMap<String, String>,
    leader_election: Option<LeaderElectionConfig>,
    user_agent: Option<&str>,
) -> App {
    let mut kube_config = double.kube_config();
    if let Some(ua) = user_agent {
        kube_config.headers.push((
            http::header::USER_AGENT,
            http::HeaderValue::from_str(ua).unwrap(),
        ));
    }
    let mut kubernetes = KubernetesConfig::local(kube_config, overrides);
    kubernetes.leader_election = leader_election;
    kubernetes.finalizer_recheck = Duration::from_millis(200);
    App::start(
        AppConfig::operator("127.0.0.1:0".parse().unwrap(), kubernetes),
        None,
    )
    .await
    .unwrap()
}

/// Plays the StatefulSet controller and the kubelet: once switchyard has
/// created the StatefulSet `name` (from the Server's ServerConfig), marks
/// `replicas` of its pods ready.
async fn run_statefulset(client: &Client, ns: &str, name: &str, replicas: i32) {
    let api = Api::<StatefulSet>::namespaced(client.clone(), ns);
    until(
        &format!("switchyard created StatefulSet {ns}/{name}"),
        async || api.get_opt(name).await.ok()?.map(drop),
    )
    .await;
    let status =
        serde_json::json!({ "status": { "replicas": replicas, "readyReplicas": replicas } });
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await
        .unwrap();
}

/// The replicas the scheduler at `addr` expects of server `name`.
async fn expected_replicas(addr: std::net::SocketAddr, name: &str) -> i32 {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = SchedulerClient::new(channel);
    let mut stream = client
        .server_status(ServerStatusRequest {
            name: Some(name.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    stream.message().await.unwrap().unwrap().expected_replicas
}

/// Status `Ready` of any resource, read from its JSON.
fn is_ready<K: serde::Serialize>(k: &K) -> bool {
    let v = serde_json::to_value(k).unwrap();
    v["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn observed_generation<K: serde::Serialize>(k: &K) -> Option<i64> {
    serde_json::to_value(k).unwrap()["status"]["observedGeneration"].as_i64()
}

fn from_json<K: serde::de::DeserializeOwned>(v: serde_json::Value) -> K {
    serde_json::from_value(v).unwrap()
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

    // Explainer and llm together: rejected naming both fields.
    let confused: Model = from_json(serde_json::json!({
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Model",
        "metadata": {"name": "confused"},
        "spec": {
            "storageUri": "gs://models/confused",
            "explainer": {"type": "anchor_tabular", "modelRef": "fine"},
            "llm": {"modelRef": "fine"}
        }
    }));
    api.create(&PostParams::default(), &confused).await.unwrap();
    let (_, reason, message) = until("confused rejected", async || {
        let m = api.get("confused").await.ok()?;
        condition(&m, "ModelReady").filter(|c| c.0 == ConditionStatus::False)
    })
    .await;
    assert_eq!(reason, "ModelFailed");
    assert!(
        message.contains("spec.explainer") && message.contains("spec.llm"),
        "{message}"
    );

    // A Server with min > max: a False condition naming the fields.
    let servers: Api<switchyard_api::Server> = Api::namespaced(stack.client.clone(), "team-a");
    let lopsided: switchyard_api::Server = from_json(serde_json::json!({
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Server",
        "metadata": {"name": "lopsided"},
        "spec": {"serverConfig": "mlserver", "minReplicas": 3, "maxReplicas": 1}
    }));
    servers
        .create(&PostParams::default(), &lopsided)
        .await
        .unwrap();
    let message = until("lopsided rejected", async || {
        let s = servers.get("lopsided").await.ok()?;
        s.status
            .as_ref()?
            .duck
            .conditions
            .iter()
            .find(|c| {
                c.type_ == "StatefulSetOrDeploymentReady" && c.status == ConditionStatus::False
            })
            .map(|c| c.message.clone())
    })
    .await;
    assert!(message.contains("spec.minReplicas"), "{message}");
    assert!(message.contains("must be <= max"), "{message}");

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
    // The first status writes conflict (as if another writer got there
    // first): the model still ends Ready.
    stack.double.fail_next_writes(
        3,
        FailWith::Conflict,
        WriteScope::subresource("models", "status"),
    );
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

    assert_eq!(
        stack.double.stats().injected_write_failures,
        3,
        "the status writes met the conflicts"
    );
    // The scheduler restarts with its state wiped: resync loads everything
    // again, and the CR ends Ready.
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

#[tokio::test]
async fn pipelines_experiments_and_servers_in_two_namespaces_reach_their_scheduler() {
    let stack = start().await;
    for ns in NAMESPACES {
        let models = Api::<Model>::namespaced(stack.client.clone(), ns);
        for name in ["iris", "iris2"] {
            models
                .create(&PostParams::default(), &model(name, "1Mi"))
                .await
                .unwrap();
        }
        Api::<Pipeline>::namespaced(stack.client.clone(), ns)
            .create(
                &PostParams::default(),
                &from_json(serde_json::json!({
                    "apiVersion": "mlops.seldon.io/v1alpha1",
                    "kind": "Pipeline",
                    "metadata": {"name": "chain"},
                    "spec": {"steps": [{"name": "iris"}]}
                })),
            )
            .await
            .unwrap();
        Api::<Experiment>::namespaced(stack.client.clone(), ns)
            .create(
                &PostParams::default(),
                &from_json(serde_json::json!({
                    "apiVersion": "mlops.seldon.io/v1alpha1",
                    "kind": "Experiment",
                    "metadata": {"name": "ab"},
                    "spec": {"default": "iris", "candidates": [
                        {"name": "iris", "weight": 50},
                        {"name": "iris2", "weight": 50}
                    ]}
                })),
            )
            .await
            .unwrap();
        Api::<Server>::namespaced(stack.client.clone(), ns)
            .create(
                &PostParams::default(),
                &from_json(serde_json::json!({
                    "apiVersion": "mlops.seldon.io/v1alpha1",
                    "kind": "Server",
                    "metadata": {"name": "mlserver"},
                    "spec": {"serverConfig": "mlserver", "replicas": 1}
                })),
            )
            .await
            .unwrap();
        let sim = stack.sims.get(ns).unwrap();
        let pipelines = Api::<Pipeline>::namespaced(stack.client.clone(), ns);
        let experiments = Api::<Experiment>::namespaced(stack.client.clone(), ns);
        let servers = Api::<Server>::namespaced(stack.client.clone(), ns);
        until(&format!("{ns}/chain Ready"), async || {
            let p = pipelines.get("chain").await.ok()?;
            (is_ready(&p) && observed_generation(&p) == Some(1)).then_some(())
        })
        .await;
        until(&format!("{ns}/ab Ready"), async || {
            let e = experiments.get("ab").await.ok()?;
            (is_ready(&e) && observed_generation(&e) == Some(1)).then_some(())
        })
        .await;
        // The Server's ServerNotify reaches its own scheduler, with the
        // generation observed; it turns Ready once its StatefulSet's pods
        // are (the test plays Seldon's chart and the kubelet).
        until(&format!("{ns}/mlserver notified"), async || {
            let s = servers.get("mlserver").await.ok()?;
            (observed_generation(&s) == Some(1)).then_some(())
        })
        .await;
        run_statefulset(&stack.client, ns, "mlserver", 1).await;
        until(&format!("{ns}/mlserver Ready"), async || {
            let s = servers.get("mlserver").await.ok()?;
            let status = s.status.as_ref()?;
            (is_ready(&s) && status.replicas == 1).then_some(())
        })
        .await;
        assert_eq!(sim.calls(Rpc::LoadPipeline), 1, "{ns}: its own scheduler");
        assert_eq!(
            sim.calls(Rpc::StartExperiment),
            1,
            "{ns}: its own scheduler"
        );
        // Resync on (re)connect may send the Servers again.
        assert!(sim.calls(Rpc::ServerNotify) >= 1, "{ns}: its own scheduler");
        if ns == NAMESPACES[0] {
            // Created one namespace at a time: the other scheduler has
            // seen none of it yet (its ServerNotify count is not checked:
            // resync answers SEND_SERVERS with an empty first-sync one).
            let other = stack.sims.get(NAMESPACES[1]).unwrap();
            for rpc in [Rpc::LoadModel, Rpc::LoadPipeline, Rpc::StartExperiment] {
                assert_eq!(other.calls(rpc), 0, "{rpc:?} reached {}", NAMESPACES[1]);
            }
        }
    }
    for ns in NAMESPACES {
        Api::<Pipeline>::namespaced(stack.client.clone(), ns)
            .delete("chain", &DeleteParams::default())
            .await
            .unwrap();
        Api::<Experiment>::namespaced(stack.client.clone(), ns)
            .delete("ab", &DeleteParams::default())
            .await
            .unwrap();
    }
    for ns in NAMESPACES {
        let sim = stack.sims.get(ns).unwrap();
        let pipelines = Api::<Pipeline>::namespaced(stack.client.clone(), ns);
        let experiments = Api::<Experiment>::namespaced(stack.client.clone(), ns);
        until(&format!("{ns}/chain gone"), async || {
            pipelines
                .get_opt("chain")
                .await
                .ok()?
                .is_none()
                .then_some(())
        })
        .await;
        until(&format!("{ns}/ab gone"), async || {
            experiments
                .get_opt("ab")
                .await
                .ok()?
                .is_none()
                .then_some(())
        })
        .await;
        assert_eq!(sim.calls(Rpc::UnloadPipeline), 1, "{ns}: its own scheduler");
        assert_eq!(sim.calls(Rpc::StopExperiment), 1, "{ns}: its own scheduler");
        // A deleted Server is notified with 0 replicas (it has no
        // finalizer: the object goes at once).
        let notifies = sim.calls(Rpc::ServerNotify);
        let servers = Api::<Server>::namespaced(stack.client.clone(), ns);
        servers
            .delete("mlserver", &DeleteParams::default())
            .await
            .unwrap();
        until(&format!("{ns}/mlserver gone and notified"), async || {
            let gone = servers.get_opt("mlserver").await.ok()?.is_none();
            (gone && sim.calls(Rpc::ServerNotify) > notifies).then_some(())
        })
        .await;
        assert_eq!(
            expected_replicas(sim.local_addr(), "mlserver").await,
            0,
            "{ns}: the deleted Server's scheduler expects no replicas"
        );
    }
    stack.app.shutdown().await.unwrap();
    stack.sims.shutdown().await.unwrap();
}

#[tokio::test]
async fn expired_and_dropped_watches_and_status_conflicts_lose_no_update() {
    let stack = start().await;
    let api = Api::<Model>::namespaced(stack.client.clone(), "team-a");
    // Watches re-opened from now on get 410 Gone, then every open watch
    // drops, while status writes conflict and models are created.
    stack.double.expire_next_watches(4);
    stack.double.fail_next_writes(
        4,
        FailWith::Conflict,
        WriteScope::subresource("models", "status"),
    );
    stack.double.drop_watches();
    let names: Vec<String> = (0..6).map(|i| format!("m{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        api.create(&PostParams::default(), &model(name, "1Mi"))
            .await
            .unwrap();
        if i == 2 {
            stack.double.drop_watches();
        }
    }
    for name in &names {
        until(&format!("{name} Ready at generation 1"), async || {
            let m = api.get(name).await.ok()?;
            (is_ready(&m) && observed_generation(&m) == Some(1)).then_some(())
        })
        .await;
    }
    let sim = stack.sims.get("team-a").unwrap();
    assert!(sim.calls(Rpc::LoadModel) >= names.len() as u64);
    assert!(stack.double.stats().injected_write_failures >= 1);
    assert!(stack.double.stats().injected_watch_expiries >= 1);

    // A spec change made while the watches are down (and come back
    // expired) still reaches the scheduler.
    let loads_before = sim.calls(Rpc::LoadModel);
    stack.double.expire_next_watches(2);
    stack.double.drop_watches();
    let mut m0 = api.get("m0").await.unwrap();
    m0.spec.memory = Some(k8s_openapi::apimachinery::pkg::api::resource::Quantity(
        "2Mi".into(),
    ));
    let m0 = api
        .replace("m0", &PostParams::default(), &m0)
        .await
        .unwrap();
    assert_eq!(m0.metadata.generation, Some(2));
    until("m0 Ready at generation 2", async || {
        let m = api.get("m0").await.ok()?;
        (is_ready(&m) && observed_generation(&m) == Some(2)).then_some(())
    })
    .await;
    assert!(
        sim.calls(Rpc::LoadModel) > loads_before,
        "generation 2 was sent to the scheduler"
    );
    stack.app.shutdown().await.unwrap();
    stack.sims.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_deleted_runtime_releases_its_connection_and_tasks() {
    use switchyard_scheduler::Upstream;
    let stack = start().await;
    let runtimes = Api::<SeldonRuntime>::namespaced(stack.client.clone(), "team-b");
    until("both runtimes connected, with finalizers", async || {
        let both = NAMESPACES
            .iter()
            .all(|ns| stack.app.registry.get(ns).is_some());
        let tasks = Upstream::ALL
            .iter()
            .all(|u| stack.app.pool.live_tasks(*u) == 2);
        let r = runtimes.get("seldon").await.ok()?;
        (both
            && tasks
            && r.finalizers()
                .iter()
                .any(|f| f == "seldon.runtime.finalizer"))
        .then_some(())
    })
    .await;

    // Nothing left in team-b: deleting its runtime goes through.
    runtimes
        .delete("seldon", &DeleteParams::default())
        .await
        .unwrap();
    until("team-b's runtime gone", async || {
        runtimes
            .get_opt("seldon")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    until("team-b's registry entry and tasks gone", async || {
        let tasks = Upstream::ALL
            .iter()
            .all(|u| stack.app.pool.live_tasks(*u) == 1);
        (stack.app.registry.get("team-b").is_none() && tasks).then_some(())
    })
    .await;
    assert!(stack.app.registry.get("team-a").is_some());

    // team-a carries on.
    let models = Api::<Model>::namespaced(stack.client.clone(), "team-a");
    models
        .create(&PostParams::default(), &model("iris", "1Mi"))
        .await
        .unwrap();
    until("team-a/iris Ready", async || {
        is_ready(&models.get("iris").await.ok()?).then_some(())
    })
    .await;
    stack.app.shutdown().await.unwrap();
    stack.sims.shutdown().await.unwrap();
}

fn leader_election(identity: &str) -> LeaderElectionConfig {
    LeaderElectionConfig {
        lease_name: "switchyard-leader".into(),
        namespace: "seldon-system".into(),
        identity: identity.into(),
        lease_duration: Duration::from_secs(2),
        renew_deadline: Duration::from_millis(1500),
        retry_period: Duration::from_millis(200),
    }
}

fn leading(app: &App) -> bool {
    *app.kubernetes.as_ref().unwrap().leadership.borrow()
}

#[tokio::test]
async fn only_the_leader_writes_and_the_standby_takes_over() {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let Stack {
        double,
        sims,
        app: plain,
        client,
    } = start_with(double).await;
    plain.shutdown().await.unwrap();
    let overrides = sims.addresses();
    let a = start_app(
        &double,
        overrides.clone(),
        Some(leader_election("replica-a")),
        Some("replica-a"),
    )
    .await;
    let b = start_app(
        &double,
        overrides,
        Some(leader_election("replica-b")),
        Some("replica-b"),
    )
    .await;
    until("a leader", async || {
        assert!(!(leading(&a) && leading(&b)), "two leaders at once");
        (leading(&a) || leading(&b)).then_some(())
    })
    .await;
    let (leader, standby, standby_ua) = if leading(&a) {
        (a, b, "replica-b")
    } else {
        (b, a, "replica-a")
    };

    // Both candidates may have tried to create the Lease at first (the
    // loser's create counts as a write): count from here on.
    double.reset_stats();
    let models = Api::<Model>::namespaced(client.clone(), "team-a");
    models
        .create(&PostParams::default(), &model("iris", "1Mi"))
        .await
        .unwrap();
    until("iris Ready", async || {
        is_ready(&models.get("iris").await.ok()?).then_some(())
    })
    .await;
    assert!(!leading(&standby));
    assert_eq!(
        double.stats().writes_by(standby_ua),
        0,
        "the standby wrote: {:?}",
        double.stats().writes_by_user_agent
    );

    // The leader goes away: the standby takes over and carries on.
    leader.shutdown().await.unwrap();
    until("the standby leads", async || {
        leading(&standby).then_some(())
    })
    .await;
    models
        .create(&PostParams::default(), &model("iris2", "1Mi"))
        .await
        .unwrap();
    until("iris2 Ready", async || {
        is_ready(&models.get("iris2").await.ok()?).then_some(())
    })
    .await;
    assert!(double.stats().writes_by(standby_ua) > 0);
    standby.shutdown().await.unwrap();
    sims.shutdown().await.unwrap();
}

/// A Server is Ready when its workload runs as many ready replicas as the
/// **Server** asks for: scaled up to 3 while its StatefulSet still runs
/// one, it is not Ready; once three pods are ready, it is again.
#[tokio::test]
async fn a_server_is_ready_only_with_the_replicas_it_asks_for() {
    let stack = start().await;
    let ns = NAMESPACES[0];
    let servers = Api::<Server>::namespaced(stack.client.clone(), ns);
    servers
        .create(
            &PostParams::default(),
            &from_json(serde_json::json!({
                "metadata": {"name": "mlserver"},
                "spec": {"serverConfig": "mlserver", "replicas": 1}
            })),
        )
        .await
        .unwrap();
    run_statefulset(&stack.client, ns, "mlserver", 1).await;
    let ready = |want: bool, replicas: i32| {
        let servers = servers.clone();
        async move {
            until(
                &format!("mlserver Ready={want} with {replicas}"),
                async || {
                    let s = servers.get("mlserver").await.ok()?;
                    let status = s.status.as_ref()?;
                    (is_ready(&s) == want && status.replicas == replicas).then_some(())
                },
            )
            .await
        }
    };
    ready(true, 1).await;
    servers
        .patch(
            "mlserver",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "spec": { "replicas": 3 } })),
        )
        .await
        .unwrap();
    ready(false, 3).await;
    let statefulsets = Api::<StatefulSet>::namespaced(stack.client.clone(), ns);
    statefulsets
        .patch_status(
            "mlserver",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "status": { "replicas": 3, "readyReplicas": 3 } })),
        )
        .await
        .unwrap();
    ready(true, 3).await;
    stack.app.shutdown().await.unwrap();
    stack.sims.shutdown().await.unwrap();
}
