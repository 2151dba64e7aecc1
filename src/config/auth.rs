//! `[gateway.auth]`: who may call the gateway (docs/access.md). Every key
//! is optional here, filled by [`FileConfig::with_defaults`]; the engine's
//! own settings ([`AuthConfig`]) come from [`AuthSection::engine`].
//!
//! [`FileConfig::with_defaults`]: super::FileConfig::with_defaults

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use switchyard_access::{AuthConfig, AuthMode, LimitsConfig};

/// The `[gateway.auth]` table.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// `kubernetes` (TokenReview, client certificates, SubjectAccessReview),
    /// `policy` (the policy file) or `none` (anyone may do anything).
    /// Default: `kubernetes` with the Kubernetes side on, else `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<AuthMode>,
    /// The policy file of `mode = "policy"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_file: Option<PathBuf>,
    /// Seconds an accepted token's identity is reused; default 120.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_cache_ttl_seconds: Option<f64>,
    /// Seconds an allowed decision is reused (a revoked grant still works
    /// this long, also on open streams); default 10.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_cache_ttl_seconds: Option<f64>,
    /// Seconds a denial is reused (a new grant waits this long); default 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied_cache_ttl_seconds: Option<f64>,
    /// Seconds a TokenReview or SubjectAccessReview may take; default 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_timeout_seconds: Option<f64>,
    #[serde(default)]
    pub limits: AuthLimits,
}

/// `[gateway.auth.limits]`: per caller (its user name).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthLimits {
    /// Requests per second of one caller; unset: no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<u32>,
    /// Requests one caller may make at once above the rate; default: the
    /// rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Streams one caller may have open at once; unset: no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streams_per_identity: Option<u32>,
}

impl AuthSection {
    /// The defaults of the keys that have one; `kubernetes`: whether the
    /// Kubernetes side runs.
    pub fn fill_defaults(&mut self, kubernetes: bool) {
        let engine = AuthConfig::default();
        self.mode.get_or_insert(if kubernetes {
            AuthMode::Kubernetes
        } else {
            AuthMode::None
        });
        self.token_cache_ttl_seconds
            .get_or_insert(engine.token_cache_ttl_seconds);
        self.allowed_cache_ttl_seconds
            .get_or_insert(engine.allowed_cache_ttl_seconds);
        self.denied_cache_ttl_seconds
            .get_or_insert(engine.denied_cache_ttl_seconds);
        self.review_timeout_seconds
            .get_or_insert(engine.review_timeout_seconds);
    }

    /// The engine's settings; unset keys keep the engine's defaults, an
    /// unset mode is `kubernetes` when `kubernetes` (the Kubernetes side
    /// runs), else `none`.
    pub fn engine(&self, kubernetes: bool) -> AuthConfig {
        let mut filled = self.clone();
        filled.fill_defaults(kubernetes);
        let AuthSection {
            mode,
            policy_file,
            token_cache_ttl_seconds,
            allowed_cache_ttl_seconds,
            denied_cache_ttl_seconds,
            review_timeout_seconds,
            limits:
                AuthLimits {
                    requests_per_second,
                    burst,
                    streams_per_identity,
                },
        } = filled;
        let engine = AuthConfig::default();
        AuthConfig {
            mode: mode.unwrap_or_default(),
            policy_file,
            token_cache_ttl_seconds: token_cache_ttl_seconds
                .unwrap_or(engine.token_cache_ttl_seconds),
            allowed_cache_ttl_seconds: allowed_cache_ttl_seconds
                .unwrap_or(engine.allowed_cache_ttl_seconds),
            denied_cache_ttl_seconds: denied_cache_ttl_seconds
                .unwrap_or(engine.denied_cache_ttl_seconds),
            review_timeout_seconds: review_timeout_seconds.unwrap_or(engine.review_timeout_seconds),
            limits: LimitsConfig {
                requests_per_second,
                burst,
                streams_per_identity,
                ..engine.limits.clone()
            },
            ..engine
        }
    }
}

/// `--gateway-auth`'s value.
pub fn parse_mode(text: &str) -> Result<AuthMode, String> {
    match text {
        "kubernetes" => Ok(AuthMode::Kubernetes),
        "policy" => Ok(AuthMode::Policy),
        "none" => Ok(AuthMode::None),
        other => Err(format!(
            "{other:?} is not an authentication mode (kubernetes, policy or none)"
        )),
    }
}
