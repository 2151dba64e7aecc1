//! One namespace in the pool: its channel, the tasks that follow its
//! scheduler's streams, and what a user can see of the connection.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::SystemTime;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

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

/// A live namespace. Dropping the last handle does not stop its tasks;
/// [`NamespaceEntry::shutdown`] does (the pool calls it on removal).
pub struct NamespaceEntry {
    pub spec: Arc<RuntimeSpec>,
    pub channel: Channel,
    pub cancel: CancellationToken,
    info: watch::Sender<RuntimeInfo>,
    open_streams: Mutex<usize>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl NamespaceEntry {
    pub fn new(spec: Arc<RuntimeSpec>, channel: Channel, cancel: CancellationToken) -> Self {
        let info = RuntimeInfo {
            namespace: spec.namespace.clone(),
            address: spec.address.clone(),
            tls: spec.tls.is_some(),
            state: ConnectionState::Connecting,
            last_event: None,
            reconnects: 0,
        };
        NamespaceEntry {
            spec,
            channel,
            cancel,
            info: watch::channel(info).0,
            open_streams: Mutex::new(0),
            tasks: Mutex::new(Vec::new()),
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

    pub(crate) fn add_task(&self, handle: JoinHandle<()>) {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
    }

    /// A stream opened; the namespace is ready when all are open.
    pub(crate) fn stream_opened(&self) {
        let mut open = self.open_streams.lock().unwrap_or_else(|e| e.into_inner());
        *open += 1;
        if *open == STREAMS {
            self.info.send_if_modified(|i| {
                let changed = i.state != ConnectionState::Ready;
                i.state = ConnectionState::Ready;
                changed
            });
        }
    }

    /// A stream closed or failed.
    pub(crate) fn stream_closed(&self) {
        let mut open = self.open_streams.lock().unwrap_or_else(|e| e.into_inner());
        *open = open.saturating_sub(1);
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

    /// An upstream message arrived. Recorded without waking watchers: the
    /// time shows on the next state change or list.
    pub(crate) fn event_seen(&self) {
        self.info.send_if_modified(|i| {
            i.last_event = Some(SystemTime::now());
            false
        });
    }

    /// Cancels every task and waits for them to end.
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for task in tasks {
            if let Err(error) = task.await
                && error.is_panic()
            {
                tracing::error!(namespace = %self.spec.namespace, %error, "a subscription task panicked");
            }
        }
    }
}

impl Drop for NamespaceEntry {
    fn drop(&mut self) {
        // Never leave tasks behind, even if shutdown was not awaited.
        self.cancel.cancel();
        for task in self
            .tasks
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }
}
