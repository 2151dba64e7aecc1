//! SeldonRuntime discovery: keeps the [`RuntimeRegistry`] in step with the
//! SeldonRuntimes in the cluster, and owns their finalizer.
//!
//! In: one watcher of SeldonRuntimes for all namespaces, or one per
//! namespace of the watch scope. Out: `registry.reset` with one
//! [`RuntimeSpec`] per namespace that has a runtime (address from the
//! template or a per-namespace override), after every change; the pool
//! follows the registry and releases a removed namespace's connection and
//! tasks. A relist (Init .. InitDone, e.g. after 410 Gone) replaces that
//! watcher's objects, so runtimes that vanished meanwhile are dropped.
//! Readiness turns true once every watcher has listed once.
//!
//! Deletion (docs/seldon-compat.md#runtime-deletion, done better per docs/seldon-compat.md#runtime-deletion): the finalizer
//! `seldon.runtime.finalizer` is added to every runtime and, when one is
//! deleted, kept while Servers, Models, Pipelines or Experiments remain in
//! its namespace (the scheduler is needed to unload them), re-checked on
//! every runtime change and periodically. Until then the runtime stays in
//! the registry. Finalizer writes go through the leader-gated
//! [`ApiWriter`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use kube::api::ListParams;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::writer::{ApiWriter, WRITE_TIMEOUT};
use switchyard_api::experiment::Experiment;
use switchyard_api::model::Model;
use switchyard_api::pipeline::Pipeline;
use switchyard_api::runtime::SeldonRuntime;
use switchyard_api::server::Server;
use switchyard_core::metrics as m;
use switchyard_core::registry::{ClientTls, RuntimeRegistry, RuntimeSpec, spec};

/// The SeldonRuntime finalizer (the Go operator's name, so either operator
/// can take over the objects of the other).
pub const RUNTIME_FINALIZER: &str = "seldon.runtime.finalizer";
/// How often runtimes being deleted re-check whether their namespace is
/// empty, and missing finalizers are re-added.
pub const DEFAULT_FINALIZER_RECHECK: Duration = Duration::from_secs(5);

/// Which namespaces are watched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchScope {
    /// Every namespace (one cluster-wide watch).
    AllNamespaces,
    /// These namespaces only (one watch each).
    Namespaces(BTreeSet<String>),
}

impl WatchScope {
    /// Seldon's rules (docs/seldon-compat.md#watch-scope), made explicit: a non-empty
    /// `watch_namespaces` list is watched (plus the operator namespace);
    /// otherwise `clusterwide` watches everything; otherwise only the
    /// operator namespace (everything if that is unknown, as Seldon does).
    pub fn resolve(
        clusterwide: bool,
        watch_namespaces: &[String],
        operator_namespace: Option<&str>,
    ) -> WatchScope {
        let listed: BTreeSet<String> = watch_namespaces
            .iter()
            .map(|n| n.trim())
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        let operator = operator_namespace.filter(|n| !n.is_empty());
        if !listed.is_empty() {
            let mut all = listed;
            all.extend(operator.map(str::to_owned));
            return WatchScope::Namespaces(all);
        }
        match (clusterwide, operator) {
            (false, Some(ns)) => WatchScope::Namespaces(BTreeSet::from([ns.to_owned()])),
            _ => WatchScope::AllNamespaces,
        }
    }
}

/// How a discovered namespace's scheduler is reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulerAddressing {
    /// Address template, `{namespace}` substituted.
    pub template: String,
    /// Per-namespace addresses that win over the template (out-of-cluster
    /// runs against port-forwarded schedulers).
    pub overrides: BTreeMap<String, String>,
    /// TLS towards every discovered scheduler.
    pub tls: Option<ClientTls>,
}

impl Default for SchedulerAddressing {
    fn default() -> Self {
        SchedulerAddressing {
            template: spec::default_template(false),
            overrides: BTreeMap::new(),
            tls: None,
        }
    }
}

impl SchedulerAddressing {
    /// The runtime spec of `namespace`.
    pub fn spec_for(&self, namespace: &str) -> RuntimeSpec {
        RuntimeSpec {
            namespace: namespace.to_owned(),
            address: self
                .overrides
                .get(namespace)
                .cloned()
                .unwrap_or_else(|| spec::address_from_template(&self.template, namespace)),
            tls: self.tls.clone(),
        }
    }
}

/// Whether a runtime object keeps its namespace registered: while it
/// exists, and while being deleted as long as our finalizer holds it.
fn keeps_registered(rt: &SeldonRuntime) -> bool {
    rt.meta().deletion_timestamp.is_none() || has_finalizer(rt)
}

fn has_finalizer(rt: &SeldonRuntime) -> bool {
    rt.finalizers().iter().any(|f| f == RUNTIME_FINALIZER)
}

type Key = (String, String);
type Objects = BTreeMap<Key, SeldonRuntime>;

fn key(rt: &SeldonRuntime) -> Key {
    (rt.namespace().unwrap_or_default(), rt.name_any())
}

/// One watcher's view.
#[derive(Default)]
struct Scoped {
    objects: Objects,
    /// A relist in progress: the objects seen since `Init`.
    relisting: Option<Objects>,
    synced: bool,
}

impl Scoped {
    /// Applies one event; returns whether `objects` changed.
    fn apply(&mut self, event: Event<SeldonRuntime>) -> bool {
        match event {
            Event::Init => {
                self.relisting = Some(Objects::new());
                false
            }
            Event::InitApply(rt) => {
                self.relisting
                    .get_or_insert_with(Objects::new)
                    .insert(key(&rt), rt);
                false
            }
            Event::InitDone => {
                self.objects = self.relisting.take().unwrap_or_default();
                self.synced = true;
                true
            }
            Event::Apply(rt) => {
                self.objects.insert(key(&rt), rt);
                true
            }
            Event::Delete(rt) => self.objects.remove(&key(&rt)).is_some(),
        }
    }
}

/// The SeldonRuntime watcher and finalizer owner.
pub struct RuntimeDiscovery {
    client: Client,
    writer: ApiWriter,
    registry: RuntimeRegistry,
    scope: WatchScope,
    addressing: SchedulerAddressing,
    recheck: Duration,
    ready: watch::Sender<bool>,
}

impl RuntimeDiscovery {
    /// A discovery feeding `registry`; the receiver turns true once every
    /// watcher has listed once.
    pub fn new(
        writer: ApiWriter,
        registry: RuntimeRegistry,
        scope: WatchScope,
        addressing: SchedulerAddressing,
        recheck: Duration,
    ) -> (RuntimeDiscovery, watch::Receiver<bool>) {
        let (ready, ready_rx) = watch::channel(false);
        let discovery = RuntimeDiscovery {
            client: writer.client().clone(),
            writer,
            registry,
            scope,
            addressing,
            recheck,
            ready,
        };
        (discovery, ready_rx)
    }

    /// Watches until `cancel` fires.
    pub async fn run(self, cancel: CancellationToken) {
        let RuntimeDiscovery {
            client,
            writer,
            registry,
            scope,
            addressing,
            recheck,
            ready,
        } = self;
        let apis: Vec<Api<SeldonRuntime>> = match &scope {
            WatchScope::AllNamespaces => vec![Api::all(client.clone())],
            WatchScope::Namespaces(list) => list
                .iter()
                .map(|ns| Api::namespaced(client.clone(), ns))
                .collect(),
        };
        let (objects_tx, objects_rx) = watch::channel(Arc::new(Vec::<SeldonRuntime>::new()));
        let follow = follow_runtimes(apis, registry, addressing, ready, objects_tx);
        let finalize = keep_finalizers(writer, objects_rx, recheck);
        tokio::select! {
            () = cancel.cancelled() => {}
            () = follow => {}
            () = finalize => {}
        }
    }
}

/// Merges every watcher into one view and publishes it to the registry and
/// to the finalizer loop. Ends only when every watch stream ends (never, in
/// practice: watchers retry with backoff).
async fn follow_runtimes(
    apis: Vec<Api<SeldonRuntime>>,
    registry: RuntimeRegistry,
    addressing: SchedulerAddressing,
    ready: watch::Sender<bool>,
    objects_tx: watch::Sender<Arc<Vec<SeldonRuntime>>>,
) {
    let mut scopes: Vec<Scoped> = apis.iter().map(|_| Scoped::default()).collect();
    let streams = apis.into_iter().enumerate().map(|(i, api)| {
        watcher(api, watcher::Config::default())
            .default_backoff()
            .map(move |e| (i, e))
            .boxed()
    });
    let mut events = futures_util::stream::select_all(streams);
    while let Some((i, event)) = events.next().await {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(%error, "watching SeldonRuntimes failed; retrying with backoff");
                continue;
            }
        };
        let Some(scoped) = scopes.get_mut(i) else {
            continue;
        };
        if !scoped.apply(event) {
            continue;
        }
        let all: Vec<SeldonRuntime> = scopes
            .iter()
            .flat_map(|s| s.objects.values().cloned())
            .collect();
        let namespaces: BTreeSet<String> = all
            .iter()
            .filter(|rt| keeps_registered(rt))
            .filter_map(|rt| rt.namespace())
            .collect();
        if registry.reset(namespaces.iter().map(|ns| addressing.spec_for(ns))) {
            tracing::info!(runtimes = ?namespaces, "runtimes discovered from Kubernetes");
        }
        objects_tx.send_replace(Arc::new(all));
        if scopes.iter().all(|s| s.synced) {
            ready.send_if_modified(|r| !std::mem::replace(r, true));
        }
    }
}

fn watcher(
    api: Api<SeldonRuntime>,
    config: watcher::Config,
) -> impl futures_util::Stream<Item = Result<Event<SeldonRuntime>, watcher::Error>> + Send {
    watcher::watcher(api, config)
}

/// Adds missing finalizers and removes them from deleted runtimes whose
/// namespace is empty, on every change of the runtimes, of leadership, and
/// every `recheck`. Only the leader writes (the writer enforces it).
async fn keep_finalizers(
    writer: ApiWriter,
    mut objects: watch::Receiver<Arc<Vec<SeldonRuntime>>>,
    recheck: Duration,
) {
    let mut leadership = writer.leadership();
    let mut leadership_open = true;
    let mut tick = tokio::time::interval(recheck);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            changed = objects.changed() => if changed.is_err() { return },
            changed = leadership.changed(), if leadership_open => {
                leadership_open = changed.is_ok();
            }
            _ = tick.tick() => {}
        }
        let runtimes = objects.borrow_and_update().clone();
        if !writer.is_leader() {
            continue;
        }
        let mut blocked = 0usize;
        for rt in runtimes.iter() {
            let name = rt.name_any();
            let namespace = rt.namespace().unwrap_or_default();
            if rt.meta().deletion_timestamp.is_none() {
                if !has_finalizer(rt)
                    && let Err(error) = writer.add_finalizer(rt, RUNTIME_FINALIZER).await
                    && !error.is_not_found()
                {
                    tracing::warn!(%error, namespace, name, "could not add the SeldonRuntime finalizer; retrying later");
                }
                continue;
            }
            if !has_finalizer(rt) {
                continue;
            }
            match remaining_objects(writer.client(), &namespace).await {
                Ok(remaining) if remaining.is_empty() => {
                    match writer.remove_finalizer(rt, RUNTIME_FINALIZER).await {
                        Ok(()) => {
                            tracing::info!(
                                namespace,
                                name,
                                "SeldonRuntime released: nothing left in its namespace"
                            )
                        }
                        Err(error) => {
                            tracing::warn!(%error, namespace, name, "could not remove the SeldonRuntime finalizer; retrying later")
                        }
                    }
                }
                Ok(remaining) => {
                    blocked += 1;
                    tracing::info!(
                        namespace,
                        name,
                        ?remaining,
                        "SeldonRuntime deletion waits until these are gone from its namespace (their scheduler must unload them)"
                    );
                }
                Err(error) => {
                    blocked += 1;
                    tracing::warn!(%error, namespace, name, "could not check what is left in the namespace of a deleted SeldonRuntime; retrying later");
                }
            }
        }
        metrics::gauge!(m::RUNTIMES_DELETION_BLOCKED).set(blocked as f64);
    }
}

/// Failure to check what is left in a namespace.
#[derive(Debug, thiserror::Error)]
pub enum RemainingError {
    #[error("listing {kind} in namespace {namespace}: {source}")]
    List {
        kind: &'static str,
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error("listing {kind} in namespace {namespace} timed out after {WRITE_TIMEOUT:?}")]
    Timeout {
        kind: &'static str,
        namespace: String,
    },
}

/// The kinds (of Server, Model, Pipeline, Experiment) that still have
/// objects in `namespace`, deleting ones included.
pub async fn remaining_objects(
    client: &Client,
    namespace: &str,
) -> Result<Vec<&'static str>, RemainingError> {
    let mut remaining = Vec::new();
    for (kind, present) in [
        (
            "Server",
            any_in::<Server>(client, namespace, "Server").await?,
        ),
        ("Model", any_in::<Model>(client, namespace, "Model").await?),
        (
            "Pipeline",
            any_in::<Pipeline>(client, namespace, "Pipeline").await?,
        ),
        (
            "Experiment",
            any_in::<Experiment>(client, namespace, "Experiment").await?,
        ),
    ] {
        if present {
            remaining.push(kind);
        }
    }
    Ok(remaining)
}

async fn any_in<K>(
    client: &Client,
    namespace: &str,
    kind: &'static str,
) -> Result<bool, RemainingError>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    match tokio::time::timeout(
        WRITE_TIMEOUT,
        api.list_metadata(&ListParams::default().limit(1)),
    )
    .await
    {
        Ok(Ok(list)) => Ok(!list.items.is_empty()),
        Ok(Err(source)) => Err(RemainingError::List {
            kind,
            namespace: namespace.to_owned(),
            source,
        }),
        Err(_) => Err(RemainingError::Timeout {
            kind,
            namespace: namespace.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(ns: &str, name: &str) -> SeldonRuntime {
        let mut rt = SeldonRuntime::new(name, Default::default());
        rt.metadata.namespace = Some(ns.into());
        rt
    }

    #[test]
    fn scope_follows_seldons_flags() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            WatchScope::resolve(true, &[], Some("sys")),
            WatchScope::AllNamespaces
        );
        assert_eq!(
            WatchScope::resolve(true, &list(&["a", " b ", ""]), Some("sys")),
            WatchScope::Namespaces(["a", "b", "sys"].map(String::from).into())
        );
        assert_eq!(
            WatchScope::resolve(false, &[], Some("sys")),
            WatchScope::Namespaces(["sys".to_owned()].into())
        );
        assert_eq!(
            WatchScope::resolve(false, &[], None),
            WatchScope::AllNamespaces
        );
    }

    #[test]
    fn overrides_win_over_the_template() {
        let addressing = SchedulerAddressing {
            overrides: [("b".to_owned(), "127.0.0.1:7000".to_owned())].into(),
            ..Default::default()
        };
        assert_eq!(addressing.spec_for("a").address, "seldon-scheduler.a:9004");
        assert_eq!(addressing.spec_for("b").address, "127.0.0.1:7000");
    }

    #[test]
    fn a_relist_drops_vanished_runtimes() {
        let mut s = Scoped::default();
        assert!(!s.apply(Event::Init));
        assert!(!s.apply(Event::InitApply(rt("a", "r"))));
        assert!(s.apply(Event::InitDone));
        assert!(s.synced);
        assert!(s.apply(Event::Apply(rt("b", "r"))));
        assert_eq!(s.objects.len(), 2);
        // Relist: only b is left; a vanished while we were not watching.
        s.apply(Event::Init);
        s.apply(Event::InitApply(rt("b", "r")));
        assert_eq!(s.objects.len(), 2, "old view kept until the relist is done");
        s.apply(Event::InitDone);
        assert_eq!(
            s.objects.keys().cloned().collect::<Vec<_>>(),
            vec![("b".to_owned(), "r".to_owned())]
        );
        assert!(s.apply(Event::Delete(rt("b", "r"))));
        assert!(!s.apply(Event::Delete(rt("b", "r"))));
    }

    #[test]
    fn deleting_runtimes_stay_registered_while_finalized() {
        let mut r = rt("a", "r");
        assert!(keeps_registered(&r));
        r.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::now(),
        ));
        assert!(!keeps_registered(&r));
        r.metadata.finalizers = Some(vec![RUNTIME_FINALIZER.to_owned()]);
        assert!(keeps_registered(&r));
    }
}
