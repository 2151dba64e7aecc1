//! The listening side of switchyard's two ports (the gateway's gRPC port and
//! the admin port), written once.
//!
//! In: a bound `TcpListener` and its [`ListenerLimits`]. Out: accepted
//! [`Connection`]s, each holding one of at most `max_connections` slots
//! and closing itself when it stays idle too long. While every slot is
//! taken the accept loop waits (new clients queue in the kernel's backlog)
//! instead of accepting and dropping; an accept error (EMFILE at the file
//! descriptor limit, ENOBUFS...) makes it back off instead of spinning.
//! Each condition is logged once per [`LOG_INTERVAL`], with the number of
//! times it happened since, and counted in a metric
//! (`switchyard_listener_*`, labelled by listener).
//!
//! What "idle" means is the server's to say ([`IdleBy`]): bytes read for an
//! HTTP/1 endpoint, in-flight requests for an HTTP/2 one (whose peers ping
//! and hold long streams without sending bytes). Nothing here knows HTTP,
//! gRPC or Kubernetes.

mod accept;
mod conn;
mod throttle;

use std::time::Duration;

pub use accept::{Listener, TCP_KEEPALIVE};
pub use conn::{ActiveGuard, Activity, Connection, IdleBy};
pub use throttle::LogThrottle;

/// How often a repeated condition (accept errors, the cap reached,
/// connections timed out) is logged: once per interval, with a count.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Bounds of one listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenerLimits {
    /// Connections open at once; past it, accepting waits for one to close.
    pub max_connections: usize,
    /// Time from accept to the first sign of use (the first request, or
    /// the first bytes for [`IdleBy::Reads`]): covers the TLS handshake,
    /// the HTTP/2 preface and the first request's headers.
    pub handshake_timeout: Duration,
    /// Time a connection may stay unused after its last request (or read)
    /// before it is closed.
    pub idle_timeout: Duration,
}
