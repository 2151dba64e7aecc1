//! One namespace in the pool: its channel, the tasks that follow its
//! scheduler's streams, and what a user can see of the connection.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;
use switchyard_tasks::{TaskGroup, TaskName};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::liveness::Liveness;
use crate::upstream::UpstreamChannel;

use switchyard_core::registry::RuntimeSpec;

/// Connection state of one namespace, as ListRuntimes reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Never fully connected yet.
    Connecting,
    /// Every upstream stream is open.
    Ready,
    /// Was ready, lost at least one stream, retrying with backoff.
    Reconnecting,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connecting => "connecting",
            ConnectionState::Ready => "ready",
            ConnectionState::Reconnecting => "reconnecting",
        }
    }
}

/// What is known about one namespace's connection.
#[derive(Clone, Debug, PartialEq)]
pub struct RuntimeInfo {
    pub namespace: String,
    pub address: String,
    pub tls: bool,
    pub state: ConnectionState,
    /// When the last upstream message arrived.
    pub last_event: Option<SystemTime>,
    /// Times the connection went from ready to not ready.
    pub reconnects: u64,
}

/// The five upstream streams followed per namespace.
pub const STREAMS: usize = 5;

/// Shortest time between two warnings of one namespace's failing streams.
pub const WARNING_GAP: Duration = Duration::from_millis(250);

/// How long a removed namespace's tasks get to stop before they are
/// aborted (they only have to notice their token).
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// A live namespace. Its tasks hold it, so dropping the pool's handle does
/// not stop them; [`NamespaceEntry::shutdown`] does (the pool calls it on
/// removal).
pub struct NamespaceEntry {
    pub spec: Arc<RuntimeSpec>,
    /// Every call to the scheduler goes through it (metrics, fast failure).
    pub channel: UpstreamChannel,
    /// Whether the scheduler answers (`liveness`).
    pub(crate) liveness: Arc<Liveness>,
    /// Fires when the namespace's tasks are to stop.
    pub cancel: CancellationToken,
    info: watch::Sender<RuntimeInfo>,
    open_streams: Mutex<usize>,
    /// The scheduler stopped answering (`liveness`): not Ready meanwhile.
    silent: Mutex<bool>,
    /// When a failing stream of this namespace last logged a warning.
    last_warning: Mutex<Option<Instant>>,
    tasks: TaskGroup,
}

impl NamespaceEntry {
    /// The namespace of `spec`, whose tasks run in `tasks`.
    pub fn new(spec: Arc<RuntimeSpec>, channel: Channel, tasks: TaskGroup) -> Self {
        let info = RuntimeInfo {
            namespace: spec.namespace.clone(),
            address: spec.address.clone(),
            tls: spec.tls.is_some(),
            state: ConnectionState::Connecting,
            last_event: None,
            reconnects: 0,
        };
        let liveness = Arc::new(Liveness::default());
        let channel = UpstreamChannel::new(
            channel,
            Arc::from(spec.namespace.as_str()),
            liveness.clone(),
        );
        NamespaceEntry {
            spec,
            channel,
            liveness,
            silent: Mutex::new(false),
            cancel: tasks.token(),
            info: watch::channel(info).0,
            open_streams: Mutex::new(0),
            last_warning: Mutex::new(None),
            tasks,
        }
    }

    pub fn namespace(&self) -> &str {
        &self.spec.namespace
    }

    pub fn info(&self) -> RuntimeInfo {
        self.info.borrow().clone()
    }

    pub fn watch_info(&self) -> watch::Receiver<RuntimeInfo> {
        self.info.subscribe()
    }

    pub(crate) fn spawn(
        &self,
        name: impl Into<TaskName>,
        task: impl Future<Output = ()> + Send + 'static,
    ) {
        self.tasks.spawn(name, task);
    }

    /// A stream opened; the namespace is ready when all are open (and its
    /// scheduler answers).
    pub(crate) fn stream_opened(&self) {
        let mut open = self.open_streams.lock();
        *open += 1;
        self.update_ready(*open);
    }

    /// The scheduler stopped (`true`) or resumed answering.
    pub(crate) fn set_silent(&self, silent: bool) {
        let open = self.open_streams.lock();
        *self.silent.lock() = silent;
        if silent {
            self.left_ready();
        } else {
            self.update_ready(*open);
        }
    }

    /// Ready once `open` streams are all of them and the scheduler answers.
    fn update_ready(&self, open: usize) {
        if open == STREAMS && !*self.silent.lock() {
            self.info.send_if_modified(|i| {
                let changed = i.state != ConnectionState::Ready;
                i.state = ConnectionState::Ready;
                changed
            });
        }
    }

    /// A stream closed or failed.
    pub(crate) fn stream_closed(&self) {
        let mut open = self.open_streams.lock();
        *open = open.saturating_sub(1);
        self.left_ready();
    }

    /// From Ready to Reconnecting (a reconnect counted), if Ready.
    fn left_ready(&self) {
        self.info.send_if_modified(|i| {
            if i.state == ConnectionState::Ready {
                i.state = ConnectionState::Reconnecting;
                i.reconnects += 1;
                crate::record_reconnect(&i.namespace);
                true
            } else {
                false
            }
        });
    }

    /// Whether a stream failing now, after waiting `waited` since its last
    /// attempt, is the one to log the namespace's warning for this backoff
    /// step: no other stream of the namespace warned within half that wait
    /// (and [`WARNING_GAP`] at least; the streams fail together, their
    /// steps apart by the jitter only).
    pub(crate) fn warning_due(&self, waited: Duration) -> bool {
        let now = Instant::now();
        let mut last = self.last_warning.lock();
        match *last {
            Some(at) if now.duration_since(at) < (waited / 2).max(WARNING_GAP) => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    /// An upstream message arrived. Recorded without waking watchers: the
    /// time shows on the next state change or list.
    pub(crate) fn event_seen(&self) {
        self.liveness.heard();
        self.info.send_if_modified(|i| {
            i.last_event = Some(SystemTime::now());
            false
        });
    }

    /// Cancels every task and waits for them to end (aborting, and
    /// naming, those still running after [`STOP_GRACE`]).
    pub async fn shutdown(&self) {
        // A straggler is logged by the group.
        let _ = self.tasks.shutdown(STOP_GRACE).await;
    }
}
