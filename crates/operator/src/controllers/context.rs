//! What every reconcile shares: the [`Context`] the caller hands in (the
//! writer and the scheduler pool) and, per controller, a [`Memory`] of what
//! it already did to each object.
//!
//! The memory is what makes the controllers cheap and quiet: it holds the
//! generation last sent to the scheduler (so label-, status- and
//! finalizer-only updates never reach the scheduler), whether a deleting
//! object's Unload/Stop/0-replica notify was already accepted (so it is sent
//! once), and the retry backoff of each object. It is keyed by uid, so an
//! object deleted and created again under the same name starts afresh. It is
//! emptied at the start of every leadership term; `status.observedGeneration`
//! carries the same knowledge across replicas.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::Resource;

use super::error::RetryBackoff;
use super::metrics::ControllerMetrics;
use crate::ApiWriter;
use crate::owned::Applier;
use switchyard_core::schedulers::Schedulers;
use switchyard_workloads::server::ServerMode;

/// What the controllers need from the rest of the program. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    /// The only way to write to the API server; writes only while leading.
    /// Its client is also used for the controllers' watches.
    pub writer: ApiWriter,
    /// Scheduler clients, one connection per namespace.
    pub schedulers: Arc<dyn Schedulers>,
    /// Reconciles each controller runs at once (per watched namespace
    /// list); default [`super::RECONCILE_CONCURRENCY`].
    pub reconcile_concurrency: u16,
    /// How long after an accepted deletion the scheduler is asked whether
    /// it is done, in case its end is never reported; default
    /// [`DELETION_RECHECK`].
    pub deletion_recheck: Duration,
    /// Where ServerConfigs and SeldonConfigs are read: the operator's own
    /// namespace, as Seldon reads them from its own; default
    /// [`DEFAULT_TEMPLATES_NAMESPACE`].
    pub templates_namespace: String,
    /// How Server pods run; default a StatefulSet and a Service per replica.
    pub server_mode: ServerMode,
    /// The intents of the objects switchyard applied.
    pub applier: Arc<Applier>,
}

/// Default of [`Context::templates_namespace`] (Seldon's default install
/// namespace).
pub const DEFAULT_TEMPLATES_NAMESPACE: &str = "seldon-mesh";

/// Default of [`Context::deletion_recheck`]: the status stream normally
/// reports the end within seconds, so this only matters when its event was
/// lost.
pub const DELETION_RECHECK: Duration = Duration::from_secs(30);

impl Context {
    pub fn new(writer: ApiWriter, schedulers: Arc<dyn Schedulers>) -> Self {
        Context {
            writer,
            schedulers,
            reconcile_concurrency: super::RECONCILE_CONCURRENCY,
            deletion_recheck: DELETION_RECHECK,
            templates_namespace: DEFAULT_TEMPLATES_NAMESPACE.to_owned(),
            server_mode: ServerMode::default(),
            applier: Arc::default(),
        }
    }

    /// The same, running Servers as Deployments (`true`) or StatefulSets.
    pub fn with_deployments_for_servers(mut self, deployments: bool) -> Self {
        self.server_mode = if deployments {
            ServerMode::Deployment
        } else {
            ServerMode::StatefulSet
        };
        self
    }

    /// The same, reading ServerConfigs and SeldonConfigs from `namespace`.
    pub fn with_templates_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.templates_namespace = namespace.into();
        self
    }

    /// The same, asking about accepted deletions every `every`.
    pub fn with_deletion_recheck(mut self, every: Duration) -> Self {
        self.deletion_recheck = every;
        self
    }

    /// The same, with `n` reconciles at once per controller (at least 1).
    pub fn with_reconcile_concurrency(mut self, n: u16) -> Self {
        self.reconcile_concurrency = n.max(1);
        self
    }
}

/// The current time, for condition transitions.
pub(crate) fn now() -> Time {
    Time(Timestamp::now())
}

/// What one controller remembers about one object.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ObjectMemory {
    /// The generation the scheduler accepted, or that was found final
    /// (invalid spec, FailedPrecondition).
    pub handled_generation: Option<i64>,
    /// The deletion call (Unload/Stop/0-replica notify) was accepted.
    pub deletion_sent: bool,
    /// It was Ready and stopped being Ready (its not-Ready event was
    /// recorded): its return to Ready gets an event.
    pub fell: bool,
    /// Retry backoff since the last success.
    pub backoff: RetryBackoff,
    /// A retry is scheduled and has not started yet (counted in
    /// `workqueue_depth`).
    pub retry_pending: bool,
    /// The generation that failed retryably and when to try it again: a
    /// reconcile triggered earlier (by our own condition write) waits.
    pub retry_at: Option<(Option<i64>, Instant)>,
}

/// The per-controller state of a reconcile: the shared [`Context`], the
/// controller's name and metrics, and its [`ObjectMemory`] per object.
pub(crate) struct ControllerContext {
    pub shared: Context,
    pub metrics: ControllerMetrics,
    memory: Mutex<HashMap<String, ObjectMemory>>,
    /// Scheduler calls in flight per namespace.
    namespaces: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Scheduler calls one controller makes to one namespace at once. Below
/// the controller's concurrency on purpose: a namespace whose scheduler is
/// slow holds at most this many workers, and its other objects are put
/// back (requeued after [`NAMESPACE_BUSY_RETRY`]) instead of taking the
/// workers every other namespace needs.
pub const NAMESPACE_CALLS_IN_FLIGHT: usize = 4;
/// When a namespace's calls are all in flight, retry its object after this.
pub const NAMESPACE_BUSY_RETRY: Duration = Duration::from_millis(250);

impl ControllerContext {
    pub(crate) fn new(shared: Context, metrics: ControllerMetrics) -> Self {
        ControllerContext {
            shared,
            metrics,
            memory: Mutex::new(HashMap::new()),
            namespaces: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, HashMap<String, ObjectMemory>> {
        // Only plain data is updated under the lock; a panic elsewhere
        // cannot leave it half written.
        self.memory.lock()
    }

    /// A permit for one scheduler call to `namespace`, or `None` when
    /// [`NAMESPACE_CALLS_IN_FLIGHT`] calls are already running.
    pub(crate) fn namespace_permit(&self, namespace: &str) -> Option<OwnedSemaphorePermit> {
        let semaphore = self
            .namespaces
            .lock()
            .entry(namespace.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(NAMESPACE_CALLS_IN_FLIGHT)))
            .clone();
        semaphore.try_acquire_owned().ok()
    }

    /// A copy of what is remembered about `obj`.
    pub(crate) fn recall<K: Resource>(&self, obj: &K) -> ObjectMemory {
        self.lock().get(&key(obj)).copied().unwrap_or_default()
    }

    /// Changes what is remembered about `obj`; returns what `f` returns.
    pub(crate) fn remember<K: Resource, R>(
        &self,
        obj: &K,
        f: impl FnOnce(&mut ObjectMemory) -> R,
    ) -> R {
        f(self.lock().entry(key(obj)).or_default())
    }

    /// A reconcile of `obj` starts: a scheduled retry is no longer pending.
    pub(crate) fn started<K: Resource>(&self, obj: &K) {
        let was_pending = self.remember(obj, |m| std::mem::take(&mut m.retry_pending));
        if was_pending {
            self.metrics.retry_done();
        }
    }

    /// A retryable failure: the next delay of `obj`'s backoff, and the
    /// retry counted as pending.
    pub(crate) fn retry_after_failure<K: Resource>(&self, obj: &K) -> Duration {
        let generation = obj.meta().generation;
        let (delay, newly_pending) = self.remember(obj, |m| {
            let newly = !m.retry_pending;
            m.retry_pending = true;
            let delay = m.backoff.next_delay();
            m.retry_at = Some((generation, Instant::now() + delay));
            (delay, newly)
        });
        if newly_pending {
            self.metrics.retry_scheduled();
        }
        delay
    }

    /// A reconcile came before `obj`'s retry was due: it is scheduled
    /// again for `delay`, and counted as pending.
    pub(crate) fn defer<K: Resource>(&self, obj: &K) {
        let newly_pending = self.remember(obj, |m| !std::mem::replace(&mut m.retry_pending, true));
        if newly_pending {
            self.metrics.retry_scheduled();
        }
    }

    /// How long until `obj`'s retry is due, if one is scheduled for its
    /// current generation and not due yet.
    pub(crate) fn retry_wait<K: Resource>(&self, obj: &K) -> Option<Duration> {
        let (generation, at) = self.recall(obj).retry_at?;
        let now = Instant::now();
        (generation == obj.meta().generation && at > now).then(|| at - now)
    }

    /// The current generation of `obj` was accepted, or found final:
    /// backoff reset, no retry due.
    pub(crate) fn handled<K: Resource>(&self, obj: &K) {
        let generation = obj.meta().generation;
        self.remember(obj, |m| {
            m.handled_generation = generation;
            m.backoff.reset();
            m.retry_at = None;
        });
    }

    /// Forgets every object whose key `live` rejects (deleted objects),
    /// and, with `live` rejecting all, everything (a new leadership term).
    pub(crate) fn retain(&self, live: impl Fn(&str) -> bool) {
        let mut memory = self.lock();
        let before = memory.len();
        let mut dropped_pending = 0;
        memory.retain(|k, m| {
            let keep = live(k);
            if !keep && m.retry_pending {
                dropped_pending += 1;
            }
            keep
        });
        drop(memory);
        for _ in 0..dropped_pending {
            self.metrics.retry_done();
        }
        // Namespaces with no call in flight lose their limiter; the next
        // call makes a new one (so namespaces that went do not pile up).
        self.namespaces
            .lock()
            .retain(|_, calls| calls.available_permits() < NAMESPACE_CALLS_IN_FLIGHT);
        tracing::trace!(
            controller = self.metrics.controller(),
            before,
            "memory pruned"
        );
    }
}

/// The memory key of an object: its uid, or namespace/name if it has none.
pub(crate) fn key<K: Resource>(obj: &K) -> String {
    let meta = obj.meta();
    match &meta.uid {
        Some(uid) => uid.clone(),
        None => format!(
            "{}/{}",
            meta.namespace.as_deref().unwrap_or_default(),
            meta.name.as_deref().unwrap_or_default()
        ),
    }
}
