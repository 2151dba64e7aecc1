//! The gateway's configuration: the one struct the wiring fills from the
//! config file, flags and variables, with defaults chosen for Seldon's
//! clients.

use std::path::PathBuf;
use std::time::Duration;

/// Longest a unary call waits for its scheduler unless the client asks for
/// less (`grpc-timeout`). The scheduler answers load/unload calls at once
/// (the work happens later and shows on the status streams), so a call
/// still unanswered after this is stuck, not slow.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest request message accepted from a client. grpc-go's default is
/// 4 MiB; a ServerNotify or pipeline of a large namespace can exceed that,
/// a legitimate request never comes near 16 MiB.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// Largest message sent to a client: whatever a scheduler may send us
/// (`pool::MAX_MESSAGE_BYTES`), so the gateway never truncates what it
/// relays.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = switchyard_scheduler::MAX_MESSAGE_BYTES;

/// HTTP/2 ping interval towards clients. Seldon's clients are grpc-go, which
/// accepts server pings at any rate; a minute finds dead subscribers (a
/// vanished operator pod) without chatter.
pub const DEFAULT_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);

/// How long a client has to answer a ping before its connection (and its
/// subscriptions) are dropped.
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a graceful shutdown waits for connections to close after every
/// stream has been ended.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The gateway endpoint's configuration. `Default` gives the values above,
/// plaintext, and no default namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayOptions {
    /// Namespace for requests that name none (no `seldon-namespace`
    /// metadata, no `kubernetesMeta`). `None`: such requests are rejected.
    pub default_namespace: Option<String>,
    /// Serve TLS (mTLS with a client CA); `None`: plaintext.
    pub tls: Option<TlsFiles>,
    /// Deadline of a routed unary call, and of opening a finite status
    /// stream or waiting for its next message.
    pub call_timeout: Duration,
    /// Largest request message accepted (bigger: OUT_OF_RANGE).
    pub max_request_bytes: usize,
    /// Largest response message sent.
    pub max_response_bytes: usize,
    /// HTTP/2 keepalive ping interval towards clients.
    pub keepalive_interval: Duration,
    /// HTTP/2 keepalive ping timeout.
    pub keepalive_timeout: Duration,
    /// Bound on the wait for connections to close on shutdown.
    pub shutdown_grace: Duration,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            default_namespace: None,
            tls: None,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            keepalive_interval: DEFAULT_KEEPALIVE_INTERVAL,
            keepalive_timeout: DEFAULT_KEEPALIVE_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// PEM files of the gateway's TLS endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
    /// CA that client certificates must chain to; set, clients must present
    /// one (mTLS).
    pub client_ca: Option<PathBuf>,
}
