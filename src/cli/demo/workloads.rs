//! The part of a cluster the demo has to play itself: the StatefulSet and
//! Deployment controllers and the kubelet. switchyard builds every Server's
//! StatefulSet (from its ServerConfig) and every runtime's components (from
//! its SeldonConfig); here, a moment after a workload appears or changes
//! its replicas, its pods are reported ready (`status.replicas`,
//! `readyReplicas`, `observedGeneration`). Garbage collection in the API
//! double removes a deleted owner's workloads.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::Resource;
use kube::api::{Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;
use tokio_util::task::AbortOnDropHandle;

/// How long the demo's pods take to become ready.
const POD_START: Duration = Duration::from_millis(500);

/// Follows every StatefulSet and Deployment until the task is dropped
/// (which stops the status writes still under way).
pub async fn run(client: Client) {
    tokio::join!(
        follow::<StatefulSet>(
            client.clone(),
            |s| s.spec.replicas,
            |s| s.status.as_ref().and_then(|s| s.ready_replicas)
        ),
        follow::<Deployment>(
            client,
            |d| d.spec.replicas,
            |d| d.status.as_ref().and_then(|s| s.ready_replicas)
        ),
    );
}

/// Reports the pods of every `K` ready a moment after it asks for them.
async fn follow<K>(client: Client, wanted: fn(&K) -> Option<i32>, ready: fn(&K) -> Option<i32>)
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let all: Api<K> = Api::all(client.clone());
    let mut events = std::pin::pin!(watcher(all, watcher::Config::default()).default_backoff());
    // The pods starting per StatefulSet, with the replicas they start:
    // replaced when the replicas change, dropped with the StatefulSet.
    let mut starting: HashMap<String, (i32, AbortOnDropHandle<()>)> = HashMap::new();
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::Apply(sts) | watcher::Event::InitApply(sts)) => {
                starting.retain(|_, (_, task)| !task.is_finished());
                let replicas = wanted(&sts).unwrap_or(1);
                let key = key(&sts);
                if ready(&sts) == Some(replicas)
                    || starting.get(&key).is_some_and(|(r, _)| *r == replicas)
                {
                    continue;
                }
                let client = client.clone();
                let start = tokio::spawn(async move {
                    tokio::time::sleep(POD_START).await;
                    if let Err(error) = report_ready(&client, &sts, replicas).await {
                        tracing::warn!(%error, "demo: pods not reported ready");
                    }
                });
                starting.insert(key, (replicas, AbortOnDropHandle::new(start)));
            }
            Ok(watcher::Event::Delete(sts)) => {
                starting.remove(&key(&sts));
            }
            Ok(_) => {}
            Err(error) => tracing::debug!(%error, "demo: workload watch failed; retrying"),
        }
    }
}

fn key<K: Resource>(sts: &K) -> String {
    format!("{}/{}", sts.namespace().unwrap_or_default(), sts.name_any())
}

/// `replicas` pods of `sts`, all ready.
async fn report_ready<K>(client: &Client, sts: &K, replicas: i32) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), &sts.namespace().unwrap_or_default());
    let status = json!({ "status": {
        "replicas": replicas,
        "readyReplicas": replicas,
        "observedGeneration": sts.meta().generation,
    }});
    api.patch_status(
        &sts.name_any(),
        &PatchParams::default(),
        &Patch::Merge(status),
    )
    .await
    .map(drop)
}
