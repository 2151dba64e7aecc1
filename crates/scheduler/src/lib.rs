//! The scheduler pool: one long-lived gRPC connection per namespace, and
//! a few more while many of its unary calls are in flight (`connections`).
//!
//! The pool follows the [`RuntimeRegistry`]: a runtime added gets a lazily
//! dialled channel (keepalive 60 s / 2 s, no idle pings) and five tasks that
//! follow its status and control-plane streams; a runtime removed has its
//! tasks cancelled and awaited, and its objects purged from the bus. The
//! live entries sit in an `ArcSwap`, so the gateway looks a namespace up
//! without a lock, and no lock is ever held across a dial: one unreachable
//! scheduler never delays another namespace. Every call goes through the
//! entry's [`UpstreamChannel`] (client metrics, fast failure while the
//! scheduler is silent, see `liveness`).

pub mod backoff;
pub mod channel;
mod client_metrics;
pub use client_metrics::code_label;
pub mod connections;
pub mod entry;
pub mod link;
mod listing;
pub mod liveness;
mod schedulers;
pub mod stream_client;
pub mod subscriptions;
pub mod upstream;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arc_swap::ArcSwap;
use switchyard_tasks::{TaskFailure, TaskGroup};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use connections::Spread;
pub use entry::{ConnectionState, NamespaceEntry, RuntimeInfo};
pub use subscriptions::Upstream;
pub use upstream::UpstreamChannel;

use switchyard_core::bus::StatusBus;
use switchyard_core::metrics as m;
use switchyard_core::registry::{RuntimeRegistry, Runtimes};
use switchyard_proto::scheduler::scheduler_client::SchedulerClient;

/// Largest message accepted from a scheduler. Seldon's operator meant to
/// lift grpc-go's 4 MiB default but never applied it (docs/seldon-compat.md#max-message-size);
/// model and pipeline lists of a busy namespace exceed 4 MiB.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

pub use switchyard_core::control_plane::ControlPlaneEvent;
pub use switchyard_core::schedulers::UnknownNamespace;

type Entries = HashMap<String, Arc<NamespaceEntry>>;

/// The pool. Cheap to clone (shared).
#[derive(Clone)]
pub struct SchedulerPool {
    inner: Arc<Inner>,
}

struct Inner {
    entries: ArcSwap<Entries>,
    /// Every namespace's tasks, a child group each.
    tasks: TaskGroup,
    sinks: subscriptions::Sinks,
    /// Bumped whenever an entry is added, removed or changes state.
    changes: watch::Sender<u64>,
    /// How each namespace's unary calls spread over connections.
    spread: Spread,
}

impl SchedulerPool {
    /// A pool that publishes status to `bus` and control-plane events to
    /// `control_plane` (if given).
    pub fn new(bus: StatusBus, control_plane: Option<mpsc::Sender<ControlPlaneEvent>>) -> Self {
        Self::with_spread(bus, control_plane, Spread::default())
    }

    /// [`SchedulerPool::new`], spreading each namespace's unary calls as
    /// `spread` says.
    pub fn with_spread(
        bus: StatusBus,
        control_plane: Option<mpsc::Sender<ControlPlaneEvent>>,
        spread: Spread,
    ) -> Self {
        SchedulerPool {
            inner: Arc::new(Inner {
                entries: ArcSwap::default(),
                tasks: TaskGroup::new("pool"),
                sinks: subscriptions::Sinks {
                    bus,
                    control_plane,
                    live_tasks: Arc::new(Default::default()),
                },
                changes: watch::channel(0).0,
                spread,
            }),
        }
    }

    /// The entry of `namespace`. Lock-free.
    pub fn get(&self, namespace: &str) -> Result<Arc<NamespaceEntry>, UnknownNamespace> {
        self.inner
            .entries
            .load()
            .get(namespace)
            .cloned()
            .ok_or_else(|| UnknownNamespace(namespace.to_owned()))
    }

    /// A scheduler client for `namespace`, sharing its connection.
    pub fn client(
        &self,
        namespace: &str,
    ) -> Result<SchedulerClient<UpstreamChannel>, UnknownNamespace> {
        let entry = self.get(namespace)?;
        Ok(SchedulerClient::new(entry.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES))
    }

    /// Namespaces currently served, sorted.
    pub fn namespaces(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.entries.load().keys().cloned().collect();
        names.sort();
        names
    }

    /// What is known of every connection, sorted by namespace.
    pub fn infos(&self) -> Vec<RuntimeInfo> {
        let mut infos: Vec<RuntimeInfo> = self
            .inner
            .entries
            .load()
            .values()
            .map(|e| e.info())
            .collect();
        infos.sort_by(|a, b| a.namespace.cmp(&b.namespace));
        infos
    }

    /// The first failure (a panic) of a namespace's task, when it happens.
    pub async fn failed(&self) -> TaskFailure {
        self.inner.tasks.failed().await
    }

    /// Wakes whenever a runtime is added, removed or changes state.
    pub fn watch_changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    /// Live subscription tasks of `upstream`'s kind, over all namespaces.
    pub fn live_tasks(&self, upstream: Upstream) -> usize {
        self.inner.sinks.live_tasks[upstream.index()].load(Ordering::SeqCst)
    }

    fn bump(&self) {
        self.inner.changes.send_modify(|v| *v += 1);
    }

    /// Keeps the pool in step with `registry` until `cancel` fires, then
    /// stops every namespace.
    pub async fn follow(&self, registry: RuntimeRegistry, cancel: CancellationToken) {
        let mut rx = registry.watch();
        loop {
            let runtimes = rx.borrow_and_update().clone();
            self.sync(&runtimes).await;
            tokio::select! {
                _ = cancel.cancelled() => break,
                changed = rx.changed() => if changed.is_err() { break },
            }
        }
        self.sync(&Runtimes::new()).await;
    }

    /// Makes the entries match `runtimes`: starts new namespaces, restarts
    /// changed ones, stops removed ones.
    pub async fn sync(&self, runtimes: &Runtimes) {
        let current = self.inner.entries.load_full();
        let mut next: Entries = HashMap::with_capacity(runtimes.len());
        let mut stopped = Vec::new();
        for (ns, entry) in current.iter() {
            match runtimes.get(ns) {
                Some(spec) if *spec == entry.spec => {
                    next.insert(ns.clone(), entry.clone());
                }
                _ => stopped.push(entry.clone()),
            }
        }
        for (ns, spec) in runtimes {
            if next.contains_key(ns) {
                continue;
            }
            match channel::endpoint(spec) {
                Ok(endpoint) => {
                    let entry = Arc::new(NamespaceEntry::new(
                        spec.clone(),
                        endpoint,
                        self.inner.spread,
                        self.inner.tasks.child(ns),
                    ));
                    self.start(&entry);
                    next.insert(ns.clone(), entry);
                    tracing::info!(namespace = %ns, address = %spec.address, tls = spec.tls.is_some(), "runtime added");
                }
                Err(error) => tracing::error!(%error, "runtime not served"),
            }
        }
        let changed = !stopped.is_empty() || next.len() != current.len();
        self.inner.entries.store(Arc::new(next));
        metrics::gauge!(m::POOL_RUNTIMES).set(self.inner.entries.load().len() as f64);
        for entry in stopped {
            let still_served = self.inner.entries.load().contains_key(entry.namespace());
            entry.shutdown().await;
            if !still_served {
                self.inner.sinks.bus.purge_namespace(entry.namespace());
                metrics::gauge!(m::SCHEDULER_CONNECTED, "namespace" => entry.namespace().to_owned()).set(0.0);
            }
            tracing::info!(namespace = %entry.namespace(), "runtime removed; its tasks are stopped");
        }
        if changed {
            self.bump();
        }
    }

    fn start(&self, entry: &Arc<NamespaceEntry>) {
        for upstream in Upstream::ALL {
            // Every log line of the task carries its namespace and stream.
            let span = tracing::info_span!(
                "upstream",
                namespace = %entry.namespace(),
                stream = upstream.as_str()
            );
            entry.spawn(
                upstream.as_str(),
                subscriptions::follow(entry.clone(), upstream, self.inner.sinks.clone())
                    .instrument(span),
            );
        }
        entry.spawn(
            "liveness",
            liveness::watch_over(entry.clone(), entry.liveness.clone())
                .instrument(tracing::info_span!("liveness", namespace = %entry.namespace())),
        );
        // Mirror the entry's state into metrics and the change feed.
        let mut info = entry.watch_info();
        let pool = self.clone();
        let cancel = entry.cancel.clone();
        let namespace = entry.namespace().to_owned();
        entry.spawn("state-mirror", async move {
            let connected =
                metrics::gauge!(m::SCHEDULER_CONNECTED, "namespace" => namespace.clone());
            // Exported from the start, so rate() works from the first loss.
            metrics::counter!(m::SCHEDULER_RECONNECTS_TOTAL, "namespace" => namespace.clone())
                .increment(0);
            loop {
                let ready = info.borrow_and_update().state == ConnectionState::Ready;
                connected.set(if ready { 1.0 } else { 0.0 });
                pool.bump();
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    changed = info.changed() => if changed.is_err() { return },
                }
            }
        });
    }
}

/// Counts a lost connection of `namespace`.
pub(crate) fn record_reconnect(namespace: &str) {
    metrics::counter!(m::SCHEDULER_RECONNECTS_TOTAL, "namespace" => namespace.to_owned())
        .increment(1);
}

#[cfg(test)]
mod tests;
