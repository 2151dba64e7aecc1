//! The settings of `[gateway.auth]` (and `[gateway.auth.limits]`), as
//! plain serde structs: the binary's config module embeds them, fills them
//! from the file, flags and variables, and hands them to
//! [`Gate::from_config`](crate::Gate::from_config) and
//! [`Limiter::new`](crate::Limiter::new). Durations are seconds (decimals
//! allowed); [`AuthConfig::durations`] checks them and names a bad one.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Who may call the gateway.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Anyone who reaches the port may do anything in any namespace.
    #[default]
    None,
    /// Bearer tokens by TokenReview, client certificates by their subject,
    /// every RPC by SubjectAccessReview (needs the Kubernetes API).
    Kubernetes,
    /// The static policy file `policy_file` (no Kubernetes needed).
    Policy,
}

/// `[gateway.auth]`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    pub mode: AuthMode,
    /// The policy file of `mode = "policy"` (TOML, docs/access.md).
    pub policy_file: Option<PathBuf>,
    /// TokenReview audiences to ask for; empty: the API server's own.
    pub audiences: Vec<String>,
    /// How long an authenticated token's identity is reused. A token
    /// revoked meanwhile still works this long (the API server's webhook
    /// token cache keeps 2 minutes).
    pub token_cache_ttl_seconds: f64,
    /// How long a token the API server rejected stays rejected without
    /// asking again (a flood of bad tokens costs one review each per
    /// this time).
    pub token_cache_failure_ttl_seconds: f64,
    /// Most tokens remembered (by SHA-256, never the token itself).
    pub token_cache_entries: usize,
    /// How long an allowed SubjectAccessReview is reused: a revoked
    /// RoleBinding stops working within this time, also on open streams.
    pub allowed_cache_ttl_seconds: f64,
    /// How long a denial is reused: a new RoleBinding starts working
    /// within this time.
    pub denied_cache_ttl_seconds: f64,
    /// Most decisions remembered (identity, namespace, verb, resource).
    pub decision_cache_entries: usize,
    /// Seconds a TokenReview or SubjectAccessReview may take before the
    /// request is refused with UNAVAILABLE.
    pub review_timeout_seconds: f64,
    pub limits: LimitsConfig,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            mode: AuthMode::None,
            policy_file: None,
            audiences: Vec::new(),
            token_cache_ttl_seconds: 120.0,
            token_cache_failure_ttl_seconds: 10.0,
            token_cache_entries: 10_000,
            allowed_cache_ttl_seconds: 10.0,
            denied_cache_ttl_seconds: 5.0,
            decision_cache_entries: 10_000,
            review_timeout_seconds: 5.0,
            limits: LimitsConfig::default(),
        }
    }
}

/// `[gateway.auth.limits]`: per identity (its user name), so one noisy
/// tenant cannot starve the others. Unset limits do not apply.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Sustained requests per second of one identity (every RPC, streams
    /// included).
    pub requests_per_second: Option<u32>,
    /// Requests one identity may make at once above that rate; default:
    /// `requests_per_second`.
    pub burst: Option<u32>,
    /// Streams (Subscribe*, finite status listings) one identity may have
    /// open at the same time.
    pub streams_per_identity: Option<u32>,
    /// Most identities whose request rate is tracked; past it the least
    /// recently active one is forgotten (and starts again with a full
    /// burst).
    pub identities: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            requests_per_second: None,
            burst: None,
            streams_per_identity: None,
            identities: 10_000,
        }
    }
}

/// A setting of `[gateway.auth]` that cannot be used, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("gateway.auth.{field}: {value} is not a number of seconds (0 or more)")]
    Seconds { field: &'static str, value: String },
    #[error("gateway.auth.{field} must be at least 1")]
    Zero { field: &'static str },
    #[error("gateway.auth.mode = \"policy\" needs gateway.auth.policy_file")]
    NoPolicyFile,
    #[error("gateway.auth.mode = \"kubernetes\" needs the Kubernetes API (run with --kubernetes)")]
    NoKubernetes,
}

/// [`AuthConfig`]'s durations, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Durations {
    pub token_ttl: Duration,
    pub token_failure_ttl: Duration,
    pub allowed_ttl: Duration,
    pub denied_ttl: Duration,
    pub review_timeout: Duration,
}

impl AuthConfig {
    pub fn durations(&self) -> Result<Durations, ConfigError> {
        let seconds = |field: &'static str, value: f64| {
            Duration::try_from_secs_f64(value).map_err(|_| ConfigError::Seconds {
                field,
                value: value.to_string(),
            })
        };
        Ok(Durations {
            token_ttl: seconds("token_cache_ttl_seconds", self.token_cache_ttl_seconds)?,
            token_failure_ttl: seconds(
                "token_cache_failure_ttl_seconds",
                self.token_cache_failure_ttl_seconds,
            )?,
            allowed_ttl: seconds("allowed_cache_ttl_seconds", self.allowed_cache_ttl_seconds)?,
            denied_ttl: seconds("denied_cache_ttl_seconds", self.denied_cache_ttl_seconds)?,
            review_timeout: seconds("review_timeout_seconds", self.review_timeout_seconds)?,
        })
    }
}
