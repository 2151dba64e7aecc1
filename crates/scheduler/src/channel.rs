//! The channel factory: the one place that knows tonic's client transport.
//! It turns a [`RuntimeSpec`] into a lazily connecting gRPC channel with the
//! keepalive policy Seldon's scheduler enforces.

use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use switchyard_core::registry::RuntimeSpec;

/// HTTP/2 ping interval. The scheduler's enforcement policy has
/// MinTime = 60 s: pinging more often gets GOAWAY "too_many_pings".
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);
/// How long to wait for a ping ack before the connection is considered dead.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(2);
/// The scheduler has PermitWithoutStream = false: no pings while idle.
pub const KEEPALIVE_WHILE_IDLE: bool = false;
/// Bound on one TCP (+TLS) connect attempt.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest response header block (a status's `grpc-message` included)
/// accepted from a scheduler: grpc-go's client default, what Seldon's own
/// operator accepts. Seldon's scheduler echoes names in its errors without
/// bound, and h2 answers a header block past this size with a connection
/// error (GOAWAY COMPRESSION_ERROR), which would end every call and stream
/// sharing the connection; hyper's default (16 KiB) let one 64 KiB name do
/// that. Below this size an oversized error fails only its own call.
pub const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024 * 1024;

/// Why a channel could not be built (configuration, not reachability).
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("namespace {namespace}: scheduler address {address:?} is not a valid URI: {source}")]
    Address {
        namespace: String,
        address: String,
        source: tonic::transport::Error,
    },
    #[error("namespace {namespace}: cannot read TLS file {path}: {source}")]
    TlsFile {
        namespace: String,
        path: String,
        source: std::io::Error,
    },
    #[error("namespace {namespace}: TLS settings rejected: {source}")]
    Tls {
        namespace: String,
        source: tonic::transport::Error,
    },
    #[error("namespace {namespace}: a client certificate needs both `cert` and `key`")]
    HalfIdentity { namespace: String },
}

/// A channel to `spec`'s scheduler. Nothing is dialled until first use, so
/// building channels never waits on the network.
pub fn connect_lazy(spec: &RuntimeSpec) -> Result<Channel, ChannelError> {
    let scheme = if spec.tls.is_some() { "https" } else { "http" };
    let uri = format!("{scheme}://{}", spec.address);
    let mut endpoint = Endpoint::from_shared(uri).map_err(|source| ChannelError::Address {
        namespace: spec.namespace.clone(),
        address: spec.address.clone(),
        source,
    })?;
    endpoint = endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(KEEPALIVE_WHILE_IDLE)
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES);
    if let Some(tls) = &spec.tls {
        let read = |path: &std::path::Path| {
            std::fs::read(path).map_err(|source| ChannelError::TlsFile {
                namespace: spec.namespace.clone(),
                path: path.display().to_string(),
                source,
            })
        };
        let mut config =
            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(&tls.ca)?));
        match (&tls.cert, &tls.key) {
            (Some(cert), Some(key)) => {
                config = config.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            (None, None) => {}
            _ => {
                return Err(ChannelError::HalfIdentity {
                    namespace: spec.namespace.clone(),
                });
            }
        }
        if let Some(name) = &tls.server_name {
            config = config.domain_name(name.clone());
        }
        endpoint = endpoint
            .tls_config(config)
            .map_err(|source| ChannelError::Tls {
                namespace: spec.namespace.clone(),
                source,
            })?;
    }
    Ok(endpoint.connect_lazy())
}
