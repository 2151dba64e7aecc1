//! The gateway's configuration: the one struct the wiring fills from the
//! config file, flags and variables, with defaults chosen for Seldon's
//! clients.

use std::path::PathBuf;
use std::time::Duration;

use super::admission::AdmissionLimits;
use switchyard_net::ListenerLimits;

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
/// answers server pings at any rate (only grpc servers police pings, with
/// GOAWAY too_many_pings); their own pings come every 60 s with a 2 s
/// timeout and never without a call (docs/limits.md). A minute finds dead
/// subscribers (a vanished operator pod) without chatter.
pub const DEFAULT_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);

/// How long a client has to answer a ping before its connection (and its
/// subscriptions) are dropped.
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// Streams a client may open at once on one connection (HTTP/2
/// SETTINGS_MAX_CONCURRENT_STREAMS): gRPC clients queue further calls
/// instead of failing them. grpc-java's and nginx's defaults are 100 and
/// 128; Seldon's clients use a handful (five subscriptions, a few calls).
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 100;

/// Requests and streams in flight on the whole gateway. A stream that
/// does not read pins up to about 400 KiB of send buffer, so this bounds
/// that memory to a few hundred MiB; past it: RESOURCE_EXHAUSTED.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 1024;

/// Bytes of request messages being read or decoded by all calls at once;
/// past it: RESOURCE_EXHAUSTED. Room for four of the largest requests.
pub const DEFAULT_MAX_INFLIGHT_REQUEST_BYTES: usize = 4 * DEFAULT_MAX_REQUEST_BYTES;

/// Entries of repeated and map fields in one request, at every depth. A
/// ServerNotify of every Server of a namespace or a pipeline of a hundred
/// steps holds hundreds; an empty entry costs 2 bytes on the wire and a
/// whole struct once decoded, so this bounds what a request decodes to.
pub const DEFAULT_MAX_REPEATED_ENTRIES: usize = 10_000;

/// Time a client has, after a request's headers, to send its message.
pub const DEFAULT_REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Size of a request's headers (HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE,
/// hyper's default): metadata is names and tokens, never data.
pub const DEFAULT_MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;

/// Connections open at once on the gateway's port; past it, accepting
/// waits for one to close.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// Time from accept to a connection's first request (TLS handshake,
/// HTTP/2 preface, the first headers).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Time a connection with no call in flight stays open. gRPC clients
/// reconnect on their next call; Seldon's hold subscriptions, which are
/// calls in flight, so their connections are never idle.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

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
    /// Requests dialled as `NAMESPACE.<suffix>` (the `seldon` CLI's
    /// `--authority`) are for that namespace, after `seldon-namespace`
    /// metadata and before the message's own; `None`: authorities are
    /// not read.
    pub authority_suffix: Option<String>,
    /// Deadline of a routed unary call, and of opening a finite status
    /// stream or waiting for its next message.
    pub call_timeout: Duration,
    /// Largest request message accepted (bigger: RESOURCE_EXHAUSTED).
    pub max_request_bytes: usize,
    /// Largest response message sent.
    pub max_response_bytes: usize,
    /// HTTP/2 keepalive ping interval towards clients.
    pub keepalive_interval: Duration,
    /// HTTP/2 keepalive ping timeout.
    pub keepalive_timeout: Duration,
    /// Bound on the wait for connections to close on shutdown.
    pub shutdown_grace: Duration,
    /// Streams at once per connection (HTTP/2).
    pub max_concurrent_streams: u32,
    /// Requests and streams at once on the gateway.
    pub max_concurrent_requests: usize,
    /// Bytes of request messages held by all calls at once.
    pub max_inflight_request_bytes: usize,
    /// Repeated-field entries in one request.
    pub max_repeated_entries: usize,
    /// Time to receive a request's message after its headers.
    pub request_read_timeout: Duration,
    /// Size of a request's headers.
    pub max_header_list_bytes: u32,
    /// Connections open at once.
    pub max_connections: usize,
    /// Time from accept to the first request.
    pub handshake_timeout: Duration,
    /// Time a connection without calls stays open.
    pub idle_timeout: Duration,
}

impl GatewayOptions {
    /// The admission layer's bounds.
    pub fn admission(&self) -> AdmissionLimits {
        AdmissionLimits {
            max_concurrent_streams: self.max_concurrent_streams,
            max_concurrent_requests: self.max_concurrent_requests,
            max_request_bytes: self.max_request_bytes,
            max_inflight_request_bytes: self.max_inflight_request_bytes,
            max_repeated_entries: self.max_repeated_entries,
            request_read_timeout: self.request_read_timeout,
        }
    }

    /// The listener's bounds.
    pub fn listener(&self) -> ListenerLimits {
        ListenerLimits {
            max_connections: self.max_connections,
            handshake_timeout: self.handshake_timeout,
            idle_timeout: self.idle_timeout,
        }
    }
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            default_namespace: None,
            tls: None,
            authority_suffix: None,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            keepalive_interval: DEFAULT_KEEPALIVE_INTERVAL,
            keepalive_timeout: DEFAULT_KEEPALIVE_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_inflight_request_bytes: DEFAULT_MAX_INFLIGHT_REQUEST_BYTES,
            max_repeated_entries: DEFAULT_MAX_REPEATED_ENTRIES,
            request_read_timeout: DEFAULT_REQUEST_READ_TIMEOUT,
            max_header_list_bytes: DEFAULT_MAX_HEADER_LIST_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
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
