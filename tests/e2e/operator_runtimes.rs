//! SeldonRuntime discovery against the Kubernetes API double: the registry
//! follows the runtimes, the finalizer holds a deleted runtime while its
//! namespace has objects, and watch faults lose no update.

use std::collections::BTreeSet;
use std::time::Duration;
use switchyard_testkit::eventually;

use kube::api::{DeleteParams, PostParams};
use kube::{Api, ResourceExt};
use switchyard_api::model::{Model, ModelSpec};
use switchyard_api::runtime::SeldonRuntime;
use switchyard_core::registry::RuntimeRegistry;
use switchyard_kube_double::{ApiDouble, ApiDoubleHandle};
use switchyard_operator::{
    ApiWriter, RUNTIME_FINALIZER, RuntimeDiscovery, SchedulerAddressing, WatchScope,
};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const RECHECK: Duration = Duration::from_millis(100);
const WAIT: Duration = Duration::from_secs(10);

struct Running {
    registry: RuntimeRegistry,
    ready: watch::Receiver<bool>,
    cancel: CancellationToken,
    _leader: watch::Sender<bool>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn discover(
    double: &ApiDoubleHandle,
    scope: WatchScope,
    addressing: SchedulerAddressing,
) -> Running {
    let (leader, leading) = watch::channel(true);
    let writer = ApiWriter::new(double.client().unwrap(), leading, "switchyard-test");
    let registry = RuntimeRegistry::new();
    let (discovery, ready) =
        RuntimeDiscovery::new(writer, registry.clone(), scope, addressing, RECHECK);
    let cancel = CancellationToken::new();
    tokio::spawn(discovery.run(cancel.clone()));
    Running {
        registry,
        ready,
        cancel,
        _leader: leader,
    }
}

fn registered(registry: &RuntimeRegistry) -> BTreeSet<String> {
    registry.snapshot().keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

async fn create_runtime(double: &ApiDoubleHandle, ns: &str) {
    double.create_runtime(ns).await.unwrap();
}

async fn delete_runtime(double: &ApiDoubleHandle, ns: &str) {
    let api: Api<SeldonRuntime> = Api::namespaced(double.client().unwrap(), ns);
    api.delete("seldon", &DeleteParams::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn runtimes_in_two_namespaces_are_registered_with_templated_or_overridden_addresses() {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    create_runtime(&double, "team-a").await;
    let addressing = SchedulerAddressing {
        overrides: [("team-b".to_owned(), "127.0.0.1:19005".to_owned())].into(),
        ..Default::default()
    };
    let mut running = discover(&double, WatchScope::AllNamespaces, addressing);
    tokio::time::timeout(WAIT, running.ready.wait_for(|r| *r))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        registered(&running.registry),
        set(&["team-a"]),
        "ready after the first list"
    );
    create_runtime(&double, "team-b").await;
    eventually("team-b registered", async || {
        running.registry.get("team-b").is_some()
    })
    .await;
    assert_eq!(
        running.registry.get("team-a").unwrap().address,
        "seldon-scheduler.team-a:9004"
    );
    assert_eq!(
        running.registry.get("team-b").unwrap().address,
        "127.0.0.1:19005"
    );
    // The leader adds the finalizer.
    let api: Api<SeldonRuntime> = Api::namespaced(double.client().unwrap(), "team-b");
    eventually("finalizer added", async || {
        api.get("seldon").await.unwrap().finalizers() == [RUNTIME_FINALIZER]
    })
    .await;
}

#[tokio::test]
async fn a_deleted_runtime_is_held_while_its_namespace_has_a_model() {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let running = discover(&double, WatchScope::AllNamespaces, Default::default());
    create_runtime(&double, "ns").await;
    let runtimes: Api<SeldonRuntime> = Api::namespaced(double.client().unwrap(), "ns");
    eventually("finalizer added", async || {
        runtimes.get("seldon").await.unwrap().finalizers() == [RUNTIME_FINALIZER]
    })
    .await;
    let models: Api<Model> = Api::namespaced(double.client().unwrap(), "ns");
    let mut model = Model::new(
        "iris",
        ModelSpec {
            storage_uri: "gs://m".into(),
            ..Default::default()
        },
    );
    model.metadata.namespace = Some("ns".into());
    models.create(&PostParams::default(), &model).await.unwrap();

    delete_runtime(&double, "ns").await;
    // Several rechecks later the runtime is still there, and registered.
    tokio::time::sleep(RECHECK * 5).await;
    let held = runtimes.get("seldon").await.unwrap();
    assert!(held.metadata.deletion_timestamp.is_some());
    assert_eq!(held.finalizers(), [RUNTIME_FINALIZER]);
    assert!(
        running.registry.get("ns").is_some(),
        "the scheduler is still needed"
    );

    models
        .delete("iris", &DeleteParams::default())
        .await
        .unwrap();
    eventually("runtime gone", async || {
        runtimes.get_opt("seldon").await.unwrap().is_none()
    })
    .await;
    eventually("registry entry gone", async || {
        running.registry.get("ns").is_none()
    })
    .await;
}

#[tokio::test]
async fn a_standby_does_not_touch_finalizers() {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let running = discover(&double, WatchScope::AllNamespaces, Default::default());
    running._leader.send_replace(false);
    create_runtime(&double, "ns").await;
    eventually("registered", async || running.registry.get("ns").is_some()).await;
    tokio::time::sleep(RECHECK * 3).await;
    let runtimes: Api<SeldonRuntime> = Api::namespaced(double.client().unwrap(), "ns");
    assert!(
        runtimes
            .get("seldon")
            .await
            .unwrap()
            .finalizers()
            .is_empty()
    );
    running._leader.send_replace(true);
    eventually("finalizer added once leading", async || {
        runtimes.get("seldon").await.unwrap().finalizers() == [RUNTIME_FINALIZER]
    })
    .await;
}

#[tokio::test]
async fn expired_and_dropped_watches_lose_no_update() {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let mut running = discover(&double, WatchScope::AllNamespaces, Default::default());
    tokio::time::timeout(WAIT, running.ready.wait_for(|r| *r))
        .await
        .unwrap()
        .unwrap();
    create_runtime(&double, "a").await;
    create_runtime(&double, "b").await;
    eventually("a and b", async || {
        registered(&running.registry) == set(&["a", "b"])
    })
    .await;

    // A dropped watch: changes made while it reconnects still arrive.
    double.drop_watches();
    create_runtime(&double, "c").await;
    eventually("c after a dropped watch", async || {
        registered(&running.registry) == set(&["a", "b", "c"])
    })
    .await;

    // 410 Gone on resumption: the watcher relists, and a runtime deleted
    // meanwhile is dropped from the registry.
    eventually("watch reopened", async || double.open_watches() > 0).await;
    double.expire_next_watches(1);
    double.compact_history();
    double.drop_watches();
    delete_runtime(&double, "a").await;
    create_runtime(&double, "d").await;
    eventually("a gone and d added after 410", async || {
        registered(&running.registry) == set(&["b", "c", "d"])
    })
    .await;
}

#[tokio::test]
async fn watch_namespaces_ignore_the_others() {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let scope = WatchScope::resolve(true, &["a".into(), "b".into()], None);
    let mut running = discover(&double, scope, Default::default());
    tokio::time::timeout(WAIT, running.ready.wait_for(|r| *r))
        .await
        .unwrap()
        .unwrap();
    for ns in ["a", "b", "other"] {
        create_runtime(&double, ns).await;
    }
    eventually("a and b", async || {
        registered(&running.registry) == set(&["a", "b"])
    })
    .await;
    tokio::time::sleep(RECHECK * 3).await;
    assert_eq!(registered(&running.registry), set(&["a", "b"]));
    let other: Api<SeldonRuntime> = Api::namespaced(double.client().unwrap(), "other");
    assert!(
        other.get("seldon").await.unwrap().finalizers().is_empty(),
        "not ours"
    );
}

#[tokio::test]
async fn the_app_starts_discovery_and_leader_election() {
    use switchyard::app::{App, AppConfig, KubeConnection, KubernetesConfig};
    use switchyard::config::GatewayConfig;
    use switchyard_operator::LeaderElectionConfig;

    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    create_runtime(&double, "ns").await;
    let mut election = LeaderElectionConfig::new("seldon-system");
    election.lease_duration = Duration::from_secs(2);
    election.renew_deadline = Duration::from_millis(1500);
    election.retry_period = Duration::from_millis(200);
    let app = App::start(
        AppConfig {
            gateway: GatewayConfig::default(),
            gateway_listen: "127.0.0.1:0".parse().unwrap(),
            metrics_listen: None,
            admin_limits: switchyard::telemetry::admin::ADMIN_LIMITS,
            spread: Default::default(),
            runtimes: Default::default(),
            kubernetes: Some(KubernetesConfig {
                connection: KubeConnection::Config(Box::new(double.kube_config())),
                scope: WatchScope::AllNamespaces,
                addressing: Default::default(),
                leader_election: Some(election),
                seldon_operator_guard: Some(Duration::from_secs(1)),
                templates_namespace: "seldon-mesh".into(),
                use_deployments_for_servers: false,
                finalizer_recheck: RECHECK,
                tuning: Default::default(),
            }),
        },
        None,
    )
    .await
    .unwrap();
    let parts = app.kubernetes.clone().unwrap();
    let mut leading = parts.leadership.clone();
    tokio::time::timeout(WAIT, leading.wait_for(|l| *l))
        .await
        .unwrap()
        .unwrap();
    assert!(parts.writer.is_leader());
    eventually("registered", async || app.registry.get("ns").is_some()).await;
    app.shutdown().await.unwrap();
    assert!(!*parts.leadership.borrow(), "released on shutdown");
}
