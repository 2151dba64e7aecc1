//! The operator's answer to [`ManagedObjects`]: which Models, Pipelines and
//! Experiments exist as custom resources, read from metadata-only
//! reflectors (names, no specs) that run on every replica, leader or not,
//! since every replica serves the gateway. Handed to the gateway by the
//! wiring, for its source-of-truth check on direct writes.

use std::sync::Arc;

use futures_util::{FutureExt, StreamExt};
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use switchyard_api::{Experiment, Model, Pipeline};
use switchyard_core::managed::{ManagedKind, ManagedObjects};
use switchyard_tasks::TaskGroup;

type Stores<K> = Vec<Store<PartialObjectMeta<K>>>;

/// The resources of the three kinds, all namespaces or the listed ones.
pub struct ManagedIndex {
    models: Stores<Model>,
    pipelines: Stores<Pipeline>,
    experiments: Stores<Experiment>,
}

impl ManagedIndex {
    /// Starts the reflectors as tasks of `tasks` (they end with the group),
    /// over every namespace (`namespaces` = `None`) or the listed ones.
    pub fn start(
        client: &Client,
        namespaces: &Option<Vec<String>>,
        tasks: &TaskGroup,
    ) -> Arc<ManagedIndex> {
        Arc::new(ManagedIndex {
            models: reflect::<Model>(client, namespaces, tasks),
            pipelines: reflect::<Pipeline>(client, namespaces, tasks),
            experiments: reflect::<Experiment>(client, namespaces, tasks),
        })
    }
}

impl ManagedObjects for ManagedIndex {
    fn is_managed(&self, namespace: &str, kind: ManagedKind, name: &str) -> bool {
        match kind {
            ManagedKind::Model => holds(&self.models, namespace, name),
            ManagedKind::Pipeline => holds(&self.pipelines, namespace, name),
            ManagedKind::Experiment => holds(&self.experiments, namespace, name),
        }
    }

    fn is_synced(&self) -> bool {
        listed(&self.models) && listed(&self.pipelines) && listed(&self.experiments)
    }
}

fn holds<K: Resource<DynamicType = ()> + Clone>(
    stores: &Stores<K>,
    namespace: &str,
    name: &str,
) -> bool {
    let key = ObjectRef::new(name).within(namespace);
    stores.iter().any(|s| s.get(&key).is_some())
}

fn listed<K: Resource<DynamicType = ()> + Clone>(stores: &Stores<K>) -> bool {
    stores.iter().all(|s| {
        s.wait_until_ready()
            .now_or_never()
            .is_some_and(|r| r.is_ok())
    })
}

/// One metadata reflector per namespace (or one for all), each a task.
fn reflect<K>(client: &Client, namespaces: &Option<Vec<String>>, tasks: &TaskGroup) -> Stores<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let apis: Vec<Api<PartialObjectMeta<K>>> = match namespaces {
        None => vec![Api::all(client.clone())],
        Some(list) => list
            .iter()
            .map(|ns| Api::namespaced(client.clone(), ns))
            .collect(),
    };
    let kind = K::kind(&()).to_string();
    apis.into_iter()
        .map(|api| {
            let (store, writer) = reflector::store();
            let events = reflector::reflector(writer, watcher(api, watcher::Config::default()))
                .default_backoff()
                .touched_objects();
            let cancel = tasks.token();
            let kind = kind.clone();
            tasks.spawn(format!("managed-index/{kind}"), async move {
                let mut events = std::pin::pin!(events);
                loop {
                    tokio::select! {
                        () = cancel.cancelled() => break,
                        event = events.next() => match event {
                            Some(Ok(_)) => {}
                            Some(Err(error)) => {
                                tracing::warn!(kind, %error, "watch of managed objects failed; retrying");
                            }
                            None => break,
                        },
                    }
                }
            });
            store
        })
        .collect()
}
