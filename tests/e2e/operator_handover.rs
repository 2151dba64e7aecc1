//! Two `switchyard run --kubernetes` processes against one Kubernetes API
//! double, as two replicas of the Deployment: the leader is killed with
//! SIGKILL (no lease release, no cleanup), and the standby takes over once
//! the lease expires and carries on reconciling. Also `/readyz` over HTTP:
//! ready once the first lists are synced, not ready while the API server
//! cannot be reached.

use crate::common;
use crate::common::model;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::process::{field_value, http_get, switchyard_with_env};
use common::until;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{DeleteParams, PostParams};
use kube::{Api, Client};
use switchyard_api::model::Model;
use switchyard_kube_double::{ApiDouble, ApiDoubleHandle};
use switchyard_simulator::{Rpc, Simulator, SimulatorConfig, SimulatorHandle};
use tokio::process::Child;

const LEASE_NAMESPACE: &str = "seldon-system";
const NAMESPACE: &str = "team-a";

/// A kubeconfig that points at `server`, with no credentials.
pub(crate) fn kubeconfig(dir: &Path, server: &str) -> PathBuf {
    let path = dir.join(format!("kubeconfig-{}", server.replace([':', '/'], "_")));
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n\
             contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n\
             current-context: c\nusers:\n- name: u\n  user: {{}}\n"
        ),
    )
    .unwrap();
    path
}

/// The operator's config: short leases so a takeover is quick, the
/// simulated scheduler as `team-a`'s address.
fn config(dir: &Path, scheduler: SocketAddr, leader_elect: bool) -> PathBuf {
    let path = dir.join(format!("switchyard-{leader_elect}.toml"));
    std::fs::write(
        &path,
        format!(
            r#"
[gateway]
listen = "127.0.0.1:0"
[metrics]
listen = "127.0.0.1:0"
[kubernetes]
enabled = true
clusterwide = true
namespace = "{LEASE_NAMESPACE}"
leader_elect = {leader_elect}
lease_duration_seconds = 3
renew_deadline_seconds = 2
retry_period_seconds = 1
[kubernetes.scheduler_addresses]
{NAMESPACE} = "{scheduler}"
"#
        ),
    )
    .unwrap();
    path
}

/// Starts a replica named `pod`; returns it with its metrics address.
async fn replica(config: &Path, kubeconfig: &Path, pod: &str) -> (Child, SocketAddr) {
    let (child, line) = switchyard_with_env(
        &[
            "run",
            "--config",
            config.to_str().unwrap(),
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
        ],
        &[("POD_NAME", pod)],
        "switchyard running",
    )
    .await;
    let metrics = field_value(&line, "metrics")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no metrics address in {line:?}"));
    (child, metrics)
}

/// The lease's holder and transition count.
async fn lease(client: &Client) -> Option<(String, i32)> {
    let lease = Api::<Lease>::namespaced(client.clone(), LEASE_NAMESPACE)
        .get_opt("switchyard-leader")
        .await
        .ok()??;
    let spec = lease.spec?;
    Some((
        spec.holder_identity.unwrap_or_default(),
        spec.lease_transitions.unwrap_or_default(),
    ))
}

fn is_ready(m: &Model) -> bool {
    m.status.as_ref().is_some_and(|s| {
        s.duck
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == switchyard_api::ConditionStatus::True)
    })
}

async fn create_runtime(double: &ApiDoubleHandle) {
    double.create_runtime(NAMESPACE).await.unwrap();
}

async fn scheduler() -> SimulatorHandle {
    let mut config = SimulatorConfig::new(NAMESPACE, "127.0.0.1:0".parse().unwrap());
    config.sync_timeout = Duration::ZERO;
    Simulator::start(config).await.unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchyard-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_killed_leader_is_replaced_once_its_lease_expires() {
    let double = ApiDouble::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = double.client().unwrap();
    let sim = scheduler().await;
    create_runtime(&double).await;
    let dir = temp_dir("handover");
    let config = config(&dir, sim.local_addr(), true);
    let kubeconfig = kubeconfig(&dir, &double.url());

    let (mut a, a_metrics) = replica(&config, &kubeconfig, "replica-a").await;
    until("replica-a leads", async || {
        lease(&client).await.filter(|(h, _)| h == "replica-a")
    })
    .await;
    let (mut b, b_metrics) = replica(&config, &kubeconfig, "replica-b").await;
    // Both are ready once their first lists are synced, leader or not.
    for metrics in [a_metrics, b_metrics] {
        until("/readyz 200", async || {
            http_get(metrics, "/readyz")
                .await
                .starts_with("HTTP/1.1 200")
                .then_some(())
        })
        .await;
    }

    let models = Api::<Model>::namespaced(client.clone(), NAMESPACE);
    models
        .create(&PostParams::default(), &model("iris"))
        .await
        .unwrap();
    until("iris Ready", async || {
        is_ready(&models.get("iris").await.ok()?).then_some(())
    })
    .await;
    let (holder, transitions) = lease(&client).await.unwrap();
    assert_eq!(holder, "replica-a", "the standby must not take the lease");

    // SIGKILL: the lease is not released; replica-b must wait for it to
    // expire, then lead.
    a.kill().await.unwrap();
    let (_, after) = until("replica-b leads", async || {
        lease(&client).await.filter(|(h, _)| h == "replica-b")
    })
    .await;
    assert!(after > transitions, "a takeover counts as a transition");

    // The new leader reconciles new objects and finishes deletions.
    models
        .create(&PostParams::default(), &model("iris2"))
        .await
        .unwrap();
    until("iris2 Ready", async || {
        is_ready(&models.get("iris2").await.ok()?).then_some(())
    })
    .await;
    models
        .delete("iris", &DeleteParams::default())
        .await
        .unwrap();
    until("iris unloaded and gone", async || {
        let gone = models.get_opt("iris").await.ok()?.is_none();
        (gone && sim.calls(Rpc::UnloadModel) >= 1).then_some(())
    })
    .await;
    b.kill().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn readyz_waits_for_the_api_server() {
    // A port nothing listens on: the first lists never complete.
    let refusing = switchyard_testkit::RefusingPort::new().unwrap();
    let server = format!("http://{}", refusing.addr());
    let sim = scheduler().await;
    let dir = temp_dir("readyz");
    let config = config(&dir, sim.local_addr(), false);
    let kubeconfig = kubeconfig(&dir, &server);
    let (mut child, metrics) = replica(&config, &kubeconfig, "replica-c").await;
    assert!(
        http_get(metrics, "/healthz")
            .await
            .starts_with("HTTP/1.1 200")
    );
    // Give discovery time to try (and fail) a few times.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let readyz = http_get(metrics, "/readyz").await;
    assert!(readyz.starts_with("HTTP/1.1 503"), "{readyz}");
    child.kill().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
