//! Who is calling and what they may touch, as plain types: the gateway
//! asks an [`Authenticate`] who a request's [`Credentials`] belong to (an
//! [`Identity`]), then an [`Authorize`] whether that identity may make the
//! Kubernetes [`Access`] the same change would need ([`Rpc::required`]).
//! The engines behind the two traits (TokenReview, SubjectAccessReview, a
//! static policy file) live in `switchyard-access`; the gateway holds them
//! as `Arc<dyn ...>` and never learns which one it has.
//!
//! The mapping is the one a user would meet doing the same thing with
//! `kubectl` (docs/access.md): LoadModel needs create *and* update on
//! `models.mlops.seldon.io` in the namespace, UnloadModel delete, the
//! finite status RPCs list, the Subscribe* RPCs watch, and the scheduler's
//! control-plane subscription the custom verb [`Verb::Operate`] on
//! `seldonruntimes`, which only the operator's own identity is granted.

use crate::metrics as m;
use futures_util::future::BoxFuture;
use std::collections::BTreeMap;
use std::fmt;

/// How a caller proved who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// A bearer token (TokenReview, or a policy file's token hash).
    Token,
    /// A client certificate verified by the gateway's TLS (mTLS).
    Certificate,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Token => "token",
            Method::Certificate => "certificate",
        }
    }
}

/// An authenticated caller, in Kubernetes' terms (a SubjectAccessReview
/// is asked about exactly these fields).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Identity {
    /// `system:serviceaccount:team-a:ci`, a certificate's common name, a
    /// policy file's `user`.
    pub user: String,
    /// The API server's user UID, when it gave one.
    pub uid: Option<String>,
    /// `system:serviceaccounts:team-a`, a certificate's organizations.
    pub groups: Vec<String>,
    /// Extra attributes the API server attached (a ServiceAccount token's
    /// pod name, ...), passed back on reviews as they came.
    pub extra: BTreeMap<String, Vec<String>>,
    pub method: Method,
}

/// The identity a client certificate states, as Kubernetes reads it:
/// subject common name = user, subject organizations = groups.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CertificateIdentity {
    pub common_name: String,
    pub organizations: Vec<String>,
}

impl From<CertificateIdentity> for Identity {
    fn from(cert: CertificateIdentity) -> Self {
        Identity {
            user: cert.common_name,
            uid: None,
            groups: cert.organizations,
            extra: BTreeMap::new(),
            method: Method::Certificate,
        }
    }
}

/// What a request carries to prove who sent it. When it has both a
/// verified client certificate and a bearer token, the certificate is
/// used, as the Kubernetes API server does ([`Credentials::from_parts`]).
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// The token of `authorization: Bearer <token>`.
    Bearer(String),
    /// The subject of the client certificate the TLS handshake verified.
    Certificate(CertificateIdentity),
    None,
}

impl Credentials {
    /// The credentials of a request with an optional `authorization`
    /// header value and an optional verified certificate identity. A
    /// header that is not `Bearer <token>` counts as no token.
    pub fn from_parts(
        authorization: Option<&str>,
        certificate: Option<CertificateIdentity>,
    ) -> Self {
        if let Some(cert) = certificate {
            return Credentials::Certificate(cert);
        }
        let token = authorization.and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            let token = token.trim();
            (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
        });
        match token {
            Some(token) => Credentials::Bearer(token.to_owned()),
            None => Credentials::None,
        }
    }
}

/// Never prints the token.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Credentials::Certificate(cert) => f.debug_tuple("Certificate").field(cert).finish(),
            Credentials::None => f.write_str("None"),
        }
    }
}

/// The kinds of credential an authenticator accepts, for the message of
/// an UNAUTHENTICATED answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub bearer_token: bool,
    pub client_certificate: bool,
}

impl fmt::Display for Accepted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const TOKEN: &str = "a bearer token (`authorization: Bearer <token>` metadata)";
        const CERT: &str = "a client certificate signed by the gateway's client CA";
        match (self.bearer_token, self.client_certificate) {
            (true, true) => write!(f, "this gateway accepts {TOKEN} or {CERT}"),
            (true, false) => write!(f, "this gateway accepts {TOKEN}"),
            (false, true) => write!(f, "this gateway accepts {CERT}"),
            (false, false) => f.write_str("this gateway accepts no credentials"),
        }
    }
}

/// Why a request was not authenticated. `Missing` and `Rejected` are
/// UNAUTHENTICATED; `Unavailable` (the API server could not be asked) is
/// UNAVAILABLE: the caller may retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthenticationError {
    #[error("no credentials: {accepted}")]
    Missing { accepted: Accepted },
    #[error("{method} rejected: {reason}; {accepted}")]
    Rejected {
        method: &'static str,
        reason: String,
        accepted: Accepted,
    },
    #[error("cannot authenticate now: {0}")]
    Unavailable(String),
}

/// Kubernetes verbs, plus switchyard's one custom verb.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Delete,
    /// Subscribing to a scheduler's control plane (its requests to re-send
    /// every object): granted to switchyard's own ServiceAccount only, on
    /// `seldonruntimes.mlops.seldon.io`.
    Operate,
}

impl Verb {
    pub const ALL: [Verb; 7] = [
        Verb::Get,
        Verb::List,
        Verb::Watch,
        Verb::Create,
        Verb::Update,
        Verb::Delete,
        Verb::Operate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Delete => "delete",
            Verb::Operate => "operate",
        }
    }

    pub fn parse(word: &str) -> Option<Verb> {
        Verb::ALL.into_iter().find(|verb| verb.as_str() == word)
    }
}

/// The `mlops.seldon.io` resources the gateway's RPCs touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    Models,
    Pipelines,
    Experiments,
    Servers,
    SeldonRuntimes,
}

impl Resource {
    /// The API group of every one of them.
    pub const GROUP: &'static str = "mlops.seldon.io";

    pub const ALL: [Resource; 5] = [
        Resource::Models,
        Resource::Pipelines,
        Resource::Experiments,
        Resource::Servers,
        Resource::SeldonRuntimes,
    ];

    /// The plural resource name, as RBAC rules spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Models => "models",
            Resource::Pipelines => "pipelines",
            Resource::Experiments => "experiments",
            Resource::Servers => "servers",
            Resource::SeldonRuntimes => "seldonruntimes",
        }
    }

    pub fn parse(word: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.as_str() == word)
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.as_str(), Resource::GROUP)
    }
}

/// One Kubernetes permission: `verb` on `resource` in `namespace`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    pub namespace: String,
    pub verb: Verb,
    pub resource: Resource,
}

/// An authorizer's answer. `reason` is what the authorizer said (the API
/// server's RBAC explanation, the policy file's), for logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny { reason: String },
}

/// The authorizer could not decide (the API server did not answer): the
/// request is refused with UNAVAILABLE, never allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot authorize now: {0}")]
pub struct Undecided(pub String);

/// A refusal (PERMISSION_DENIED): who, which verb, resource and namespace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{user} may not {verb} {resource} in namespace {namespace:?}{}",
    if reason.is_empty() { String::new() } else { format!(": {reason}") }
)]
pub struct Denied {
    pub user: String,
    pub verb: &'static str,
    pub resource: Resource,
    pub namespace: String,
    pub reason: String,
}

/// Why [`check`] refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Undecided(#[from] Undecided),
}

/// Who sent a request, from its credentials.
pub trait Authenticate: Send + Sync + 'static {
    fn authenticate<'a>(
        &'a self,
        credentials: &'a Credentials,
    ) -> BoxFuture<'a, Result<Identity, AuthenticationError>>;

    /// What it accepts, for the UNAUTHENTICATED message.
    fn accepted(&self) -> Accepted;
}

/// Whether an identity holds one permission.
pub trait Authorize: Send + Sync + 'static {
    fn authorize<'a>(
        &'a self,
        identity: &'a Identity,
        access: &'a Access,
    ) -> BoxFuture<'a, Result<Decision, Undecided>>;
}

/// Who sent a request: [`Authenticate::authenticate`], counted in
/// `switchyard_access_authentications_total`. The gateway calls this.
pub async fn identify(
    authenticator: &dyn Authenticate,
    credentials: &Credentials,
) -> Result<Identity, AuthenticationError> {
    let kind = match credentials {
        Credentials::Bearer(_) => "token",
        Credentials::Certificate(_) => "certificate",
        Credentials::None => "none",
    };
    let outcome = authenticator.authenticate(credentials).await;
    let result = match &outcome {
        Ok(_) => "authenticated",
        Err(AuthenticationError::Unavailable(_)) => "error",
        Err(_) => "rejected",
    };
    metrics::counter!(m::ACCESS_AUTHENTICATIONS_TOTAL, "kind" => kind, "result" => result)
        .increment(1);
    outcome
}

/// Whether `identity` may call `rpc` in `namespace`: every permission of
/// [`Rpc::required`] must be allowed; the first refused one is named.
/// Counted in `switchyard_access_decisions_total`. The gateway calls this.
pub async fn check(
    authorizer: &dyn Authorize,
    identity: &Identity,
    namespace: &str,
    rpc: Rpc,
) -> Result<(), Refusal> {
    let outcome = decide(authorizer, identity, namespace, rpc).await;
    let result = match &outcome {
        Ok(()) => "allowed",
        Err(Refusal::Denied(_)) => "denied",
        Err(Refusal::Undecided(_)) => "error",
    };
    metrics::counter!(m::ACCESS_DECISIONS_TOTAL, "result" => result).increment(1);
    outcome
}

async fn decide(
    authorizer: &dyn Authorize,
    identity: &Identity,
    namespace: &str,
    rpc: Rpc,
) -> Result<(), Refusal> {
    for &(verb, resource) in rpc.required() {
        let access = Access {
            namespace: namespace.to_owned(),
            verb,
            resource,
        };
        if let Decision::Deny { reason } = authorizer.authorize(identity, &access).await? {
            return Err(Denied {
                user: identity.user.clone(),
                verb: verb.as_str(),
                resource,
                namespace: access.namespace,
                reason,
            }
            .into());
        }
    }
    Ok(())
}

/// Of `namespaces`, those where `identity` may call `rpc`: what a
/// cross-namespace listing or an aggregated subscription may include.
/// A namespace the authorizer cannot decide on now is left out.
pub async fn permitted<'n>(
    authorizer: &dyn Authorize,
    identity: &Identity,
    rpc: Rpc,
    namespaces: impl IntoIterator<Item = &'n str>,
) -> Vec<&'n str> {
    let mut allowed = Vec::new();
    for namespace in namespaces {
        if check(authorizer, identity, namespace, rpc).await.is_ok() {
            allowed.push(namespace);
        }
    }
    allowed
}

mod rpc;
pub use rpc::Rpc;
