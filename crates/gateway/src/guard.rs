//! Who may make a call: every RPC passes the [`Gatekeeper`] once its
//! namespace is known (docs/access.md).
//!
//! In: the request's `authorization` metadata and the client certificate
//! the TLS handshake verified (read from the connection's TLS info, since
//! the listener is `switchyard_net`'s and tonic's `peer_certs` looks only
//! for its own TCP info). Out: an [`Admitted`] held while the call lives,
//! or the refusal as a gRPC status: UNAUTHENTICATED, PERMISSION_DENIED,
//! RESOURCE_EXHAUSTED (with a [`RETRY_AFTER_METADATA`] hint when a wait
//! helps) or UNAVAILABLE. Writes are audited with the code they ended
//! with.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tonic::metadata::MetadataValue;
use tonic::transport::server::TlsConnectInfo;
use tonic::{Request, Status};

use super::listen::ConnectionInfo;
use super::scheduler::Shared;
use super::truth::SourceOfTruth;
use switchyard_access::{
    Admitted, AuditDecision, AuditRecord, Call, Code, Gatekeeper, Refused, audit, identity_from_der,
};
use switchyard_core::access::{Credentials, Rpc};

/// Trailing metadata of a RESOURCE_EXHAUSTED answer over a rate limit:
/// milliseconds to wait before retrying.
pub const RETRY_AFTER_METADATA: &str = "retry-after-ms";

/// How often an aggregated subscription re-checks which namespaces its
/// caller may still watch, unless configured.
pub const DEFAULT_RECHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The gateway's access control: the gatekeeper, and how often open
/// aggregated streams re-check their namespaces. `Default`: no
/// authentication.
#[derive(Clone)]
pub struct Access {
    pub keeper: Arc<Gatekeeper>,
    /// The check on direct writes when the operator side runs (`truth`);
    /// `None`: every direct write is let through.
    pub truth: Option<SourceOfTruth>,
    /// Decisions are cached by the gatekeeper, so a re-check is cheap;
    /// a revoked grant ends a namespace's events within the decision
    /// cache's time plus this.
    pub recheck_interval: Duration,
}

impl Default for Access {
    fn default() -> Self {
        Access {
            keeper: Arc::new(Gatekeeper::default()),
            truth: None,
            recheck_interval: DEFAULT_RECHECK_INTERVAL,
        }
    }
}

impl Access {
    /// Access through `keeper`.
    pub fn new(keeper: Gatekeeper, recheck_interval: Duration) -> Self {
        Access {
            keeper: Arc::new(keeper),
            truth: None,
            recheck_interval,
        }
    }

    /// With the source-of-truth check on direct writes.
    pub fn with_truth(self, truth: SourceOfTruth) -> Self {
        Access {
            truth: Some(truth),
            ..self
        }
    }
}

/// The credentials a request carries, when `keeper` asks for any (with
/// authentication off a certificate is not even read).
pub(crate) fn credentials<T>(
    keeper: &Gatekeeper,
    request: &Request<T>,
) -> Result<Credentials, Status> {
    if !keeper.enabled() {
        return Ok(Credentials::None);
    }
    let authorization = request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    let leaf = request
        .extensions()
        .get::<TlsConnectInfo<ConnectionInfo>>()
        .and_then(TlsConnectInfo::peer_certs)
        .and_then(|certs| certs.first().map(|der| der.as_ref().to_vec()));
    let certificate = leaf
        .map(|der| identity_from_der(&der))
        .transpose()
        .map_err(|e| Status::unauthenticated(e.to_string()))?;
    Ok(Credentials::from_parts(authorization, certificate))
}

/// A refusal as the gRPC status the caller gets.
pub(crate) fn refusal(refused: &Refused) -> Status {
    let code = match refused.code() {
        Code::Unauthenticated => tonic::Code::Unauthenticated,
        Code::PermissionDenied => tonic::Code::PermissionDenied,
        Code::ResourceExhausted => tonic::Code::ResourceExhausted,
        Code::Unavailable => tonic::Code::Unavailable,
    };
    let mut status = Status::new(code, refused.to_string());
    if let Some(wait) = refused.retry_after() {
        let millis = wait.as_millis().max(1).to_string();
        if let Ok(value) = MetadataValue::try_from(millis.as_str()) {
            status.metadata_mut().insert(RETRY_AFTER_METADATA, value);
        }
    }
    status
}

/// One call's admission, kept to audit how a write ended.
pub(crate) struct Pass {
    pub admitted: Admitted,
    rpc: Rpc,
    credentials: Credentials,
    namespace: Option<String>,
    object: Option<String>,
}

impl Shared {
    /// Admits `rpc` for `request` in `namespace` (`None`: a
    /// cross-namespace call, filtered with [`permitted`]).
    pub(crate) async fn admit<T>(
        &self,
        rpc: Rpc,
        request: &Request<T>,
        namespace: Option<&str>,
        object: Option<&str>,
        stream: bool,
    ) -> Result<Pass, Status> {
        let credentials = credentials(&self.access.keeper, request)?;
        let call = Call {
            rpc,
            credentials,
            namespace,
            object,
            stream,
        };
        admit(&self.access.keeper, call).await
    }
}

impl Shared {
    /// Of `namespaces` (where an object a request names only by name was
    /// found), those its caller may call `rpc` in, so that a name held in
    /// another tenant's namespace is neither chosen nor revealed. Without
    /// authentication: all of them.
    pub(crate) async fn visible<T>(
        &self,
        rpc: Rpc,
        request: &Request<T>,
        namespaces: Vec<String>,
    ) -> Result<Vec<String>, Status> {
        let keeper = &self.access.keeper;
        if !keeper.enabled() || namespaces.is_empty() {
            return Ok(namespaces);
        }
        // Authenticated only: the call this look-up is for is admitted
        // (and counted against the caller's limits) on its own.
        let call = call(keeper, rpc, request, false)?;
        let admitted = keeper.authenticate(&call).await.map_err(|r| refusal(&r))?;
        Ok(permitted_to(keeper, &admitted, rpc, namespaces).await)
    }
}

/// Lets `call` through `keeper`, or the refusal as a status. Boxed so
/// handlers' futures stay `Send` for every lifetime.
pub(crate) fn admit<'a>(
    keeper: &'a Gatekeeper,
    call: Call<'a>,
) -> BoxFuture<'a, Result<Pass, Status>> {
    if !keeper.enabled() {
        // Anyone may call anything: nothing to wait for, nothing to audit.
        let pass = Pass {
            admitted: Admitted::default(),
            rpc: call.rpc,
            credentials: call.credentials,
            namespace: None,
            object: None,
        };
        return Box::pin(std::future::ready(Ok(pass)));
    }
    Box::pin(async move {
        let admitted = keeper.admit(&call).await.map_err(|r| refusal(&r))?;
        Ok(Pass {
            admitted,
            rpc: call.rpc,
            credentials: call.credentials,
            namespace: call.namespace.map(str::to_owned),
            object: call.object.map(str::to_owned),
        })
    })
}

/// Of `namespaces`, those the caller of `pass` may call its RPC in.
pub(crate) fn permitted<'a>(
    keeper: &'a Gatekeeper,
    pass: &'a Pass,
    namespaces: Vec<String>,
) -> BoxFuture<'a, Vec<String>> {
    permitted_to(keeper, &pass.admitted, pass.rpc, namespaces)
}

/// Of `namespaces`, those `admitted` may call `rpc` in.
fn permitted_to<'a>(
    keeper: &'a Gatekeeper,
    admitted: &'a Admitted,
    rpc: Rpc,
    namespaces: Vec<String>,
) -> BoxFuture<'a, Vec<String>> {
    Box::pin(async move {
        let allowed = keeper
            .permitted(admitted, rpc, namespaces.iter().map(String::as_str))
            .await;
        let allowed: Vec<String> = allowed.into_iter().map(str::to_owned).collect();
        allowed
    })
}

/// A cross-namespace call: who is calling, and within their limits.
pub(crate) fn call<T>(
    keeper: &Gatekeeper,
    rpc: Rpc,
    request: &Request<T>,
    stream: bool,
) -> Result<Call<'static>, Status> {
    Ok(Call {
        rpc,
        credentials: credentials(keeper, request)?,
        namespace: None,
        object: None,
        stream,
    })
}

impl Pass {
    /// Audits a write the gateway itself refused after admitting its
    /// caller (the source-of-truth check), as `refused`.
    pub(crate) fn refused(&self, keeper: &Gatekeeper, status: &Status) {
        if !keeper.enabled() {
            return;
        }
        audit(&AuditRecord {
            identity: self.admitted.identity.as_ref(),
            namespace: self.namespace.as_deref(),
            rpc: self.rpc,
            object: self.object.as_deref(),
            decision: AuditDecision::Refused,
            code: code_name(status.code()),
            message: status.message(),
        });
    }

    /// Audits a write with the status it ended with.
    pub(crate) fn finished(&self, keeper: &Gatekeeper, outcome: Result<(), &Status>) {
        if !self.rpc.is_write() || !keeper.enabled() {
            return;
        }
        let call = Call {
            rpc: self.rpc,
            credentials: self.credentials.clone(),
            namespace: self.namespace.as_deref(),
            object: self.object.as_deref(),
            stream: false,
        };
        let (code, message) = match outcome {
            Ok(()) => ("OK", ""),
            Err(status) => (code_name(status.code()), status.message()),
        };
        keeper.finished(&call, &self.admitted, code, message);
    }
}

fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code as C;
    match code {
        C::Ok => "OK",
        C::Cancelled => "CANCELLED",
        C::Unknown => "UNKNOWN",
        C::InvalidArgument => "INVALID_ARGUMENT",
        C::DeadlineExceeded => "DEADLINE_EXCEEDED",
        C::NotFound => "NOT_FOUND",
        C::AlreadyExists => "ALREADY_EXISTS",
        C::PermissionDenied => "PERMISSION_DENIED",
        C::ResourceExhausted => "RESOURCE_EXHAUSTED",
        C::FailedPrecondition => "FAILED_PRECONDITION",
        C::Aborted => "ABORTED",
        C::OutOfRange => "OUT_OF_RANGE",
        C::Unimplemented => "UNIMPLEMENTED",
        C::Internal => "INTERNAL",
        C::Unavailable => "UNAVAILABLE",
        C::DataLoss => "DATA_LOSS",
        C::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// `stream`, keeping `pass` (its stream slot) until it ends.
pub(crate) fn hold<S: futures_util::Stream>(
    stream: S,
    pass: Pass,
) -> impl futures_util::Stream<Item = S::Item> {
    futures_util::StreamExt::map(stream, move |item| {
        let _alive = &pass;
        item
    })
}
