//! Bearer tokens, by TokenReview: the API server says whose token it is
//! (any token it accepts: ServiceAccount tokens, OIDC, webhook). Answers
//! are cached by the token's SHA-256 (never the token): accepted ones for
//! `token_cache_ttl_seconds`, rejected ones for
//! `token_cache_failure_ttl_seconds`. A client certificate the gateway's
//! TLS verified is its subject, with no review.

use super::cache::TtlCache;
use super::review;
use crate::config::{AuthConfig, ConfigError, Durations};
use crate::hash::digest;
use futures_util::future::{BoxFuture, FutureExt};
use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec};
use kube::api::{Api, PostParams};
use switchyard_core::access::{
    Accepted, Authenticate, AuthenticationError, Credentials, Identity, Method,
};

/// The `kind` label of this cache and review.
const KIND: &str = "token_review";

pub struct TokenReviewer {
    api: Api<TokenReview>,
    audiences: Vec<String>,
    durations: Durations,
    /// An accepted token's identity, or why it was rejected.
    cache: TtlCache<Result<Identity, String>>,
    accepted: Accepted,
}

impl TokenReviewer {
    /// `client_certificates`: whether the gateway asks for client
    /// certificates (its TLS has a client CA), for the UNAUTHENTICATED
    /// message.
    pub fn new(
        client: kube::Client,
        config: &AuthConfig,
        client_certificates: bool,
    ) -> Result<Self, ConfigError> {
        Ok(TokenReviewer {
            api: Api::all(client),
            audiences: config.audiences.clone(),
            durations: config.durations()?,
            cache: TtlCache::new(KIND, config.token_cache_entries),
            accepted: Accepted {
                bearer_token: true,
                client_certificate: client_certificates,
            },
        })
    }

    async fn token(&self, token: &str) -> Result<Identity, AuthenticationError> {
        let key = digest([KIND.as_bytes(), token.as_bytes()]);
        let answer = self.cache.get_or_fetch(key, self.ask(token)).await;
        match answer {
            Ok(Ok(identity)) => Ok(identity),
            Ok(Err(reason)) => Err(AuthenticationError::Rejected {
                method: "bearer token",
                reason,
                accepted: self.accepted,
            }),
            Err(unavailable) => Err(AuthenticationError::Unavailable(unavailable)),
        }
    }

    /// The API server's answer and how long to keep it.
    async fn ask(
        &self,
        token: &str,
    ) -> Result<(Result<Identity, String>, std::time::Duration), String> {
        let request = TokenReview {
            spec: TokenReviewSpec {
                token: token.to_owned(),
                audiences: (!self.audiences.is_empty()).then(|| self.audiences.clone()),
            },
            ..Default::default()
        };
        let answer = review(KIND, self.durations.review_timeout, async {
            self.api.create(&PostParams::default(), &request).await
        })
        .await?;
        let status = answer.status.unwrap_or_default();
        let user = status.user.filter(|_| status.authenticated == Some(true));
        Ok(
            match user.and_then(|u| Some((u.username?, u.uid, u.groups, u.extra))) {
                Some((user, uid, groups, extra)) => (
                    Ok(Identity {
                        user,
                        uid,
                        groups: groups.unwrap_or_default(),
                        extra: extra.unwrap_or_default().into_iter().collect(),
                        method: Method::Token,
                    }),
                    self.durations.token_ttl,
                ),
                None => (
                    Err(status
                        .error
                        .filter(|e| !e.is_empty())
                        .unwrap_or_else(|| "the API server did not accept the token".into())),
                    self.durations.token_failure_ttl,
                ),
            },
        )
    }
}

impl Authenticate for TokenReviewer {
    fn authenticate<'a>(
        &'a self,
        credentials: &'a Credentials,
    ) -> BoxFuture<'a, Result<Identity, AuthenticationError>> {
        async move {
            match credentials {
                Credentials::Bearer(token) => self.token(token).await,
                Credentials::Certificate(cert) => Ok(Identity::from(cert.clone())),
                Credentials::None => Err(AuthenticationError::Missing {
                    accepted: self.accepted,
                }),
            }
        }
        .boxed()
    }

    fn accepted(&self) -> Accepted {
        self.accepted
    }
}
