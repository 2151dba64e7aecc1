//! The accept loop: a connection cap, backoff on accept errors, throttled
//! logs (see the crate docs).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::conn::{Shared, Slot};
use super::throttle::LogThrottle;
use super::{Connection, IdleBy, LOG_INTERVAL, ListenerLimits};
use switchyard_core::metrics as m;

/// First pause after an accept error; doubled on each further error.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// Longest pause between accept attempts while errors last: at the file
/// descriptor limit, a second frees the CPU and still recovers quickly.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// TCP keepalive on accepted connections: the kernel notices peers that
/// vanished without a FIN even when no protocol-level ping is due.
pub const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// A listening socket with a cap on its connections (see the crate docs).
#[derive(Debug)]
pub struct Listener {
    tcp: TcpListener,
    shared: Arc<Shared>,
    slots: Arc<Semaphore>,
    errors: LogThrottle,
    full: LogThrottle,
    backoff: Duration,
}

/// Errors that concern one connection only (it was reset before we
/// accepted it): accept again at once.
fn connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

impl Listener {
    /// `tcp`, named `name` in logs and metrics (`gateway`, `admin`).
    pub fn new(
        tcp: TcpListener,
        name: &'static str,
        limits: ListenerLimits,
        idle_by: IdleBy,
    ) -> Self {
        metrics::gauge!(m::LISTENER_MAX_CONNECTIONS, "listener" => name)
            .set(limits.max_connections as f64);
        Listener {
            tcp,
            shared: Arc::new(Shared {
                name,
                limits,
                idle_by,
                expired: Mutex::new([
                    LogThrottle::new(LOG_INTERVAL),
                    LogThrottle::new(LOG_INTERVAL),
                ]),
            }),
            slots: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            errors: LogThrottle::new(LOG_INTERVAL),
            full: LogThrottle::new(LOG_INTERVAL),
            backoff: FIRST_BACKOFF,
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// The next connection: waits for a free slot, then for a client.
    /// Errors are logged, counted and waited out, never returned.
    pub async fn accept(&mut self) -> Connection<TcpStream> {
        let name = self.shared.name;
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                metrics::counter!(m::LISTENER_AT_CAPACITY_TOTAL, "listener" => name).increment(1);
                if let Some(count) = self.full.hit() {
                    tracing::warn!(
                        listener = name,
                        max_connections = self.shared.limits.max_connections,
                        count,
                        "connection limit reached: new connections wait until one closes"
                    );
                }
                loop {
                    // The semaphore is never closed.
                    if let Ok(permit) = self.slots.clone().acquire_owned().await {
                        break permit;
                    }
                }
            }
        };
        loop {
            match self.tcp.accept().await {
                Ok((stream, peer)) => {
                    self.backoff = FIRST_BACKOFF;
                    tune(&stream);
                    metrics::gauge!(m::LISTENER_CONNECTIONS, "listener" => name).increment(1.0);
                    let slot = Slot {
                        _permit: permit,
                        listener: name,
                    };
                    return Connection::new(stream, peer, self.shared.clone(), slot);
                }
                Err(error) => {
                    metrics::counter!(m::LISTENER_ACCEPT_ERRORS_TOTAL, "listener" => name)
                        .increment(1);
                    if connection_error(&error) {
                        continue;
                    }
                    if let Some(count) = self.errors.hit() {
                        tracing::warn!(listener = name, %error, count, backoff = ?self.backoff, "accept failed; backing off");
                    }
                    tokio::time::sleep(self.backoff).await;
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// No Nagle delay (small gRPC frames), and TCP keepalive. Failures only
/// lose the tuning, never the connection.
fn tune(stream: &TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
    let keepalive = socket2::TcpKeepalive::new().with_time(TCP_KEEPALIVE);
    if let Err(error) = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive) {
        tracing::debug!(%error, "cannot set TCP keepalive");
    }
}
