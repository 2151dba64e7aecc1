//! The controllers against the Kubernetes API double (real `kube::Client`
//! over HTTP) and simulated schedulers reached through the pool (real gRPC).

use std::net::SocketAddr;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use std::sync::Arc;
use switchyard_api::experiment::ExperimentCandidate;
use switchyard_api::model::{ExplainerSpec, LlmSpec};
use switchyard_api::pipeline::PipelineStep;
use switchyard_api::{
    ConditionStatus, Experiment, ExperimentSpec, Model, ModelSpec, Pipeline, PipelineSpec, Server,
    ServerSpec,
};
use switchyard_core::bus::StatusBus;
use switchyard_core::registry::{RuntimeRegistry, RuntimeSpec};
use switchyard_kube_double::{ApiDouble, ApiDoubleHandle};
use switchyard_operator::controllers::{DELETION_RECHECK, MODEL_FINALIZER, PIPELINE_FINALIZER};
use switchyard_operator::{ApiWriter, Context, Controllers};
use switchyard_proto::scheduler::scheduler_client::SchedulerClient;
use switchyard_proto::scheduler::{ModelReference, ModelStatusRequest};
use switchyard_scheduler::SchedulerPool;
use switchyard_simulator::{Rpc, Simulator, SimulatorConfig, SimulatorHandle};
use switchyard_tasks::TaskGroup;
use switchyard_testkit::eventually;
use tokio::sync::watch;
use tonic::Code;
use tonic::transport::Channel;

const DEADLINE: Duration = Duration::from_secs(20);

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

struct Harness {
    double: ApiDoubleHandle,
    client: Client,
    sims: Vec<SimulatorHandle>,
    tasks: TaskGroup,
    pool_task: tokio::task::JoinHandle<()>,
    leader: watch::Sender<bool>,
}

impl Harness {
    async fn start(namespaces: &[&str]) -> Harness {
        Self::start_tuned(namespaces, Duration::ZERO, DELETION_RECHECK).await
    }

    /// With every API request delayed by `latency` from the start.
    async fn start_with_latency(namespaces: &[&str], latency: Duration) -> Harness {
        Self::start_tuned(namespaces, latency, DELETION_RECHECK).await
    }

    /// With API latency, and accepted deletions re-checked every `recheck`.
    async fn start_tuned(namespaces: &[&str], latency: Duration, recheck: Duration) -> Harness {
        let double = ApiDouble::start(loopback()).await.unwrap();
        let client = double.client().unwrap();
        crate::common::install_seldon_templates(&client).await;
        double.set_latency(latency);
        let registry = RuntimeRegistry::new();
        let mut sims = Vec::new();
        for ns in namespaces {
            let mut config = SimulatorConfig::new(*ns, loopback());
            config.sync_timeout = Duration::ZERO;
            let sim = Simulator::start(config).await.unwrap();
            registry.apply(RuntimeSpec {
                namespace: ns.to_string(),
                address: sim.local_addr().to_string(),
                tls: None,
            });
            sims.push(sim);
        }
        let tasks = TaskGroup::new("test");
        let cancel = tasks.token();
        let pool = SchedulerPool::new(StatusBus::new(1024), None);
        let pool_task = tokio::spawn({
            let pool = pool.clone();
            let cancel = cancel.clone();
            async move { pool.follow(registry, cancel).await }
        });
        let (leader, rx) = watch::channel(true);
        let writer = ApiWriter::new(client.clone(), rx, "switchyard-test");
        let context = Context::new(writer, Arc::new(pool)).with_deletion_recheck(recheck);
        Controllers::start(context, None, &tasks);
        Harness {
            double,
            client,
            sims,
            tasks,
            pool_task,
            leader,
        }
    }

    fn sim(&self, ns: &str) -> &SimulatorHandle {
        self.sims.iter().find(|s| s.namespace() == ns).unwrap()
    }

    fn api<K>(&self, ns: &str) -> Api<K>
    where
        K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
    {
        Api::namespaced(self.client.clone(), ns)
    }

    fn double(&self) -> &ApiDoubleHandle {
        &self.double
    }

    async fn stop(mut self) {
        // Reconciles stuck on a slow scheduler are dropped after the
        // grace period; that is not what these tests are about.
        assert_eq!(self.tasks.shutdown(DEADLINE).await, Ok(()));
        let _ = (&mut self.pool_task).await;
    }
}

fn model(ns: &str, name: &str, spec: ModelSpec) -> Model {
    let mut m = Model::new(name, spec);
    m.metadata.namespace = Some(ns.into());
    m
}

fn valid_spec() -> ModelSpec {
    ModelSpec {
        storage_uri: "gs://models/iris".into(),
        ..Default::default()
    }
}

/// The generation the scheduler holds for model `name`, if any.
async fn scheduler_generation(sim: &SimulatorHandle, name: &str) -> Option<i64> {
    let channel = Channel::from_shared(sim.uri()).ok()?.connect().await.ok()?;
    let mut client = SchedulerClient::new(channel);
    let mut stream = client
        .model_status(ModelStatusRequest {
            model: Some(ModelReference {
                name: name.into(),
                version: None,
            }),
            ..Default::default()
        })
        .await
        .ok()?
        .into_inner();
    let status = stream.message().await.ok()??;
    status
        .versions
        .iter()
        .filter_map(|v| v.kubernetes_meta.as_ref())
        .map(|m| m.generation)
        .max()
}

fn condition(
    conditions: &[switchyard_api::Condition],
    type_: &str,
) -> Option<(ConditionStatus, String, String)> {
    conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status, c.reason.clone(), c.message.clone()))
}

async fn events_for(client: &Client, ns: &str, name: &str) -> Vec<(String, String, String)> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    api.list(&Default::default())
        .await
        .map(|l| {
            l.items
                .into_iter()
                .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
                .map(|e| {
                    (
                        e.type_.unwrap_or_default(),
                        e.reason.unwrap_or_default(),
                        e.note.unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn model_lifecycle_load_change_label_delete() {
    let h = Harness::start(&["alpha"]).await;
    let api: Api<Model> = h.api("alpha");
    let sim = h.sim("alpha");
    api.create(
        &PostParams::default(),
        &model("alpha", "iris", valid_spec()),
    )
    .await
    .unwrap();

    eventually("finalizer and load of generation 1", || async {
        let m = api.get("iris").await.unwrap();
        m.finalizers().iter().any(|f| f == MODEL_FINALIZER)
            && scheduler_generation(sim, "iris").await == Some(1)
    })
    .await;
    assert_eq!(sim.calls(Rpc::LoadModel), 1);
    // An accepted load writes nothing: the status (and observedGeneration)
    // is the status stream's to write, and this harness runs none.
    assert_eq!(api.get("iris").await.unwrap().status, None);

    // A spec change: a second LoadModel with the new generation.
    api.patch(
        "iris",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"storageUri": "gs://models/iris-2"}})),
    )
    .await
    .unwrap();
    eventually("load of generation 2", || async {
        scheduler_generation(sim, "iris").await == Some(2)
    })
    .await;
    assert_eq!(sim.calls(Rpc::LoadModel), 2);

    // A label-only change does not reach the scheduler.
    api.patch(
        "iris",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"team": "a"}}})),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sim.calls(Rpc::LoadModel),
        2,
        "labels do not call the scheduler"
    );

    // Deletion: UnloadModel once, the finalizer stays for the status writer.
    api.delete("iris", &DeleteParams::default()).await.unwrap();
    eventually("UnloadModel", || async { sim.calls(Rpc::UnloadModel) == 1 }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let m = api.get("iris").await.unwrap();
    assert!(m.metadata.deletion_timestamp.is_some());
    assert_eq!(m.finalizers(), [MODEL_FINALIZER]);
    assert_eq!(sim.calls(Rpc::UnloadModel), 1, "unload sent once");
    let events = events_for(&h.client, "alpha", "iris").await;
    assert!(
        !events.iter().any(|(_, r, _)| r == "Loaded"),
        "an accepted load records no event: {events:?}"
    );
    assert!(
        events.iter().any(|(_, r, _)| r == "UnloadRequested"),
        "{events:?}"
    );
    h.stop().await;
}

#[tokio::test]
async fn invalid_models_get_a_condition_and_event_naming_the_field_and_do_not_block_others() {
    let h = Harness::start(&["alpha"]).await;
    let api: Api<Model> = h.api("alpha");
    let sim = h.sim("alpha");
    let bad = [
        (
            "bad-memory",
            ModelSpec {
                memory: Some(Quantity("-1Gi".into())),
                ..valid_spec()
            },
            "spec.memory",
        ),
        (
            "explainer-llm",
            ModelSpec {
                explainer: Some(ExplainerSpec {
                    type_: "anchor_tabular".into(),
                    model_ref: Some("iris".into()),
                    pipeline_ref: None,
                }),
                llm: Some(LlmSpec {
                    model_ref: Some("iris".into()),
                    pipeline_ref: None,
                }),
                ..valid_spec()
            },
            "spec.explainer",
        ),
        (
            "min-above-max",
            ModelSpec {
                min_replicas: Some(5),
                max_replicas: Some(2),
                ..valid_spec()
            },
            "spec.minReplicas",
        ),
    ];
    for (name, spec, _) in &bad {
        api.create(&PostParams::default(), &model("alpha", name, spec.clone()))
            .await
            .unwrap();
    }
    api.create(
        &PostParams::default(),
        &model("alpha", "good", valid_spec()),
    )
    .await
    .unwrap();

    for (name, _, field) in &bad {
        eventually(&format!("{name}: ModelReady False naming {field}"), || async {
            let m = api.get(name).await.unwrap();
            let Some(status) = m.status else { return false };
            matches!(
                condition(&status.duck.conditions, "ModelReady"),
                Some((ConditionStatus::False, reason, message)) if reason == "ModelFailed" && message.contains(field)
            ) && status.duck.observed_generation == Some(1)
        })
        .await;
        eventually(
            &format!("{name}: Warning InvalidSpec naming {field}"),
            || async {
                events_for(&h.client, "alpha", name)
                    .await
                    .iter()
                    .any(|(t, r, note)| {
                        t == "Warning" && r == "InvalidSpec" && note.contains(field)
                    })
            },
        )
        .await;
    }
    eventually("the valid model loads", || async {
        scheduler_generation(sim, "good").await == Some(1)
    })
    .await;
    assert_eq!(
        sim.calls(Rpc::LoadModel),
        1,
        "only the valid model reached the scheduler"
    );
    h.stop().await;
}

#[tokio::test]
async fn unavailable_is_retried_until_it_succeeds_and_failed_precondition_is_final() {
    let h = Harness::start(&["alpha"]).await;
    let api: Api<Model> = h.api("alpha");
    let sim = h.sim("alpha");
    sim.fail_calls(Code::Unavailable, Some(Rpc::LoadModel));
    api.create(
        &PostParams::default(),
        &model("alpha", "iris", valid_spec()),
    )
    .await
    .unwrap();
    eventually("ModelReady False, progressing", || async {
        let m = api.get("iris").await.unwrap();
        m.status.is_some_and(|s| {
            matches!(condition(&s.duck.conditions, "ModelReady"),
                Some((ConditionStatus::False, reason, _)) if reason == "ModelProgressing")
        })
    })
    .await;
    eventually("two attempts", || async { sim.calls(Rpc::LoadModel) >= 2 }).await;
    sim.clear_failures();
    eventually("the retry succeeds", || async {
        scheduler_generation(sim, "iris").await == Some(1)
    })
    .await;

    // FailedPrecondition: final, no retry.
    sim.fail_calls(Code::FailedPrecondition, Some(Rpc::LoadModel));
    api.create(
        &PostParams::default(),
        &model("alpha", "refused", valid_spec()),
    )
    .await
    .unwrap();
    eventually("ModelReady False, failed", || async {
        let m = api.get("refused").await.unwrap();
        m.status.is_some_and(|s| {
            matches!(condition(&s.duck.conditions, "ModelReady"),
                Some((ConditionStatus::False, reason, _)) if reason == "ModelFailed")
        })
    })
    .await;
    let calls = sim.calls(Rpc::LoadModel);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        sim.calls(Rpc::LoadModel),
        calls,
        "a final error is not retried"
    );
    h.stop().await;
}

#[tokio::test]
async fn pipelines_and_experiments_are_loaded_and_unloaded() {
    let h = Harness::start(&["alpha"]).await;
    let sim = h.sim("alpha");
    let pipelines: Api<Pipeline> = h.api("alpha");
    let experiments: Api<Experiment> = h.api("alpha");
    let mut p = Pipeline::new(
        "chain",
        PipelineSpec {
            steps: vec![PipelineStep {
                name: "iris".into(),
                ..Default::default()
            }],
            ..Default::default()
        },
    );
    p.metadata.namespace = Some("alpha".into());
    pipelines.create(&PostParams::default(), &p).await.unwrap();
    let mut e = Experiment::new(
        "ab",
        ExperimentSpec {
            default: Some("iris".into()),
            candidates: vec![
                ExperimentCandidate {
                    name: "iris".into(),
                    weight: 50,
                },
                ExperimentCandidate {
                    name: "iris2".into(),
                    weight: 50,
                },
            ],
            ..Default::default()
        },
    );
    e.metadata.namespace = Some("alpha".into());
    experiments
        .create(&PostParams::default(), &e)
        .await
        .unwrap();

    eventually("LoadPipeline and StartExperiment", || async {
        sim.calls(Rpc::LoadPipeline) == 1 && sim.calls(Rpc::StartExperiment) == 1
    })
    .await;
    eventually("both finalizers", || async {
        pipelines.get("chain").await.unwrap().finalizers() == [PIPELINE_FINALIZER]
            && !experiments.get("ab").await.unwrap().finalizers().is_empty()
    })
    .await;

    pipelines
        .delete("chain", &DeleteParams::default())
        .await
        .unwrap();
    experiments
        .delete("ab", &DeleteParams::default())
        .await
        .unwrap();
    eventually("UnloadPipeline and StopExperiment", || async {
        sim.calls(Rpc::UnloadPipeline) == 1 && sim.calls(Rpc::StopExperiment) == 1
    })
    .await;
    eventually("PipelineReady False, PipelineTerminating", || async {
        match pipelines.get_opt("chain").await.unwrap() {
            // The status writer may already have let it go.
            None => true,
            Some(p) => p.status.is_some_and(|s| {
                matches!(condition(&s.duck.conditions, "PipelineReady"),
                    Some((ConditionStatus::False, reason, _)) if reason == "PipelineTerminating")
            }),
        }
    })
    .await;
    h.stop().await;
}

fn server(ns: &str, name: &str, spec: ServerSpec) -> Server {
    let mut s = Server::new(name, spec);
    s.metadata.namespace = Some(ns.into());
    s
}

#[tokio::test]
async fn servers_are_notified_per_generation_and_invalid_scaling_is_rejected() {
    let h = Harness::start(&["alpha"]).await;
    let sim = h.sim("alpha");
    let api: Api<Server> = h.api("alpha");
    let spec = ServerSpec {
        server_config: "mlserver".into(),
        replicas: Some(1),
        ..Default::default()
    };
    api.create(
        &PostParams::default(),
        &server("alpha", "mlserver", spec.clone()),
    )
    .await
    .unwrap();
    eventually("ServerNotify on create", || async {
        sim.calls(Rpc::ServerNotify) == 1
            && api
                .get("mlserver")
                .await
                .unwrap()
                .status
                .and_then(|s| s.duck.observed_generation)
                == Some(1)
    })
    .await;

    // Status and label updates do not notify; a spec change does.
    api.patch(
        "mlserver",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sim.calls(Rpc::ServerNotify), 1);
    api.patch(
        "mlserver",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 2}})),
    )
    .await
    .unwrap();
    eventually("ServerNotify on spec change", || async {
        sim.calls(Rpc::ServerNotify) == 2
    })
    .await;

    let bad = ServerSpec {
        min_replicas: Some(4),
        max_replicas: Some(2),
        replicas: None,
        ..spec
    };
    api.create(&PostParams::default(), &server("alpha", "broken", bad))
        .await
        .unwrap();
    eventually(
        "StatefulSetOrDeploymentReady False naming the fields",
        || async {
            api.get("broken").await.unwrap().status.is_some_and(|s| {
                matches!(condition(&s.duck.conditions, "StatefulSetOrDeploymentReady"),
                Some((ConditionStatus::False, _, message)) if message.contains("spec.minReplicas"))
            })
        },
    )
    .await;
    eventually("Warning InvalidSpec", || async {
        events_for(&h.client, "alpha", "broken")
            .await
            .iter()
            .any(|(t, r, note)| {
                t == "Warning" && r == "InvalidSpec" && note.contains("spec.maxReplicas")
            })
    })
    .await;
    assert_eq!(
        sim.calls(Rpc::ServerNotify),
        2,
        "the invalid Server was not sent"
    );

    // Deleting a Server notifies 0 replicas once.
    api.delete("mlserver", &DeleteParams::default())
        .await
        .unwrap();
    eventually("0-replica ServerNotify", || async {
        sim.calls(Rpc::ServerNotify) == 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.calls(Rpc::ServerNotify), 3);
    h.stop().await;
}

#[tokio::test]
async fn a_slow_namespace_does_not_delay_another() {
    let h = Harness::start(&["slow", "fast"]).await;
    // Slower than the whole fast side may take, under the 10 s call bound.
    h.sim("slow").set_call_latency(Duration::from_secs(9));
    let slow: Api<Model> = h.api("slow");
    let fast: Api<Model> = h.api("fast");
    for i in 0..20 {
        slow.create(
            &PostParams::default(),
            &model("slow", &format!("s{i}"), valid_spec()),
        )
        .await
        .unwrap();
    }
    // Let the slow loads occupy workers first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..5 {
        fast.create(
            &PostParams::default(),
            &model("fast", &format!("f{i}"), valid_spec()),
        )
        .await
        .unwrap();
    }
    let sim = h.sim("fast");
    eventually("fast loads", || async { sim.calls(Rpc::LoadModel) == 5 }).await;
    // Every fast load was sent while the slow ones were still waiting on
    // their scheduler: none of them has been answered yet.
    let answered = slow
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|m| {
            m.status
                .as_ref()
                .and_then(|s| s.duck.observed_generation)
                .is_some()
        })
        .count();
    assert_eq!(answered, 0, "the fast namespace waited for the slow one");
    h.stop().await;
}

/// A shutdown while the first lists are still in flight (a slow API server)
/// stops every controller cleanly: kube-runtime alone would wait forever for
/// a store that can no longer become ready.
#[tokio::test]
async fn stopping_before_the_first_list_completes_is_clean() {
    let double = ApiDouble::start(loopback()).await.unwrap();
    double.set_latency(Duration::from_secs(3));
    let tasks = TaskGroup::new("test");
    let pool = SchedulerPool::new(StatusBus::new(16), None);
    let (_leader, rx) = watch::channel(true);
    let writer = ApiWriter::new(double.client().unwrap(), rx, "switchyard-test");
    Controllers::start(Context::new(writer, Arc::new(pool)), None, &tasks);
    // Well inside the injected latency: every first list is in flight.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        tasks.shutdown(DEADLINE).await,
        Ok(()),
        "every controller stopped"
    );
    assert_eq!(tasks.failure(), None, "not stopped cleanly");
}

/// Losing the lease while the first lists are in flight stops the
/// controllers, and winning it back starts them again.
#[tokio::test]
async fn a_lease_lost_before_the_first_list_completes_comes_back() {
    let h = Harness::start_with_latency(&["alpha"], Duration::from_secs(2)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.leader.send_replace(false);
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.double().set_latency(Duration::ZERO);
    h.leader.send_replace(true);
    let api: Api<Model> = h.api("alpha");
    api.create(
        &PostParams::default(),
        &model("alpha", "iris", valid_spec()),
    )
    .await
    .unwrap();
    let sim = h.sim("alpha");
    eventually("the model loaded by the new term", || async {
        sim.calls(Rpc::LoadModel) == 1
    })
    .await;
    h.stop().await;
}

/// A StatefulSet the way Seldon's charts make one: the Server's name,
/// `replicas` desired and `ready` of them ready.
/// Plays the StatefulSet controller and the kubelet on the StatefulSet
/// switchyard created for Server `name`: `replicas` pods, `ready` of them
/// ready.
async fn put_statefulset(client: &Client, ns: &str, name: &str, replicas: i32, ready: i32) {
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    eventually("switchyard created the StatefulSet", || async {
        api.get_opt(name).await.ok().flatten().is_some()
    })
    .await;
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"replicas": replicas, "readyReplicas": ready}})),
    )
    .await
    .unwrap();
}

async fn workload_condition(api: &Api<Server>, name: &str) -> Option<(ConditionStatus, String)> {
    let status = api.get(name).await.ok()?.status?;
    condition(&status.duck.conditions, "StatefulSetOrDeploymentReady").map(|(s, r, _)| (s, r))
}

#[tokio::test]
async fn a_server_is_ready_when_its_statefulset_is() {
    let h = Harness::start(&["alpha"]).await;
    let api: Api<Server> = h.api("alpha");
    let spec = ServerSpec {
        server_config: "mlserver".into(),
        replicas: Some(2),
        ..Default::default()
    };
    api.create(&PostParams::default(), &server("alpha", "mlserver", spec))
        .await
        .unwrap();
    // switchyard builds the StatefulSet (2 replicas, from the ServerConfig)
    // and its two headless Services; no pod is ready yet.
    let statefulsets: Api<StatefulSet> = Api::namespaced(h.client.clone(), "alpha");
    eventually("a StatefulSet of 2 built from the ServerConfig", || async {
        let Ok(Some(sts)) = statefulsets.get_opt("mlserver").await else {
            return false;
        };
        let spec = sts.spec;
        spec.replicas == Some(2)
            && spec
                .template
                .spec
                .is_some_and(|pod| pod.containers.iter().any(|c| c.name == "agent"))
    })
    .await;
    let services: Api<k8s_openapi::api::core::v1::Service> =
        Api::namespaced(h.client.clone(), "alpha");
    for replica in ["mlserver-0", "mlserver-1"] {
        assert!(
            services.get_opt(replica).await.unwrap().is_some(),
            "{replica}"
        );
    }
    eventually("False with no pod ready, scale fields set", || async {
        let Ok(s) = api.get("mlserver").await else {
            return false;
        };
        let status = s.status.unwrap_or_default();
        status.selector == "seldon-server-name=mlserver"
            && status.replicas == 2
            && matches!(
                condition(&status.duck.conditions, "StatefulSetOrDeploymentReady"),
                Some((ConditionStatus::False, _, _))
            )
    })
    .await;

    put_statefulset(&h.client, "alpha", "mlserver", 2, 1).await;
    eventually("False while 1 of 2 replicas is ready", || async {
        workload_condition(&api, "mlserver").await
            == Some((ConditionStatus::False, "ReplicasNotReady".into()))
    })
    .await;
    put_statefulset(&h.client, "alpha", "mlserver", 2, 2).await;
    eventually("Ready once both are", || async {
        let Ok(s) = api.get("mlserver").await else {
            return false;
        };
        let conditions = s.status.unwrap_or_default().duck.conditions;
        matches!(
            condition(&conditions, "Ready"),
            Some((ConditionStatus::True, _, _))
        )
    })
    .await;
    put_statefulset(&h.client, "alpha", "mlserver", 2, 0).await;
    eventually("Warning ServerNotReady when the pods go", || async {
        events_for(&h.client, "alpha", "mlserver")
            .await
            .iter()
            .any(|(t, r, _)| t == "Warning" && r == "ServerNotReady")
    })
    .await;
    // Becoming Ready the first time is the condition's news alone; coming
    // back after a fall gets an event.
    let events = events_for(&h.client, "alpha", "mlserver").await;
    assert!(
        !events
            .iter()
            .any(|(_, r, _)| r == "ServerReady" || r == "Notified"),
        "{events:?}"
    );
    put_statefulset(&h.client, "alpha", "mlserver", 2, 2).await;
    eventually("Normal ServerReady when the pods are back", || async {
        events_for(&h.client, "alpha", "mlserver")
            .await
            .iter()
            .any(|(t, r, _)| t == "Normal" && r == "ServerReady")
    })
    .await;
    h.stop().await;
}

/// The end of a deletion can go unreported (the status stream was down
/// when the scheduler sent it, and it forgets the object after). This
/// harness runs no status writer at all, so only the controller's re-check
/// with the scheduler can release the finalizers.
#[tokio::test]
async fn deletions_whose_end_is_never_reported_are_released_by_asking_the_scheduler() {
    let h = Harness::start_tuned(&["alpha"], Duration::ZERO, Duration::from_millis(300)).await;
    let sim = h.sim("alpha");
    let models: Api<Model> = h.api("alpha");
    let pipelines: Api<Pipeline> = h.api("alpha");
    let experiments: Api<Experiment> = h.api("alpha");
    models
        .create(
            &PostParams::default(),
            &model("alpha", "iris", valid_spec()),
        )
        .await
        .unwrap();
    let mut pipeline = Pipeline::new(
        "flow",
        PipelineSpec {
            steps: vec![PipelineStep {
                name: "iris".into(),
                ..Default::default()
            }],
            ..Default::default()
        },
    );
    pipeline.metadata.namespace = Some("alpha".into());
    pipelines
        .create(&PostParams::default(), &pipeline)
        .await
        .unwrap();
    let mut experiment = Experiment::new(
        "ab",
        ExperimentSpec {
            candidates: vec![ExperimentCandidate {
                name: "iris".into(),
                weight: 100,
            }],
            ..Default::default()
        },
    );
    experiment.metadata.namespace = Some("alpha".into());
    experiments
        .create(&PostParams::default(), &experiment)
        .await
        .unwrap();
    eventually("all three sent", || async {
        sim.calls(Rpc::LoadModel) == 1
            && sim.calls(Rpc::LoadPipeline) == 1
            && sim.calls(Rpc::StartExperiment) == 1
    })
    .await;

    let delete = DeleteParams::default();
    models.delete("iris", &delete).await.unwrap();
    pipelines.delete("flow", &delete).await.unwrap();
    experiments.delete("ab", &delete).await.unwrap();
    eventually("every object released and gone", || async {
        models.get_opt("iris").await.unwrap().is_none()
            && pipelines.get_opt("flow").await.unwrap().is_none()
            && experiments.get_opt("ab").await.unwrap().is_none()
    })
    .await;
    assert_eq!(sim.calls(Rpc::UnloadModel), 1);
    assert_eq!(sim.calls(Rpc::UnloadPipeline), 1);
    assert_eq!(sim.calls(Rpc::StopExperiment), 1);
    h.stop().await;
}
