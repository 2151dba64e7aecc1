//! The audit log: every write through the gateway and every refusal, as
//! one structured tracing event with target `switchyard::audit` (route it
//! with `RUST_LOG=switchyard::audit=info` or a subscriber filter). Fields:
//! `user`, `groups`, `method` (how the caller authenticated), `namespace`,
//! `rpc`, `object`, `decision`, `code`, and `message` on refusals.

use switchyard_core::access::{Identity, Rpc};

/// The tracing target of every audit line.
pub const AUDIT_TARGET: &str = "switchyard::audit";

/// What the gateway did with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditDecision {
    /// Authorized and forwarded (`code` is the scheduler's answer).
    Allowed,
    /// No or invalid credentials (UNAUTHENTICATED).
    Unauthenticated,
    /// Authenticated, not authorized (PERMISSION_DENIED).
    Denied,
    /// Over a per-identity limit (RESOURCE_EXHAUSTED).
    Limited,
    /// Refused for another reason before reaching the scheduler
    /// (UNAVAILABLE when a review could not be made, FAILED_PRECONDITION,
    /// INVALID_ARGUMENT).
    Refused,
}

impl AuditDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditDecision::Allowed => "allowed",
            AuditDecision::Unauthenticated => "unauthenticated",
            AuditDecision::Denied => "denied",
            AuditDecision::Limited => "limited",
            AuditDecision::Refused => "refused",
        }
    }
}

/// One audited request.
#[derive(Clone, Copy, Debug)]
pub struct AuditRecord<'a> {
    /// `None` when the caller was not authenticated.
    pub identity: Option<&'a Identity>,
    /// `None` when the request named none (a cross-namespace listing).
    pub namespace: Option<&'a str>,
    pub rpc: Rpc,
    /// The model, pipeline, experiment or server named, if any.
    pub object: Option<&'a str>,
    pub decision: AuditDecision,
    /// The gRPC status code's name (`OK`, `PERMISSION_DENIED`, ...).
    pub code: &'a str,
    /// The refusal's message (empty when allowed).
    pub message: &'a str,
}

impl AuditRecord<'_> {
    /// Whether the audit log records it: every write, every refusal.
    pub fn wanted(&self) -> bool {
        self.rpc.is_write() || self.decision != AuditDecision::Allowed
    }
}

/// Logs `record` if the audit log records it ([`AuditRecord::wanted`]).
pub fn audit(record: &AuditRecord<'_>) {
    if !record.wanted() {
        return;
    }
    let (user, method, groups) = match record.identity {
        Some(id) => (id.user.as_str(), id.method.as_str(), id.groups.join(",")),
        None => ("", "none", String::new()),
    };
    tracing::info!(
        target: AUDIT_TARGET,
        user,
        groups,
        method,
        namespace = record.namespace.unwrap_or(""),
        rpc = record.rpc.method(),
        object = record.object.unwrap_or(""),
        decision = record.decision.as_str(),
        code = record.code,
        message = record.message,
        "audit"
    );
}
