//! The status bus: every upstream status message of every namespace goes in
//! once; each downstream subscriber reads the latest state of the objects
//! it watches.
//!
//! In: `publish` from the pool's per-namespace subscription tasks. It never
//! waits: it updates the current state of the object, then marks the key
//! dirty in each matching subscriber's bounded [`ConflatingQueue`].
//! Out: [`Subscription::recv`] for the gateway (and later the status
//! writer). A new subscriber gets the current state of every matching
//! object first, then changes. A reader that falls more than `capacity`
//! keys, or `max_bytes` of pending state, behind is resynchronised from the
//! current state instead of growing a queue. Conflations, overflows and
//! subscribers are metrics.
//!
//! [`StatusBus::publish_batch`] takes one lock for many messages (the
//! pool's readers publish what their stream has ready in one go), and
//! [`StatusBus::retain_listed`] makes a namespace's objects of one kind
//! what its scheduler lists again after a reconnect: the others are
//! forgotten, and their subscribers told they are gone (`gone`).

mod deliver;
pub mod event;
mod gone;
pub mod queue;

use parking_lot::{Mutex, MutexGuard};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use tokio::sync::Notify;

pub use event::{StatusEvent, StatusKey, StatusKind, StatusPayload};
pub use gone::NOT_LISTED;
pub use queue::{ConflatingQueue, Next, Offer, entry_bytes};

use crate::metrics as m;

/// Default bound on dirty keys per subscriber.
pub const DEFAULT_SUBSCRIBER_CAPACITY: usize = 16_384;
/// Default bound on a subscriber's pending state, in bytes (see
/// [`entry_bytes`]): its 16,384 keys fit with names up to Kubernetes' 253
/// bytes (about 11 MiB); a few objects with megabyte names do not.
pub const DEFAULT_SUBSCRIBER_BYTES: usize = 16 * 1024 * 1024;

/// Which events a subscriber wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub kind: StatusKind,
    /// `None`: every namespace.
    pub namespace: Option<Arc<str>>,
}

impl Filter {
    fn matches(&self, key: &StatusKey) -> bool {
        key.kind == self.kind
            && self
                .namespace
                .as_ref()
                .is_none_or(|ns| *ns == key.namespace)
    }
}

/// A cheap, cloneable handle to the bus.
#[derive(Clone)]
pub struct StatusBus {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<BusState>,
    capacity: usize,
    max_bytes: usize,
    closed: AtomicBool,
    /// Dirty keys waiting in all subscribers' queues (the queue depth).
    pending: AtomicI64,
    /// The gauges set on every publish, registered once (with the
    /// recorder installed when the bus was made).
    pending_gauge: metrics::Gauge,
    objects_gauge: metrics::Gauge,
}

impl Inner {
    fn add_pending(&self, delta: i64) {
        if delta != 0 {
            let now = self.pending.fetch_add(delta, Ordering::Relaxed) + delta;
            self.pending_gauge.set(now as f64);
        }
    }
}

#[derive(Default)]
struct BusState {
    /// Latest state of every live object (a snapshot for new subscribers).
    objects: BTreeMap<StatusKey, StatusEvent>,
    /// Subscribers, by the kind they watch.
    subscribers: [Vec<Arc<Subscriber>>; 4],
}

struct Subscriber {
    filter: Filter,
    queue: Mutex<ConflatingQueue>,
    notify: Notify,
    closed: AtomicBool,
}

impl Subscriber {
    fn queue(&self) -> MutexGuard<'_, ConflatingQueue> {
        // A panic while holding this lock cannot leave the queue half-updated
        // in a way that matters: keep serving.
        self.queue.lock()
    }
}

fn slot(kind: StatusKind) -> usize {
    kind as usize
}

impl Default for StatusBus {
    fn default() -> Self {
        StatusBus::new(DEFAULT_SUBSCRIBER_CAPACITY)
    }
}

impl StatusBus {
    /// A bus whose subscribers each hold at most `capacity` dirty keys and
    /// [`DEFAULT_SUBSCRIBER_BYTES`].
    pub fn new(capacity: usize) -> Self {
        StatusBus::with_budget(capacity, DEFAULT_SUBSCRIBER_BYTES)
    }

    /// A bus whose subscribers each hold at most `capacity` dirty keys and
    /// `max_bytes` of pending state.
    pub fn with_budget(capacity: usize, max_bytes: usize) -> Self {
        StatusBus {
            inner: Arc::new(Inner {
                state: Mutex::new(BusState::default()),
                capacity,
                max_bytes,
                closed: AtomicBool::new(false),
                pending: AtomicI64::new(0),
                pending_gauge: metrics::gauge!(m::BUS_PENDING),
                objects_gauge: metrics::gauge!(m::BUS_OBJECTS),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, BusState> {
        self.inner.state.lock()
    }

    /// Records `event` and marks it dirty for every matching subscriber.
    /// Never waits on a subscriber.
    pub fn publish(&self, event: StatusEvent) {
        self.publish_batch(std::iter::once(event));
    }

    /// Records every event of `events`, in order, under one lock. Never
    /// waits on a subscriber.
    pub fn publish_batch(&self, events: impl IntoIterator<Item = StatusEvent>) {
        let mut state = self.state();
        let mut pending_delta = 0i64;
        for event in events {
            let key = event.key();
            if event.payload.is_final() {
                state.objects.remove(&key);
            } else {
                state.objects.insert(key.clone(), event.clone());
            }
            pending_delta += state.deliver(&key, &event);
        }
        self.inner.objects_gauge.set(state.objects.len() as f64);
        drop(state);
        self.inner.add_pending(pending_delta);
    }

    /// Makes the objects of `kind` in `namespace` those its scheduler
    /// lists (`listed`, by name): every other one is forgotten, and each
    /// matching subscriber gets its last state as gone
    /// ([`StatusPayload::gone`]). Returns how many were forgotten.
    pub fn retain_listed(
        &self,
        namespace: &str,
        kind: StatusKind,
        listed: &std::collections::HashSet<String>,
    ) -> usize {
        let mut state = self.state();
        let stale: Vec<StatusKey> = state
            .keys_of(namespace, kind)
            .filter(|k| !listed.contains(&k.name))
            .cloned()
            .collect();
        let mut pending_delta = 0i64;
        for key in &stale {
            if let Some(last) = state.objects.remove(key) {
                let gone = StatusEvent::new(last.namespace.clone(), last.payload.gone());
                pending_delta += state.deliver(key, &gone);
            }
        }
        self.inner.objects_gauge.set(state.objects.len() as f64);
        drop(state);
        self.inner.add_pending(pending_delta);
        stale.len()
    }

    /// Forgets every object of `namespace` (its runtime is gone).
    pub fn purge_namespace(&self, namespace: &str) {
        let mut state = self.state();
        state.objects.retain(|k, _| &*k.namespace != namespace);
        self.inner.objects_gauge.set(state.objects.len() as f64);
    }

    /// Whether the bus holds any object of `kind` in `namespace`.
    pub fn holds(&self, namespace: &str, kind: StatusKind) -> bool {
        self.state().keys_of(namespace, kind).next().is_some()
    }

    /// The current state of every object matching `filter`, in key order.
    pub fn snapshot(&self, filter: &Filter) -> Vec<StatusEvent> {
        let state = self.state();
        state
            .objects
            .iter()
            .filter(|(k, _)| filter.matches(k))
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Subscribes: the current state of every matching object, then changes.
    pub fn subscribe(&self, filter: Filter) -> Subscription {
        let kind = filter.kind;
        let sub = Arc::new(Subscriber {
            filter,
            queue: Mutex::new(ConflatingQueue::with_budget(
                self.inner.capacity,
                self.inner.max_bytes,
            )),
            notify: Notify::new(),
            closed: AtomicBool::new(false),
        });
        let mut state = self.state();
        let queued = Self::preload(&state, &sub);
        state.subscribers[slot(kind)].push(sub.clone());
        drop(state);
        self.inner.add_pending(queued);
        metrics::gauge!(m::BUS_SUBSCRIBERS, "kind" => kind.as_str()).increment(1);
        // Exported at 0 from the first subscriber on, so lag panels and
        // rate() have a series before anything overflows.
        for counter in [
            m::BUS_CONFLATED_TOTAL,
            m::BUS_OVERFLOWS_TOTAL,
            m::BUS_BYTE_OVERFLOWS_TOTAL,
            m::BUS_DROPPED_TOTAL,
            m::BUS_RESYNCS_TOTAL,
        ] {
            metrics::counter!(counter, "kind" => kind.as_str()).increment(0);
        }
        Subscription {
            bus: self.clone(),
            sub,
        }
    }

    /// Queues the current state of every object `sub` watches; returns how
    /// many keys were added to its queue.
    fn preload(state: &BusState, sub: &Subscriber) -> i64 {
        let mut queue = sub.queue();
        let before = queue.len();
        for (_, event) in state.objects.iter().filter(|(k, _)| sub.filter.matches(k)) {
            queue.preload(event.clone());
        }
        (queue.len() - before) as i64
    }

    /// Ends every subscription once its pending events are read.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        let state = self.state();
        for sub in state.subscribers.iter().flatten() {
            sub.notify.notify_one();
        }
    }

    /// Dirty keys waiting in all subscribers' queues.
    pub fn pending(&self) -> i64 {
        self.inner.pending.load(Ordering::Relaxed)
    }

    /// Number of live subscribers (all kinds).
    pub fn subscriber_count(&self) -> usize {
        let state = self.state();
        state
            .subscribers
            .iter()
            .flatten()
            .filter(|s| !s.closed.load(Ordering::Relaxed))
            .count()
    }
}

/// One reader of the bus. Dropping it unsubscribes.
pub struct Subscription {
    bus: StatusBus,
    sub: Arc<Subscriber>,
}

impl Subscription {
    /// The next change (the latest state of its object), or `None` once the
    /// bus is closed.
    pub async fn recv(&mut self) -> Option<StatusEvent> {
        loop {
            let next = self.sub.queue().pop();
            match next {
                Next::Event(event) => {
                    self.bus.inner.add_pending(-1);
                    return Some(event);
                }
                Next::Lagged => {
                    metrics::counter!(m::BUS_RESYNCS_TOTAL, "kind" => self.sub.filter.kind.as_str())
                        .increment(1);
                    let state = self.bus.state();
                    let queued = StatusBus::preload(&state, &self.sub);
                    drop(state);
                    self.bus.inner.add_pending(queued);
                }
                Next::Empty => {
                    if self.bus.inner.closed.load(Ordering::SeqCst) {
                        return None;
                    }
                    self.sub.notify.notified().await;
                }
            }
        }
    }

    /// Dirty keys waiting to be read.
    pub fn pending(&self) -> usize {
        self.sub.queue().len()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.sub.closed.store(true, Ordering::Relaxed);
        let kind = self.sub.filter.kind;
        self.bus.state().subscribers[slot(kind)].retain(|s| !Arc::ptr_eq(s, &self.sub));
        let abandoned = self.sub.queue().clear();
        self.bus.inner.add_pending(-(abandoned as i64));
        metrics::gauge!(m::BUS_SUBSCRIBERS, "kind" => kind.as_str()).decrement(1);
    }
}

#[cfg(test)]
mod tests;
