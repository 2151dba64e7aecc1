//! Who may use the shared gateway, and how much: the engines behind
//! `switchyard_core::access`'s [`Authenticate`] and [`Authorize`] traits,
//! the per-identity [`Limiter`] and the [`audit`] log. docs/access.md
//! describes the model for a cluster admin.
//!
//! - [`kubernetes`] (feature `kubernetes`, on by default): TokenReview and
//!   SubjectAccessReview through a `kube::Client`, cached and bounded;
//! - [`policy`]: the static policy file for `run` without Kubernetes;
//! - [`certificate`]: a client certificate's user and groups;
//! - [`limits`]: requests per second and open streams per identity;
//! - [`audit`]: one structured line per write and per refusal;
//! - [`gatekeeper`]: all of it in the one call the gateway makes per
//!   request;
//! - [`config`]: `[gateway.auth]` as plain serde structs.
//!
//! The gateway, which knows no Kubernetes, depends on this crate with
//! `default-features = false` and holds a [`Gatekeeper`]; the binary
//! builds its parts with [`Gate::from_config`] and [`Limiter::new`].

pub mod audit;
pub mod certificate;
pub mod config;
pub mod gatekeeper;
mod hash;
#[cfg(feature = "kubernetes")]
pub mod kubernetes;
pub mod limits;
pub mod policy;

pub use audit::{AUDIT_TARGET, AuditDecision, AuditRecord, audit};
pub use certificate::{CertificateError, identity_from_der};
pub use config::{AuthConfig, AuthMode, ConfigError, LimitsConfig};
pub use gatekeeper::{Admitted, Call, Code, Gatekeeper, Refused};
pub use hash::sha256_hex;
pub use limits::{Limited, Limiter, StreamPermit};
pub use policy::{Policy, PolicyError};

use std::sync::Arc;
use switchyard_core::access::{Authenticate, Authorize};

/// The authenticator and authorizer the gateway holds.
#[derive(Clone)]
pub struct Gate {
    pub authenticator: Arc<dyn Authenticate>,
    pub authorizer: Arc<dyn Authorize>,
}

/// Why [`Gate::from_config`] failed.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

impl Gate {
    /// The policy file's rules, as both authenticator and authorizer.
    pub fn policy(policy: Policy) -> Gate {
        let policy = Arc::new(policy);
        Gate {
            authenticator: policy.clone(),
            authorizer: policy,
        }
    }

    /// TokenReview and SubjectAccessReview through `client`.
    #[cfg(feature = "kubernetes")]
    pub fn kubernetes(
        client: kube::Client,
        config: &AuthConfig,
        client_certificates: bool,
    ) -> Result<Gate, ConfigError> {
        Ok(Gate {
            authenticator: Arc::new(kubernetes::TokenReviewer::new(
                client.clone(),
                config,
                client_certificates,
            )?),
            authorizer: Arc::new(kubernetes::AccessReviewer::new(client, config)?),
        })
    }

    /// The gate `config.mode` asks for: `None` for `mode = "none"`.
    /// `client` is the Kubernetes API, when switchyard runs with it;
    /// `client_certificates` whether the gateway's TLS asks for client
    /// certificates.
    #[cfg(feature = "kubernetes")]
    pub fn from_config(
        config: &AuthConfig,
        client: Option<kube::Client>,
        client_certificates: bool,
    ) -> Result<Option<Gate>, GateError> {
        config.durations()?;
        match config.mode {
            AuthMode::None => Ok(None),
            AuthMode::Kubernetes => {
                let client = client.ok_or(ConfigError::NoKubernetes)?;
                Ok(Some(Gate::kubernetes(client, config, client_certificates)?))
            }
            AuthMode::Policy => {
                let path = config
                    .policy_file
                    .as_ref()
                    .ok_or(ConfigError::NoPolicyFile)?;
                Ok(Some(Gate::policy(Policy::load(path)?)))
            }
        }
    }
}

#[cfg(test)]
mod tests;
