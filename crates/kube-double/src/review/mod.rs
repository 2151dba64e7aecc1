//! The review kinds, created and answered but never stored: TokenReview
//! (`tokens`), SelfSubjectReview, and the Subject, Local and Self
//! SubjectAccessReviews, decided by RBAC over the Roles, ClusterRoles,
//! RoleBindings and ClusterRoleBindings in the store (`rbac`), so a test
//! grants access by creating a binding and revokes it by deleting it. The
//! answer is the request with its `status` filled, as the real server
//! returns it (201). Typed clients may send them as protobuf (`protobuf`).
//!
//! A SelfSubjectReview (who am I) and a SelfSubjectAccessReview are about
//! the requester: the user it impersonates (`Impersonate-User`,
//! `Impersonate-Group`, as `kubectl auth can-i --as` sends), else the user
//! of its bearer token when the double knows the token, else
//! `system:anonymous`. The double itself authorizes every request (and
//! every impersonation); only the reviews consult RBAC.

pub(crate) mod protobuf;
pub(crate) mod rbac;
pub(crate) mod tokens;

use hyper::HeaderMap;
use k8s_openapi::api::authentication::v1::TokenReview;
use k8s_openapi::api::authorization::v1::SubjectAccessReviewSpec;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::catalog::{ResourceType, Review};
use super::error::ApiError;
use super::shared::Shared;
use rbac::{Policy, Request, Target};

/// Who sent a review, from its headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Requester {
    pub impersonate_user: Option<String>,
    pub impersonate_groups: Vec<String>,
    pub bearer_token: Option<String>,
}

impl Requester {
    /// From a request's impersonation headers and bearer token.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let values = |name: &'static str| {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        Self {
            impersonate_user: values("impersonate-user").into_iter().next(),
            impersonate_groups: values("impersonate-group"),
            bearer_token: values("authorization")
                .into_iter()
                .next()
                .and_then(|a| a.strip_prefix("Bearer ").map(|t| t.trim().to_string())),
        }
    }

    /// The user and groups the request acts as.
    fn identity(&self, shared: &Shared) -> (String, Vec<String>) {
        let authenticated = |mut groups: Vec<String>| {
            if !groups.iter().any(|g| g == tokens::AUTHENTICATED) {
                groups.push(tokens::AUTHENTICATED.to_string());
            }
            groups
        };
        if let Some(user) = &self.impersonate_user {
            return (user.clone(), authenticated(self.impersonate_groups.clone()));
        }
        match self
            .bearer_token
            .as_deref()
            .and_then(|t| shared.tokens.get(t))
        {
            Some(user) => (user.username, authenticated(user.groups)),
            None => (
                "system:anonymous".to_string(),
                vec!["system:unauthenticated".to_string()],
            ),
        }
    }
}

/// Answers a POST of a review kind in `namespace` (for the local review)
/// from `requester`.
pub(crate) fn answer(
    shared: &Shared,
    rt: &ResourceType,
    review: Review,
    namespace: Option<&str>,
    requester: &Requester,
    mut body: Value,
) -> Result<Value, ApiError> {
    check_type(rt, &body)?;
    let status = match review {
        Review::Token => token_review(shared, rt, &body)?,
        Review::SelfSubject => {
            let (username, groups) = requester.identity(shared);
            json!({"userInfo": {"username": username, "groups": groups}})
        }
        Review::SubjectAccess => access_review(shared, rt, &body, None, None)?,
        Review::LocalSubjectAccess => {
            access_review(shared, rt, &body, Some(namespace.unwrap_or("")), None)?
        }
        Review::SelfSubjectAccess => {
            let identity = requester.identity(shared);
            access_review(shared, rt, &body, None, Some(identity))?
        }
    };
    if let Some(map) = body.as_object_mut() {
        map.insert("apiVersion".into(), json!(rt.api_version()));
        map.insert("kind".into(), json!(rt.kind));
        let metadata = map.entry("metadata").or_insert_with(|| json!({}));
        if let (Some(meta), Some(ns)) = (metadata.as_object_mut(), namespace) {
            meta.insert("namespace".into(), json!(ns));
        }
        map.insert("status".into(), status);
    }
    Ok(body)
}

/// The body's apiVersion and kind, when given, must be the path's.
fn check_type(rt: &ResourceType, body: &Value) -> Result<(), ApiError> {
    let given = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or("");
    let (api_version, kind) = (given("apiVersion"), given("kind"));
    if (!api_version.is_empty() && api_version != rt.api_version())
        || (!kind.is_empty() && kind != rt.kind)
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    Ok(())
}

fn parse<T: DeserializeOwned>(rt: &ResourceType, body: &Value) -> Result<T, ApiError> {
    serde_json::from_value(body.clone()).map_err(|e| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): {e}",
            rt.kind
        ))
    })
}

fn token_review(shared: &Shared, rt: &ResourceType, body: &Value) -> Result<Value, ApiError> {
    let review: TokenReview = parse(rt, body)?;
    let token = review.spec.token;
    if token.is_empty() {
        return Err(ApiError::bad_request(format!(
            "token is required for TokenReview in {}",
            rt.api_version()
        )));
    }
    let user = shared.tokens.get(&token);
    let service_account_uid = user
        .as_ref()
        .and_then(|u| u.service_account_key())
        .and_then(|key| stored_uid(shared, "", "serviceaccounts", key));
    Ok(tokens::status(
        user.as_ref(),
        review.spec.audiences.as_deref().unwrap_or_default(),
        service_account_uid,
    ))
}

fn stored_uid(
    shared: &Shared,
    group: &str,
    plural: &str,
    key: &(String, String),
) -> Option<String> {
    let id = shared.catalog.find(group, "v1", plural)?;
    let collection = shared.lock(id);
    let obj = collection.get(key)?;
    Some(super::object::uid(obj).to_string()).filter(|u| !u.is_empty())
}

/// `local`: the namespace of a LocalSubjectAccessReview's path; `me`:
/// the requester a SelfSubjectAccessReview asks about.
fn access_review(
    shared: &Shared,
    rt: &ResourceType,
    body: &Value,
    local: Option<&str>,
    me: Option<(String, Vec<String>)>,
) -> Result<Value, ApiError> {
    let spec = body.get("spec").cloned().unwrap_or(Value::Null);
    let mut spec: SubjectAccessReviewSpec = parse(rt, &spec)?;
    if let Some((user, groups)) = me {
        spec.user = Some(user);
        spec.groups = Some(groups);
    }
    let request = access_request(rt, spec, local)?;
    let decision = policy(shared, &request).decide(&request);
    let mut status = json!({"allowed": decision.allowed});
    if !decision.reason.is_empty() {
        status["reason"] = json!(decision.reason);
    }
    Ok(status)
}

/// Validates a review's spec as the real server does (422 naming the
/// field) and turns it into a `Request`.
fn access_request(
    rt: &ResourceType,
    spec: SubjectAccessReviewSpec,
    local: Option<&str>,
) -> Result<Request, ApiError> {
    let invalid = |field: &str, detail: String| ApiError::invalid(rt, "", field, &detail);
    let user = spec.user.unwrap_or_default();
    let groups = spec.groups.unwrap_or_default();
    let (verb, target) = match (spec.resource_attributes, spec.non_resource_attributes) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "spec.nonResourceAttributes",
                "Invalid value: \"\": cannot be specified in combination with resourceAttributes"
                    .into(),
            ));
        }
        (None, None) => {
            return Err(invalid(
                "spec.resourceAttributes",
                "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified".into(),
            ));
        }
        (None, Some(_)) if local.is_some() => {
            return Err(invalid(
                "spec.nonResourceAttributes",
                "Invalid value: \"\": disallowed on this kind of request".into(),
            ));
        }
        (None, Some(attrs)) => (
            attrs.verb.unwrap_or_default(),
            Target::NonResource {
                path: attrs.path.unwrap_or_default(),
            },
        ),
        (Some(attrs), None) => {
            let namespace = attrs.namespace.unwrap_or_default();
            if let Some(path_ns) = local
                && namespace != path_ns
            {
                return Err(invalid(
                    "spec.resourceAttributes.namespace",
                    format!("Invalid value: {namespace:?}: must match metadata.namespace"),
                ));
            }
            (
                attrs.verb.unwrap_or_default(),
                Target::Resource {
                    namespace,
                    group: attrs.group.unwrap_or_default(),
                    resource: attrs.resource.unwrap_or_default(),
                    subresource: attrs.subresource.unwrap_or_default(),
                    name: attrs.name.unwrap_or_default(),
                },
            )
        }
    };
    if user.is_empty() && groups.is_empty() {
        return Err(invalid(
            "spec.user",
            "Invalid value: \"\": at least one of user or group must be specified".into(),
        ));
    }
    Ok(Request {
        user,
        groups,
        verb,
        target,
    })
}

/// The RBAC objects `request` may depend on, read from the store.
fn policy(shared: &Shared, request: &Request) -> Policy {
    let namespace = match &request.target {
        Target::Resource { namespace, .. } => namespace.as_str(),
        Target::NonResource { .. } => "",
    };
    let mut broken = Vec::new();
    let mut policy = Policy {
        cluster_roles: read(shared, "clusterroles", None, &mut broken),
        cluster_role_bindings: read(shared, "clusterrolebindings", None, &mut broken),
        ..Policy::default()
    };
    if !namespace.is_empty() {
        policy.roles = read(shared, "roles", Some(namespace), &mut broken);
        policy.role_bindings = read(shared, "rolebindings", Some(namespace), &mut broken);
    }
    policy.broken = broken;
    policy
}

/// Every stored object of an RBAC kind (in `namespace`), parsed; those
/// that do not parse are noted in `broken`.
fn read<T: DeserializeOwned>(
    shared: &Shared,
    plural: &str,
    namespace: Option<&str>,
    broken: &mut Vec<String>,
) -> Vec<T> {
    let Some(id) = shared
        .catalog
        .find("rbac.authorization.k8s.io", "v1", plural)
    else {
        return Vec::new();
    };
    let objects: Vec<_> = {
        let collection = shared.lock(id);
        match namespace {
            Some(ns) => collection.in_namespace(ns).cloned().collect(),
            None => collection.all().cloned().collect(),
        }
    };
    objects
        .iter()
        .filter_map(|obj| match T::deserialize(obj.as_ref()) {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                broken.push(format!(
                    "{plural}.rbac.authorization.k8s.io {:?}: {error}",
                    super::object::name(obj)
                ));
                None
            }
        })
        .collect()
}
