//! The connections of one namespace's scheduler. One, the primary, always
//! exists (lazily dialled) and carries everything long-lived: the status
//! streams, the control-plane stream, listings and liveness probes. Unary
//! calls go to the least busy connection, and when every connection has
//! [`Spread::busy_at`] unary calls in flight another is opened, up to
//! [`Spread::max_connections`]: one HTTP/2 connection serialises its
//! streams' frames behind one lock (hyperium/h2#531), a ceiling under many
//! calls in flight.
//!
//! The extras exist only under load: one idle for [`Spread::idle_close`]
//! is dropped (the connection closes when its last handle goes), so
//! an idle runtime costs what it did with one connection. An extra whose
//! call fails with a transport error is dropped at once; its other calls
//! fail with it (the connection is gone), nothing else does.
//!
//! Opening an extra takes the namespace's short lock (held to choose a
//! connection, never across I/O): a connection dials on its first call,
//! outside the lock, so no other namespace and no call on another
//! connection waits on a dial.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use switchyard_tasks::Spawner;
use tokio::time::Instant;
use tonic::transport::{Channel, Endpoint};

use crate::link::Link;

use switchyard_core::metrics as m;

/// How unary calls spread over connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spread {
    /// Connections per runtime, the primary included (1: never spread).
    pub max_connections: usize,
    /// Unary calls in flight on every open connection at which another is
    /// opened.
    pub busy_at: usize,
    /// How long an extra connection stays open with no call in flight.
    pub idle_close: Duration,
}

/// Default of [`Spread::max_connections`] (`pool.max_connections_per_runtime`).
pub const DEFAULT_MAX_CONNECTIONS: usize = 4;
/// Default of [`Spread::busy_at`].
pub const DEFAULT_BUSY_AT: usize = 8;
/// Default of [`Spread::idle_close`].
pub const DEFAULT_IDLE_CLOSE: Duration = Duration::from_secs(30);

impl Default for Spread {
    fn default() -> Self {
        Spread {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            busy_at: DEFAULT_BUSY_AT,
            idle_close: DEFAULT_IDLE_CLOSE,
        }
    }
}

/// One connection and its unary calls in flight.
pub(crate) struct Conn {
    pub(crate) channel: Link,
    in_flight: AtomicUsize,
    /// When its last call ended, in ms after the pool's `base`.
    idle_since_ms: AtomicU64,
}

impl Conn {
    fn new(channel: Link) -> Arc<Self> {
        Arc::new(Conn {
            channel,
            in_flight: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
        })
    }
}

/// A unary call's hold on its connection; released on drop (the response
/// body's end).
pub(crate) struct InFlight {
    conn: Arc<Conn>,
    connections: Arc<Connections>,
}

impl InFlight {
    pub(crate) fn channel(&self) -> Link {
        self.conn.channel.clone()
    }

    /// The call failed for want of a connection: an extra is dropped.
    pub(crate) fn transport_failed(&self) {
        self.connections.drop_extra(&self.conn);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let ms = self.connections.now_ms();
        self.conn.idle_since_ms.store(ms, Ordering::Relaxed);
        self.conn.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

struct Extras {
    open: Vec<Arc<Conn>>,
    /// The task closing idle extras runs (only while extras exist).
    closer: bool,
}

/// Every connection of one namespace.
pub(crate) struct Connections {
    primary: Arc<Conn>,
    /// Where extras dial; `None`: no spreading.
    endpoint: Option<Endpoint>,
    spread: Spread,
    extras: Mutex<Extras>,
    /// Runs the idle closer in the namespace's task group.
    spawner: Option<Spawner>,
    namespace: Arc<str>,
    base: Instant,
}

impl Connections {
    pub(crate) fn new(
        endpoint: Endpoint,
        spread: Spread,
        spawner: Option<Spawner>,
        namespace: Arc<str>,
    ) -> Arc<Self> {
        let primary = Conn::new(Link::lazy(&endpoint));
        Arc::new(Connections {
            primary,
            endpoint: (spread.max_connections > 1).then_some(endpoint),
            spread,
            extras: Mutex::new(Extras {
                open: Vec::new(),
                closer: false,
            }),
            spawner,
            namespace,
            base: Instant::now(),
        })
    }

    /// Only `channel`, never spreading (a channel built elsewhere).
    pub(crate) fn single(channel: Channel, namespace: Arc<str>) -> Arc<Self> {
        Arc::new(Connections {
            primary: Conn::new(Link::Tonic(channel)),
            endpoint: None,
            spread: Spread {
                max_connections: 1,
                ..Spread::default()
            },
            extras: Mutex::new(Extras {
                open: Vec::new(),
                closer: false,
            }),
            spawner: None,
            namespace,
            base: Instant::now(),
        })
    }

    pub(crate) fn primary(&self) -> &Link {
        &self.primary.channel
    }

    /// Connections open now (or being dialled), the primary included.
    pub(crate) fn open(&self) -> usize {
        1 + self.extras.lock().open.len()
    }

    fn now_ms(&self) -> u64 {
        self.base.elapsed().as_millis() as u64
    }

    /// The connection for a unary call: the least busy, or a new one when
    /// all are busy and there is room.
    pub(crate) fn pick(self: &Arc<Self>) -> InFlight {
        let mut extras = self.extras.lock();
        let mut best = &self.primary;
        let mut load = best.in_flight.load(Ordering::Acquire);
        for conn in &extras.open {
            let n = conn.in_flight.load(Ordering::Acquire);
            if n < load {
                best = conn;
                load = n;
            }
        }
        let conn = match &self.endpoint {
            Some(endpoint)
                if load >= self.spread.busy_at
                    && 1 + extras.open.len() < self.spread.max_connections =>
            {
                // No I/O: the connection dials on its first call.
                let conn = Conn::new(Link::lazy(endpoint));
                extras.open.push(conn.clone());
                extras_changed(1.0);
                if !extras.closer {
                    extras.closer = self.start_closer();
                }
                tracing::debug!(namespace = %self.namespace, open = 1 + extras.open.len(), "another upstream connection");
                conn
            }
            _ => best.clone(),
        };
        conn.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight {
            conn,
            connections: self.clone(),
        }
    }

    fn drop_extra(&self, conn: &Arc<Conn>) {
        let mut extras = self.extras.lock();
        let before = extras.open.len();
        extras.open.retain(|c| !Arc::ptr_eq(c, conn));
        if extras.open.len() < before {
            extras_changed(-1.0);
            tracing::debug!(namespace = %self.namespace, "upstream connection failed; dropped");
        }
    }

    /// Starts the task that closes idle extras; whether it runs.
    fn start_closer(self: &Arc<Self>) -> bool {
        let Some(spawner) = &self.spawner else {
            return false;
        };
        let Some(cancel) = spawner.token() else {
            return false;
        };
        let connections = self.clone();
        spawner.spawn("idle-connections", async move {
            tokio::select! {
                () = cancel.cancelled() => {}
                () = connections.close_idle() => {}
            }
        })
    }

    /// Closes extras idle for `idle_close`, until none is left.
    async fn close_idle(&self) {
        let idle = self.spread.idle_close;
        let mut next = Instant::now() + idle;
        loop {
            tokio::time::sleep_until(next).await;
            let now = self.now_ms();
            let limit = idle.as_millis() as u64;
            let mut extras = self.extras.lock();
            let mut earliest = now + limit;
            let before = extras.open.len();
            extras.open.retain(|conn| {
                if conn.in_flight.load(Ordering::Acquire) > 0 {
                    return true;
                }
                let since = conn.idle_since_ms.load(Ordering::Relaxed);
                let keep = since + limit > now;
                if keep {
                    earliest = earliest.min(since + limit);
                }
                keep
            });
            extras_changed(extras.open.len() as f64 - before as f64);
            if extras.open.is_empty() {
                extras.closer = false;
                tracing::debug!(namespace = %self.namespace, "extra upstream connections closed after idling");
                return;
            }
            // A busy extra is looked at again one idle period on.
            next = self.base + Duration::from_millis(earliest.max(now + 1));
        }
    }
}

impl Drop for Connections {
    fn drop(&mut self) {
        extras_changed(-(self.extras.get_mut().open.len() as f64));
    }
}

/// Extra connections opened (positive) or closed, over all namespaces.
fn extras_changed(by: f64) {
    if by != 0.0 {
        metrics::gauge!(m::UPSTREAM_EXTRA_CONNECTIONS).increment(by);
    }
}
