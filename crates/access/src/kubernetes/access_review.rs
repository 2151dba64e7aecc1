//! Authorization by SubjectAccessReview: the API server answers with
//! whatever authorizes `kubectl` (RBAC, webhooks) whether the identity may
//! `verb` `resource.mlops.seldon.io` in the namespace. Answers (allow and
//! deny) are cached briefly, keyed by a SHA-256 of the identity and the
//! permission: `allowed_cache_ttl_seconds` and `denied_cache_ttl_seconds`
//! bound how long a revoked or new RoleBinding takes to matter.

use super::cache::TtlCache;
use super::review;
use crate::config::{AuthConfig, ConfigError, Durations};
use crate::hash::digest;
use futures_util::future::{BoxFuture, FutureExt};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};
use switchyard_core::access::{Access, Authorize, Decision, Identity, Resource, Undecided};

/// The `kind` label of this cache and review.
const KIND: &str = "subject_access_review";

pub struct AccessReviewer {
    api: Api<SubjectAccessReview>,
    durations: Durations,
    cache: TtlCache<Decision>,
}

impl AccessReviewer {
    pub fn new(client: kube::Client, config: &AuthConfig) -> Result<Self, ConfigError> {
        Ok(AccessReviewer {
            api: Api::all(client),
            durations: config.durations()?,
            cache: TtlCache::new(KIND, config.decision_cache_entries),
        })
    }

    async fn ask(
        &self,
        identity: &Identity,
        access: &Access,
    ) -> Result<(Decision, std::time::Duration), String> {
        let request = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(identity.user.clone()),
                uid: identity.uid.clone(),
                groups: Some(identity.groups.clone()),
                extra: (!identity.extra.is_empty())
                    .then(|| identity.extra.clone().into_iter().collect()),
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(access.namespace.clone()),
                    verb: Some(access.verb.as_str().into()),
                    group: Some(Resource::GROUP.into()),
                    resource: Some(access.resource.as_str().into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = review(KIND, self.durations.review_timeout, async {
            self.api.create(&PostParams::default(), &request).await
        })
        .await?;
        let status = answer.status.unwrap_or_default();
        Ok(if status.allowed {
            (Decision::Allow, self.durations.allowed_ttl)
        } else {
            let reason = [status.reason, status.evaluation_error]
                .into_iter()
                .flatten()
                .filter(|r| !r.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            (Decision::Deny { reason }, self.durations.denied_ttl)
        })
    }
}

/// The cache key of a decision: the whole identity a review would send,
/// and the permission.
fn key(identity: &Identity, access: &Access) -> crate::hash::Key {
    let mut parts: Vec<&[u8]> = vec![b"user", identity.user.as_bytes()];
    if let Some(uid) = &identity.uid {
        parts.extend([b"uid".as_slice(), uid.as_bytes()]);
    }
    for group in &identity.groups {
        parts.extend([b"group".as_slice(), group.as_bytes()]);
    }
    for (name, values) in &identity.extra {
        parts.extend([b"extra".as_slice(), name.as_bytes()]);
        for value in values {
            parts.extend([b"value".as_slice(), value.as_bytes()]);
        }
    }
    parts.extend([
        b"access".as_slice(),
        access.namespace.as_bytes(),
        access.verb.as_str().as_bytes(),
        access.resource.as_str().as_bytes(),
    ]);
    digest(parts)
}

impl Authorize for AccessReviewer {
    fn authorize<'a>(
        &'a self,
        identity: &'a Identity,
        access: &'a Access,
    ) -> BoxFuture<'a, Result<Decision, Undecided>> {
        async move {
            self.cache
                .get_or_fetch(key(identity, access), self.ask(identity, access))
                .await
                .map_err(Undecided)
        }
        .boxed()
    }
}
