//! The state one simulated scheduler shares between its RPC handlers, its
//! background tasks and its handle: the store, the pending transitions and
//! the subscribers, all behind one short-held lock, so that a new
//! subscriber's snapshot and its registration happen atomically (it sees
//! every later event and no earlier one twice), and events reach every
//! subscriber in the order the state changed.

use std::{
    sync::{
        Arc, Weak,
        atomic::{AtomicU64, Ordering},
    },
    time::SystemTime,
};

use parking_lot::{Mutex, MutexGuard};

use tokio::{
    sync::{Notify, watch},
    time::Instant,
};
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::{
    config::{Knobs, SimulatorConfig},
    error::StoreError,
    fanout::{Fanout, ResponseStream, Subscription, subscriber_stream},
    faults::Rpc,
    lifecycle::Timers,
    store::{Effects, Event, Store},
};
use switchyard_proto::scheduler::{
    ControlPlaneResponse, ExperimentStatusResponse, ModelStatusResponse, PipelineStatusResponse,
    ServerStatusResponse,
};

/// Which long-lived stream a subscriber holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamKind {
    Models,
    Pipelines,
    Experiments,
    Servers,
    ControlPlane,
}

#[derive(Default)]
struct Subscribers {
    models: Fanout<ModelStatusResponse>,
    pipelines: Fanout<PipelineStatusResponse>,
    experiments: Fanout<ExperimentStatusResponse>,
    servers: Fanout<ServerStatusResponse>,
    control_plane: Fanout<ControlPlaneResponse>,
}

impl Subscribers {
    fn kick_all(&mut self, status: &Status) -> usize {
        self.models.kick_all(status)
            + self.pipelines.kick_all(status)
            + self.experiments.kick_all(status)
            + self.servers.kick_all(status)
            + self.control_plane.kick_all(status)
    }

    fn len(&self) -> usize {
        self.models.len()
            + self.pipelines.len()
            + self.experiments.len()
            + self.servers.len()
            + self.control_plane.len()
    }
}

struct Core {
    store: Store,
    timers: Timers,
    subscribers: Subscribers,
    next_subscriber: u64,
    /// When the control plane stops waiting for the first sync.
    sync_deadline: Instant,
}

/// Counters describing what the simulator did; see `SimulatorStats`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub events_published: AtomicU64,
    pub slow_subscribers_disconnected: AtomicU64,
    pub streams_dropped: AtomicU64,
    pub connections_accepted: AtomicU64,
    pub connections_refused_for_pings: AtomicU64,
    pub restarts: AtomicU64,
    /// Calls received per RPC (indexed by `Rpc as usize`), counted before
    /// injected latency and failures, so a failed attempt counts too.
    pub calls: [AtomicU64; Rpc::ALL.len()],
}

/// A point-in-time copy of the simulator's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimulatorStats {
    /// Live stream subscribers (all kinds).
    pub subscribers: usize,
    /// Objects held: models, pipelines, experiments, servers.
    pub models: usize,
    pub pipelines: usize,
    pub experiments: usize,
    pub servers: usize,
    /// Life-cycle steps waiting for their delay.
    pub pending_transitions: usize,
    /// Status events handed to subscribers' queues (one per subscriber).
    pub events_published: u64,
    /// Subscribers disconnected because they could not keep up.
    pub slow_subscribers_disconnected: u64,
    /// Streams ended by `drop_streams`, `restart` or shutdown.
    pub streams_dropped: u64,
    pub connections_accepted: u64,
    /// Connections closed with GOAWAY "too_many_pings".
    pub connections_refused_for_pings: u64,
    pub restarts: u64,
}

/// Shared state of one simulated scheduler.
pub(crate) struct Shared {
    pub namespace: String,
    pub application_version: String,
    subscriber_queue: usize,
    sync_timeout: std::time::Duration,
    core: Mutex<Core>,
    pub knobs: watch::Sender<Knobs>,
    /// Woken when a transition earlier than all others is queued.
    pub timers_changed: Notify,
    /// True once the first ServerNotify with `isFirstSync` arrived.
    synced: watch::Sender<bool>,
    /// Bumped whenever every stream is dropped, so that streams not yet
    /// registered (model subscribers waiting for the first sync) end too.
    drops: watch::Sender<u64>,
    /// Cancelled to reset every open connection (restart).
    connections: Mutex<CancellationToken>,
    /// Cancelled when the simulator shuts down: background tasks end and
    /// no new subscriber is admitted.
    pub stop: CancellationToken,
    pub counters: Counters,
    /// The freeze fault: every connection stalls while set.
    pub freeze: crate::freeze::Freeze,
}

impl Shared {
    pub(crate) fn new(config: &SimulatorConfig) -> Arc<Self> {
        Arc::new(Self {
            namespace: config.namespace.clone(),
            application_version: config.application_version.clone(),
            subscriber_queue: config.subscriber_queue,
            sync_timeout: config.sync_timeout,
            core: Mutex::new(Core {
                store: Store::new(config.default_server.clone()),
                timers: Timers::default(),
                subscribers: Subscribers::default(),
                next_subscriber: 0,
                sync_deadline: Instant::now() + config.sync_timeout,
            }),
            knobs: watch::Sender::new(config.knobs.clone()),
            timers_changed: Notify::new(),
            synced: watch::Sender::new(false),
            drops: watch::Sender::new(0),
            connections: Mutex::new(CancellationToken::new()),
            stop: CancellationToken::new(),
            counters: Counters::default(),
            freeze: Default::default(),
        })
    }

    fn core(&self) -> MutexGuard<'_, Core> {
        self.core.lock()
    }

    /// Runs a store operation and publishes what it caused.
    pub(crate) fn update(
        &self,
        op: impl FnOnce(&mut Store, SystemTime) -> Result<Effects, StoreError>,
    ) -> Result<(), StoreError> {
        let mut core = self.core();
        let effects = op(&mut core.store, SystemTime::now())?;
        self.dispatch(&mut core, effects);
        Ok(())
    }

    fn dispatch(&self, core: &mut Core, effects: Effects) {
        for event in &effects.events {
            self.publish(core, event);
        }
        if effects.transitions.is_empty() {
            return;
        }
        let at = Instant::now() + self.knobs.borrow().transition_delay;
        let mut earliest = false;
        for transition in effects.transitions {
            earliest |= core.timers.schedule(at, transition);
        }
        if earliest {
            self.timers_changed.notify_one();
        }
    }

    fn publish(&self, core: &mut Core, event: &Event) {
        let subs = &mut core.subscribers;
        let report = match event {
            Event::Model(e) => subs.models.publish(e),
            Event::Pipeline(e) => subs.pipelines.publish(e),
            Event::Experiment(e) => subs.experiments.publish(e),
            Event::Server(e) => subs.servers.publish(e),
        };
        self.counters
            .events_published
            .fetch_add(report.delivered as u64, Ordering::Relaxed);
        if report.disconnected > 0 {
            tracing::warn!(
                namespace = %self.namespace,
                disconnected = report.disconnected,
                "disconnected subscribers whose event queue was full"
            );
            self.counters
                .slow_subscribers_disconnected
                .fetch_add(report.disconnected as u64, Ordering::Relaxed);
        }
    }

    /// Publishes an event that changes no state (scaling requests).
    pub(crate) fn publish_event(&self, event: &Event) {
        let mut core = self.core();
        self.publish(&mut core, event);
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.core().timers.next_deadline()
    }

    /// Applies every transition due at `now`.
    pub(crate) fn fire_due(&self, now: Instant) {
        let mut core = self.core();
        for transition in core.timers.take_due(now) {
            let effects = core.store.apply(transition, SystemTime::now());
            self.dispatch(&mut core, effects);
        }
    }

    /// Re-publishes up to `count` models round robin from `cursor`.
    pub(crate) fn touch_models(&self, count: usize, cursor: &mut Option<String>) -> usize {
        let mut core = self.core();
        let mut touched = 0;
        for _ in 0..count {
            let now = SystemTime::now();
            let Some((name, event)) = core.store.touch_next_model(cursor.as_deref(), now) else {
                break;
            };
            self.publish(&mut core, &event);
            *cursor = Some(name);
            touched += 1;
        }
        touched
    }

    /// Reads the store (finite status RPCs, snapshots).
    pub(crate) fn read<R>(&self, f: impl FnOnce(&Store) -> R) -> R {
        f(&self.core().store)
    }

    /// A new subscriber of `kind`: the current state of every object,
    /// then live updates.
    pub(crate) fn subscribe_models(self: &Arc<Self>) -> ResponseStream<ModelStatusResponse> {
        self.subscribe(
            StreamKind::Models,
            |s| &mut s.models,
            |store| store.model_statuses(),
        )
    }

    pub(crate) fn subscribe_pipelines(self: &Arc<Self>) -> ResponseStream<PipelineStatusResponse> {
        self.subscribe(
            StreamKind::Pipelines,
            |s| &mut s.pipelines,
            |store| store.pipeline_statuses(),
        )
    }

    pub(crate) fn subscribe_experiments(
        self: &Arc<Self>,
    ) -> ResponseStream<ExperimentStatusResponse> {
        self.subscribe(
            StreamKind::Experiments,
            |s| &mut s.experiments,
            |store| store.experiment_statuses(),
        )
    }

    pub(crate) fn subscribe_servers(self: &Arc<Self>) -> ResponseStream<ServerStatusResponse> {
        self.subscribe(
            StreamKind::Servers,
            |s| &mut s.servers,
            |store| store.server_statuses(),
        )
    }

    /// Registers a control-plane subscriber (it only ever gets kicked).
    pub(crate) fn subscribe_control_plane(
        self: &Arc<Self>,
    ) -> (Subscription<ControlPlaneResponse>, SubscriberGuard) {
        let mut core = self.core();
        let id = core.next_subscriber;
        core.next_subscriber += 1;
        let sub = core
            .subscribers
            .control_plane
            .subscribe(id, self.subscriber_queue);
        (sub, self.guard(StreamKind::ControlPlane, id))
    }

    fn subscribe<T: Clone + Send + 'static>(
        self: &Arc<Self>,
        kind: StreamKind,
        fanout: impl FnOnce(&mut Subscribers) -> &mut Fanout<T>,
        snapshot: impl FnOnce(&Store) -> Vec<T>,
    ) -> ResponseStream<T> {
        if self.stop.is_cancelled() {
            return Box::pin(futures_util::stream::once(std::future::ready(Err(
                shutting_down(),
            ))));
        }
        let mut core = self.core();
        let id = core.next_subscriber;
        core.next_subscriber += 1;
        let current = snapshot(&core.store);
        let sub = fanout(&mut core.subscribers).subscribe(id, self.subscriber_queue);
        drop(core);
        subscriber_stream(current, sub, self.guard(kind, id))
    }

    fn guard(self: &Arc<Self>, kind: StreamKind, id: u64) -> SubscriberGuard {
        SubscriberGuard {
            shared: Arc::downgrade(self),
            kind,
            id,
        }
    }

    fn unsubscribe(&self, kind: StreamKind, id: u64) {
        let mut core = self.core();
        let subs = &mut core.subscribers;
        match kind {
            StreamKind::Models => subs.models.remove(id),
            StreamKind::Pipelines => subs.pipelines.remove(id),
            StreamKind::Experiments => subs.experiments.remove(id),
            StreamKind::Servers => subs.servers.remove(id),
            StreamKind::ControlPlane => subs.control_plane.remove(id),
        }
    }

    /// Resets every open connection (their streams end with an error).
    pub(crate) fn reset_connections(&self) {
        let old = std::mem::take(&mut *self.connections.lock());
        old.cancel();
    }

    /// Ends every open stream with `status`.
    pub(crate) fn drop_streams(&self, status: &Status) -> usize {
        self.drops.send_modify(|n| *n += 1);
        let dropped = self.core().subscribers.kick_all(status);
        self.counters
            .streams_dropped
            .fetch_add(dropped as u64, Ordering::Relaxed);
        dropped
    }

    /// Wipes all state, ends every stream and resets every connection, as
    /// a restarted scheduler process would.
    pub(crate) fn restart(&self) {
        self.drops.send_modify(|n| *n += 1);
        {
            let mut core = self.core();
            core.store = Store::new(core.store.default_server().to_string());
            core.timers.clear();
            core.sync_deadline = Instant::now() + self.sync_timeout;
            let dropped = core
                .subscribers
                .kick_all(&Status::unavailable("scheduler restarted"));
            self.counters
                .streams_dropped
                .fetch_add(dropped as u64, Ordering::Relaxed);
        }
        self.synced.send_replace(false);
        self.counters.restarts.fetch_add(1, Ordering::Relaxed);
        self.reset_connections();
    }

    /// The token a newly accepted connection watches for resets.
    pub(crate) fn connection_token(&self) -> CancellationToken {
        self.connections.lock().clone()
    }

    /// Marks the first sync done (ServerNotify with `isFirstSync`).
    pub(crate) fn mark_synced(&self) {
        self.synced.send_replace(true);
    }

    /// Waits until the first sync is done or its deadline passed, like the
    /// real scheduler's synchroniser (agents here connect at once). Fails
    /// when streams are dropped (restart, `drop_streams`) or on shutdown.
    pub(crate) async fn wait_synced(&self) -> Result<(), Status> {
        let deadline = self.core().sync_deadline;
        let mut synced = self.synced.subscribe();
        let mut drops = self.drops.subscribe();
        drops.mark_unchanged();
        tokio::select! {
            _ = synced.wait_for(|done| *done) => Ok(()),
            () = tokio::time::sleep_until(deadline) => Ok(()),
            _ = drops.changed() => Err(Status::unavailable("stream dropped by the simulator")),
            () = self.stop.cancelled() => Err(shutting_down()),
        }
    }

    /// Calls of `rpc` received so far (including failed attempts).
    pub(crate) fn calls(&self, rpc: Rpc) -> u64 {
        self.counters.calls[rpc as usize].load(Ordering::Relaxed)
    }

    pub(crate) fn stats(&self) -> SimulatorStats {
        let core = self.core();
        let c = &self.counters;
        SimulatorStats {
            subscribers: core.subscribers.len(),
            models: core.store.models.len(),
            pipelines: core.store.pipelines.iter().count(),
            experiments: core.store.experiments.iter().count(),
            servers: core.store.servers.len(),
            pending_transitions: core.timers.len(),
            events_published: c.events_published.load(Ordering::Relaxed),
            slow_subscribers_disconnected: c.slow_subscribers_disconnected.load(Ordering::Relaxed),
            streams_dropped: c.streams_dropped.load(Ordering::Relaxed),
            connections_accepted: c.connections_accepted.load(Ordering::Relaxed),
            connections_refused_for_pings: c.connections_refused_for_pings.load(Ordering::Relaxed),
            restarts: c.restarts.load(Ordering::Relaxed),
        }
    }
}

/// The status of streams ended or refused because the simulator stops.
pub(crate) fn shutting_down() -> Status {
    Status::unavailable("scheduler shutting down")
}

/// Deregisters a subscriber when its stream is dropped.
pub(crate) struct SubscriberGuard {
    shared: Weak<Shared>,
    kind: StreamKind,
    id: u64,
}

impl Drop for SubscriberGuard {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.unsubscribe(self.kind, self.id);
        }
    }
}
