//! The one call the gateway makes per request: [`Gatekeeper::admit`]
//! authenticates, applies the per-identity limits, authorizes the RPC in
//! its namespace and audits any refusal; [`Gatekeeper::finished`] audits
//! a write with the code it ended with. In: a [`Call`] (the RPC, the
//! credentials, the namespace); out: [`Admitted`] (the identity and the
//! stream slot, held while the call lives) or [`Refused`], whose
//! [`Refused::code`] is the gRPC status to answer with.

use crate::Gate;
use crate::audit::{AuditDecision, AuditRecord, audit};
use crate::limits::{Limited, Limiter, StreamPermit};
use std::time::Duration;
use switchyard_core::access::{self, AuthenticationError, Credentials, Identity, Refusal, Rpc};

/// What the gateway knows of a request before serving it.
#[derive(Debug)]
pub struct Call<'a> {
    pub rpc: Rpc,
    /// From [`Credentials::from_parts`].
    pub credentials: Credentials,
    /// The namespace it acts in; `None` for a cross-namespace listing or
    /// subscription, which the gateway filters with
    /// [`Gatekeeper::permitted`].
    pub namespace: Option<&'a str>,
    /// The model, pipeline, experiment or server it names, for the audit.
    pub object: Option<&'a str>,
    /// A stream (counted against `streams_per_identity` while it lives).
    pub stream: bool,
}

/// A call let through. Hold it until the call (or stream) ends.
#[derive(Default)]
pub struct Admitted {
    /// `None` when authentication is off.
    pub identity: Option<Identity>,
    _stream: Option<StreamPermit>,
}

/// The gRPC status a refusal is answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Unauthenticated,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
}

impl Code {
    /// The name the audit log and `grpc_code` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::Unavailable => "UNAVAILABLE",
        }
    }
}

/// A call not let through: answer with [`Refused::code`] and the message
/// (its `Display`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error(transparent)]
    Unauthenticated(AuthenticationError),
    #[error(transparent)]
    Forbidden(Refusal),
    #[error(transparent)]
    Limited(Limited),
}

impl Refused {
    pub fn code(&self) -> Code {
        match self {
            Refused::Unauthenticated(AuthenticationError::Unavailable(_))
            | Refused::Forbidden(Refusal::Undecided(_)) => Code::Unavailable,
            Refused::Unauthenticated(_) => Code::Unauthenticated,
            Refused::Forbidden(Refusal::Denied(_)) => Code::PermissionDenied,
            Refused::Limited(_) => Code::ResourceExhausted,
        }
    }

    /// When to retry, for a rate limit.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Refused::Limited(limited) => limited.retry_after(),
            _ => None,
        }
    }

    fn decision(&self) -> AuditDecision {
        match (self, self.code()) {
            (_, Code::Unavailable) => AuditDecision::Refused,
            (Refused::Unauthenticated(_), _) => AuditDecision::Unauthenticated,
            (Refused::Forbidden(_), _) => AuditDecision::Denied,
            (Refused::Limited(_), _) => AuditDecision::Limited,
        }
    }
}

/// Authentication, limits, authorization and audit, as configured. With
/// neither a gate nor a limiter it admits everything.
#[derive(Default)]
pub struct Gatekeeper {
    gate: Option<Gate>,
    limiter: Option<Limiter>,
}

impl Gatekeeper {
    /// Limits apply per identity, so only with a gate.
    pub fn new(gate: Option<Gate>, limiter: Option<Limiter>) -> Self {
        Gatekeeper { gate, limiter }
    }

    /// Whether callers are authenticated at all.
    pub fn enabled(&self) -> bool {
        self.gate.is_some()
    }

    /// Lets `call` through or says why not (refusals are audited here).
    pub async fn admit(&self, call: &Call<'_>) -> Result<Admitted, Refused> {
        let Some(gate) = &self.gate else {
            return Ok(Admitted::default());
        };
        let identity = self.identify(gate, call).await?;
        let admitted = self.limit_and_authorize(gate, &identity, call).await;
        admitted
            .map(|stream| Admitted {
                identity: Some(identity.clone()),
                _stream: stream,
            })
            .inspect_err(|refused| self.refused(call, Some(&identity), refused))
    }

    /// Who is calling, without counting the call against their limits or
    /// authorizing it (refusals are audited here): for a look-up made on
    /// the way to a call that [`Gatekeeper::admit`]s itself, such as where
    /// an object named only by name is ([`Gatekeeper::permitted`]).
    pub async fn authenticate(&self, call: &Call<'_>) -> Result<Admitted, Refused> {
        let Some(gate) = &self.gate else {
            return Ok(Admitted::default());
        };
        Ok(Admitted {
            identity: Some(self.identify(gate, call).await?),
            _stream: None,
        })
    }

    /// The caller of `call`, or the refusal (audited).
    async fn identify(&self, gate: &Gate, call: &Call<'_>) -> Result<Identity, Refused> {
        access::identify(gate.authenticator.as_ref(), &call.credentials)
            .await
            .map_err(Refused::Unauthenticated)
            .inspect_err(|refused| self.refused(call, None, refused))
    }

    async fn limit_and_authorize(
        &self,
        gate: &Gate,
        identity: &Identity,
        call: &Call<'_>,
    ) -> Result<Option<StreamPermit>, Refused> {
        if let Some(limiter) = &self.limiter {
            limiter.admit(identity).map_err(Refused::Limited)?;
        }
        if let Some(namespace) = call.namespace {
            access::check(gate.authorizer.as_ref(), identity, namespace, call.rpc)
                .await
                .map_err(Refused::Forbidden)?;
        }
        match (&self.limiter, call.stream) {
            (Some(limiter), true) => limiter
                .open_stream(identity)
                .map(Some)
                .map_err(Refused::Limited),
            _ => Ok(None),
        }
    }

    /// Of `namespaces`, those `admitted` may call `rpc` in (all of them
    /// without a gate): what a cross-namespace listing or aggregated
    /// subscription includes; call it again while a stream lives.
    pub async fn permitted<'n>(
        &self,
        admitted: &Admitted,
        rpc: Rpc,
        namespaces: impl IntoIterator<Item = &'n str>,
    ) -> Vec<&'n str> {
        match (&self.gate, &admitted.identity) {
            (Some(gate), Some(identity)) => {
                access::permitted(gate.authorizer.as_ref(), identity, rpc, namespaces).await
            }
            (Some(_), None) => Vec::new(),
            (None, _) => namespaces.into_iter().collect(),
        }
    }

    /// Audits an admitted call once it ended with `code` (`"OK"`, or the
    /// scheduler's error code): writes are recorded, reads are not.
    pub fn finished(&self, call: &Call<'_>, admitted: &Admitted, code: &str, message: &str) {
        audit(&AuditRecord {
            identity: admitted.identity.as_ref(),
            namespace: call.namespace,
            rpc: call.rpc,
            object: call.object,
            decision: AuditDecision::Allowed,
            code,
            message,
        });
    }

    fn refused(&self, call: &Call<'_>, identity: Option<&Identity>, refused: &Refused) {
        audit(&AuditRecord {
            identity,
            namespace: call.namespace,
            rpc: call.rpc,
            object: call.object,
            decision: refused.decision(),
            code: refused.code().as_str(),
            message: &refused.to_string(),
        });
    }
}
