//! The one place internal errors become gRPC statuses.
//!
//! - A request naming no namespace, or contradicting itself: INVALID_ARGUMENT
//!   saying how to name one ([`NamespaceError`]).
//! - A namespace without a runtime: NOT_FOUND naming it ([`UnknownNamespace`]).
//! - A status the scheduler sent: passed through unchanged, code, message
//!   and details, so clients see exactly what Seldon's scheduler said; only
//!   a message longer than [`MAX_UPSTREAM_MESSAGE`] (a scheduler echoing a
//!   client's input) is cut there.
//! - A failure of our own connection to the scheduler (tonic attaches the
//!   transport error as the status' source; a status decoded from the
//!   scheduler's trailers has none): UNAVAILABLE (tonic already says so for
//!   a refused or timed-out connect), with the namespace and address added
//!   so the caller knows which scheduler is down.
//! - No answer within the call's deadline (ours, or tonic's enforcing the
//!   one we forward): DEADLINE_EXCEEDED.

use std::time::Duration;

use tonic::{Code, Status};

use super::namespace::NamespaceError;
use switchyard_scheduler::UnknownNamespace;

impl From<NamespaceError> for Status {
    fn from(err: NamespaceError) -> Self {
        Status::invalid_argument(err.to_string())
    }
}

/// NOT_FOUND for a namespace the gateway does not serve, saying where to
/// look for those it does.
pub fn unknown_namespace(UnknownNamespace(namespace): UnknownNamespace) -> Status {
    Status::not_found(format!(
        "namespace {namespace:?} has no Seldon runtime behind this gateway; ListRuntimes (switchyard.v1.Gateway) shows the namespaces served"
    ))
}

/// Whether `status` was made by our side of the connection (tonic keeps the
/// transport error as its source) rather than sent by the scheduler.
pub fn is_transport_failure(status: &Status) -> bool {
    std::error::Error::source(status).is_some()
}

/// Whether the transport gave up because the call's deadline passed.
fn timed_out(status: &Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(err) = source {
        if err.is::<tonic::TimeoutExpired>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// Longest scheduler error message passed on whole. Seldon's scheduler
/// echoes names and fields of the request in its errors; those are
/// bounded at the edge, but a message is never a channel for a client to
/// make the gateway send kilobytes of its own input back.
pub const MAX_UPSTREAM_MESSAGE: usize = 1024;

/// `status`, its message cut to [`MAX_UPSTREAM_MESSAGE`] bytes (at a
/// character boundary) with the full length said.
fn bounded(status: Status) -> Status {
    let message = status.message();
    if message.len() <= MAX_UPSTREAM_MESSAGE {
        return status;
    }
    let mut end = MAX_UPSTREAM_MESSAGE;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let cut = format!("{}… ({} bytes)", &message[..end], message.len());
    Status::with_details_and_metadata(
        status.code(),
        cut,
        status.details().to_vec().into(),
        status.metadata().clone(),
    )
}

/// The status to return for a failed call to `namespace`'s scheduler at
/// `address`.
pub fn from_upstream(namespace: &str, address: &str, status: Status) -> Status {
    if !is_transport_failure(&status) {
        return bounded(status);
    }
    if timed_out(&status) {
        // tonic enforces the deadline we forward and reports CANCELLED;
        // to the caller it is the deadline that passed.
        return Status::deadline_exceeded(format!(
            "namespace {namespace:?}: the scheduler at {address} did not answer within the deadline"
        ));
    }
    let code = match status.code() {
        // A broken connection surfaces as Unknown or Internal from some
        // layers; to a caller it means the same: try again later.
        Code::Unknown | Code::Internal => Code::Unavailable,
        code => code,
    };
    Status::new(
        code,
        format!(
            "namespace {namespace:?}: scheduler at {address} is unreachable: {}",
            status.message()
        ),
    )
}

/// The call to `namespace`'s scheduler took longer than `timeout`.
pub fn deadline_exceeded(namespace: &str, rpc: &str, timeout: Duration) -> Status {
    Status::deadline_exceeded(format!(
        "namespace {namespace:?}: the scheduler did not answer {rpc} within {timeout:?}"
    ))
}

/// A status from one namespace of a fanned-out call, labelled with it.
pub fn in_namespace(namespace: &str, status: &Status) -> Status {
    Status::new(
        status.code(),
        format!("namespace {namespace:?}: {}", status.message()),
    )
}

/// A stream ended because the gateway is stopping.
pub fn shutting_down() -> Status {
    Status::unavailable("the gateway is shutting down; reconnect to another replica or retry")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_statuses_pass_through_unchanged() {
        let upstream = Status::failed_precondition("model iris not found");
        let out = from_upstream("a", "127.0.0.1:1", upstream);
        assert_eq!(out.code(), Code::FailedPrecondition);
        assert_eq!(out.message(), "model iris not found");
    }

    #[test]
    fn long_scheduler_messages_are_cut() {
        let echo = format!("model {} not found", "é".repeat(100_000));
        let out = from_upstream("a", "127.0.0.1:1", Status::failed_precondition(echo));
        assert_eq!(out.code(), Code::FailedPrecondition);
        assert!(
            out.message().len() < MAX_UPSTREAM_MESSAGE + 32,
            "{}",
            out.message().len()
        );
        assert!(
            out.message().ends_with("(200016 bytes)"),
            "{}",
            out.message()
        );
    }

    #[test]
    fn transport_failures_name_the_namespace() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let local = Status::from_error(Box::new(io));
        assert!(is_transport_failure(&local));
        let out = from_upstream("team-a", "127.0.0.1:1", local);
        assert_eq!(out.code(), Code::Unavailable);
        assert!(
            out.message().contains("\"team-a\"") && out.message().contains("127.0.0.1:1"),
            "{}",
            out.message()
        );
    }

    #[test]
    fn transport_timeouts_are_deadline_exceeded() {
        let local = Status::from_error(Box::new(tonic::TimeoutExpired(())));
        let out = from_upstream("a", "127.0.0.1:1", local);
        assert_eq!(out.code(), Code::DeadlineExceeded);
        assert!(out.message().contains("\"a\""), "{}", out.message());
    }

    #[test]
    fn unknown_namespace_is_not_found_naming_it() {
        let status = unknown_namespace(UnknownNamespace("nope".into()));
        assert_eq!(status.code(), Code::NotFound);
        assert!(status.message().contains("\"nope\""));
    }
}
