//! Building the upstream request from a client's request: which metadata
//! travels on to the scheduler, and how long the call may take.
//!
//! Custom metadata (tracing headers, anything a client adds) is forwarded;
//! HTTP/2 and gRPC protocol headers are not (tonic sets its own), nor is
//! `seldon-namespace`, which only the gateway reads. The deadline is the
//! gateway's per-call timeout, shortened by the client's `grpc-timeout`.

use std::time::Duration;

use tonic::Request;
use tonic::metadata::{KeyAndValueRef, MetadataMap};

use super::namespace::NAMESPACE_METADATA;

/// Headers that belong to one hop, never forwarded.
const HOP_HEADERS: &[&str] = &[
    NAMESPACE_METADATA,
    "te",
    "content-type",
    "content-length",
    "user-agent",
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "accept-encoding",
];

fn forwarded(key: &str) -> bool {
    !key.starts_with("grpc-") && !key.starts_with(':') && !HOP_HEADERS.contains(&key)
}

/// `message` as a request to a scheduler, with the forwardable part of
/// `metadata` and, if given, a deadline of `timeout` (sent as
/// `grpc-timeout`; it bounds the whole call, streams included).
pub(crate) fn upstream_request<T>(
    metadata: &MetadataMap,
    message: T,
    timeout: Option<Duration>,
) -> Request<T> {
    let mut request = Request::new(message);
    let out = request.metadata_mut();
    for entry in metadata.iter() {
        match entry {
            KeyAndValueRef::Ascii(key, value) if forwarded(key.as_str()) => {
                out.append(key.clone(), value.clone());
            }
            KeyAndValueRef::Binary(key, value) if forwarded(key.as_str()) => {
                out.append_bin(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    if let Some(timeout) = timeout {
        request.set_timeout(timeout);
    }
    request
}

/// The deadline the client set (`grpc-timeout`), if any.
pub(crate) fn client_timeout(metadata: &MetadataMap) -> Option<Duration> {
    const GRPC_TIMEOUT: http::HeaderName = http::HeaderName::from_static("grpc-timeout");
    metadata
        .as_ref()
        .get(&GRPC_TIMEOUT)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_grpc_timeout)
}

/// The time a call may take: `default`, or less if the client's
/// `grpc-timeout` asks for less.
pub(crate) fn call_timeout(metadata: &MetadataMap, default: Duration) -> Duration {
    client_timeout(metadata).map_or(default, |client| client.min(default))
}

/// Parses a `grpc-timeout` value: at most 8 digits and a unit (H, M, S, m,
/// u, n). Anything else is ignored, as the gRPC spec asks.
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    if !value.is_ascii() {
        return None;
    }
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_shortens_the_deadline() {
        let mut md = MetadataMap::new();
        let default = Duration::from_secs(30);
        assert_eq!(call_timeout(&md, default), default);
        md.insert("grpc-timeout", "250m".parse().unwrap());
        assert_eq!(call_timeout(&md, default), Duration::from_millis(250));
        md.insert("grpc-timeout", "2H".parse().unwrap());
        assert_eq!(call_timeout(&md, default), default);
        for bad in ["", "S", "1é", "123456789S", "10x", "-1S", "1.5S"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_custom_metadata_is_forwarded() {
        let mut md = MetadataMap::new();
        md.insert("traceparent", "00-abc-def-01".parse().unwrap());
        md.insert(NAMESPACE_METADATA, "a".parse().unwrap());
        md.insert("user-agent", "grpc-go/1.0".parse().unwrap());
        md.insert("grpc-accept-encoding", "gzip".parse().unwrap());
        md.insert_bin(
            "trace-bin",
            tonic::metadata::MetadataValue::from_bytes(b"\x01"),
        );
        let req = upstream_request(&md, (), Some(Duration::from_secs(1)));
        let out = req.metadata();
        assert!(out.get("traceparent").is_some());
        assert!(out.get_bin("trace-bin").is_some());
        assert!(out.get(NAMESPACE_METADATA).is_none());
        assert!(out.get("user-agent").is_none());
        assert!(out.get("grpc-accept-encoding").is_none());
        assert_eq!(out.get("grpc-timeout").unwrap(), "1000000u");
    }
}
