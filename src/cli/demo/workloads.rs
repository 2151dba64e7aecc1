//! The part of a cluster the demo has to play itself: the StatefulSet that
//! Seldon's charts run for every Server, and the kubelet bringing its pods
//! up. For each Server in the API double it keeps a StatefulSet of the same
//! name with the Server's replicas, and reports them ready a moment later;
//! a deleted Server takes its StatefulSet with it. The operator then reads
//! the Server's readiness from it, as it would in a cluster.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use tokio_util::task::AbortOnDropHandle;

use switchyard_api::Server;
use switchyard_operator::controllers::workload::SERVER_NAME_LABEL;

/// How long the demo's pods take to become ready.
const POD_START: Duration = Duration::from_millis(500);

/// Follows every Server until the task is dropped (which stops the
/// StatefulSet writes still under way).
pub async fn run(client: Client) {
    let servers: Api<Server> = Api::all(client.clone());
    let mut events = std::pin::pin!(watcher(servers, watcher::Config::default()).default_backoff());
    // The write under way per Server, with the generation it writes:
    // replaced when the spec changes (status updates leave it running),
    // stopped before its Server's StatefulSet is removed.
    let mut writing: HashMap<String, (Option<i64>, AbortOnDropHandle<()>)> = HashMap::new();
    while let Some(event) = events.next().await {
        let result = match event {
            Ok(watcher::Event::Apply(s) | watcher::Event::InitApply(s)) => {
                if s.metadata.deletion_timestamp.is_some() {
                    writing.remove(&key(&s));
                    remove(&client, &s).await
                } else {
                    writing.retain(|_, (_, w)| !w.is_finished());
                    let server = key(&s);
                    let generation = s.metadata.generation;
                    if writing.get(&server).is_none_or(|(g, _)| *g != generation) {
                        let client = client.clone();
                        // Pods take a moment; other Servers do not wait for it.
                        let write = tokio::spawn(async move {
                            if let Err(error) = apply(&client, &s).await {
                                tracing::warn!(error = %error, "demo: StatefulSet not written");
                            }
                        });
                        writing.insert(server, (generation, AbortOnDropHandle::new(write)));
                    }
                    Ok(())
                }
            }
            Ok(watcher::Event::Delete(s)) => {
                writing.remove(&key(&s));
                remove(&client, &s).await
            }
            Ok(_) => Ok(()),
            Err(error) => {
                tracing::debug!(error = %error, "demo: Server watch failed; retrying");
                Ok(())
            }
        };
        if let Err(error) = result {
            tracing::warn!(error = %error, "demo: StatefulSet not removed");
        }
    }
}

fn key(server: &Server) -> String {
    format!(
        "{}/{}",
        server.namespace().unwrap_or_default(),
        server.name_any()
    )
}

/// The StatefulSet of `server` at its replicas, ready after [`POD_START`].
async fn apply(client: &Client, server: &Server) -> Result<(), kube::Error> {
    let namespace = server.namespace().unwrap_or_default();
    let name = server.name_any();
    let replicas = server
        .spec
        .replicas
        .or(server.spec.min_replicas)
        .unwrap_or(1);
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), &namespace);
    let labels = json!({ SERVER_NAME_LABEL: name });
    match api.get_opt(&name).await? {
        Some(sts) if sts.spec.replicas == Some(replicas) => return Ok(()),
        Some(_) => {
            let patch = json!({ "spec": { "replicas": replicas } });
            api.patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                .await?;
        }
        None => {
            let sts: StatefulSet = serde_json::from_value(json!({
                "metadata": { "name": name, "namespace": namespace, "labels": labels },
                "spec": {
                    "replicas": replicas,
                    "serviceName": name,
                    "selector": { "matchLabels": labels },
                    "template": { "metadata": { "labels": labels } },
                },
            }))
            .map_err(kube::Error::SerdeError)?;
            api.create(&PostParams::default(), &sts).await?;
        }
    }
    tokio::time::sleep(POD_START).await;
    let status = json!({ "status": { "replicas": replicas, "readyReplicas": replicas } });
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(status))
        .await?;
    Ok(())
}

async fn remove(client: &Client, server: &Server) -> Result<(), kube::Error> {
    let api: Api<StatefulSet> =
        Api::namespaced(client.clone(), &server.namespace().unwrap_or_default());
    match api
        .delete(&server.name_any(), &DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error),
    }
}
