//! TokenReview: the bearer tokens the double knows, registered by tests
//! on the handle (`ApiDoubleHandle::register_token`,
//! `register_service_account_token`), and the review of one, as the real
//! API server's token authenticators answer it.
//!
//! Every authenticated user also gets the group `system:authenticated`,
//! as the server's authenticator chain adds it. A ServiceAccount token
//! authenticates as `system:serviceaccount:{ns}:{name}` in the groups
//! `system:serviceaccounts` and `system:serviceaccounts:{ns}`, with the
//! uid of the ServiceAccount object when one is stored. A token is valid
//! for the audiences it was registered with (by default the API server's
//! own), and a review asking for others is refused, as for a bound token.
//! What is approximated: tokens are opaque strings, not signed JWTs, and
//! a ServiceAccount token outlives its ServiceAccount.

use std::collections::HashMap;

use parking_lot::RwLock;
use serde_json::{Value, json};

/// The audience a token has unless registered with others, and that a
/// review without `spec.audiences` asks for: the API server's own.
pub const API_SERVER_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";

/// The group every authenticated user is in.
pub(crate) const AUTHENTICATED: &str = "system:authenticated";

/// Who a token authenticates as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenUser {
    pub username: String,
    pub uid: String,
    pub groups: Vec<String>,
    /// The audiences the token is valid for.
    pub audiences: Vec<String>,
    /// Set for ServiceAccount tokens: (namespace, name).
    service_account: Option<(String, String)>,
}

impl TokenUser {
    /// A user named `username`, with no uid and no groups of its own.
    pub fn new(username: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            uid: String::new(),
            groups: Vec::new(),
            audiences: vec![API_SERVER_AUDIENCE.to_string()],
            service_account: None,
        }
    }

    /// The ServiceAccount `namespace/name`, as its tokens authenticate.
    pub fn service_account(namespace: &str, name: &str) -> Self {
        Self {
            groups: vec![
                "system:serviceaccounts".to_string(),
                format!("system:serviceaccounts:{namespace}"),
            ],
            service_account: Some((namespace.to_string(), name.to_string())),
            ..Self::new(format!("system:serviceaccount:{namespace}:{name}"))
        }
    }

    pub fn with_uid(mut self, uid: impl Into<String>) -> Self {
        self.uid = uid.into();
        self
    }

    pub fn with_groups<S: Into<String>>(mut self, groups: impl IntoIterator<Item = S>) -> Self {
        self.groups.extend(groups.into_iter().map(Into::into));
        self
    }

    /// Valid for `audiences` instead of the API server's own.
    pub fn with_audiences<S: Into<String>>(
        mut self,
        audiences: impl IntoIterator<Item = S>,
    ) -> Self {
        self.audiences = audiences.into_iter().map(Into::into).collect();
        self
    }

    /// The ServiceAccount (namespace, name) this user is, if any.
    pub(crate) fn service_account_key(&self) -> Option<&(String, String)> {
        self.service_account.as_ref()
    }
}

/// The registered tokens.
#[derive(Debug, Default)]
pub(crate) struct Tokens(RwLock<HashMap<String, TokenUser>>);

impl Tokens {
    pub(crate) fn register(&self, token: String, user: TokenUser) {
        self.0.write().insert(token, user);
    }

    /// Forgets `token`; whether it was known.
    pub(crate) fn revoke(&self, token: &str) -> bool {
        self.0.write().remove(token).is_some()
    }

    pub(crate) fn get(&self, token: &str) -> Option<TokenUser> {
        self.0.read().get(token).cloned()
    }
}

/// The error a review of an unknown token carries, as the real server's
/// union of authenticators words it.
const INVALID: &str = "invalid bearer token";

/// `status` of a TokenReview of `user` (`None`: an unknown token) for the
/// `requested` audiences; `service_account_uid` is the uid of the stored
/// ServiceAccount for ServiceAccount tokens.
pub(crate) fn status(
    user: Option<&TokenUser>,
    requested: &[String],
    service_account_uid: Option<String>,
) -> Value {
    let Some(user) = user else {
        return json!({"authenticated": false, "user": {}, "error": INVALID});
    };
    let default = [API_SERVER_AUDIENCE.to_string()];
    let requested = if requested.is_empty() {
        &default[..]
    } else {
        requested
    };
    let audiences: Vec<&String> = requested
        .iter()
        .filter(|a| user.audiences.contains(a))
        .collect();
    if audiences.is_empty() {
        return json!({
            "authenticated": false,
            "user": {},
            "error": format!(
                "[{INVALID}, token audiences {:?} is invalid for the target audiences {:?}]",
                user.audiences, requested
            ),
        });
    }
    let mut groups = user.groups.clone();
    if !groups.iter().any(|g| g == AUTHENTICATED) {
        groups.push(AUTHENTICATED.to_string());
    }
    let uid = service_account_uid.unwrap_or_else(|| user.uid.clone());
    json!({
        "authenticated": true,
        "user": {"username": user.username, "uid": uid, "groups": groups},
        "audiences": audiences,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_accounts_and_audiences() {
        let sa = TokenUser::service_account("team-a", "bot");
        let ok = status(Some(&sa), &[], Some("u-1".into()));
        assert_eq!(ok["authenticated"], true);
        assert_eq!(ok["user"]["username"], "system:serviceaccount:team-a:bot");
        assert_eq!(ok["user"]["uid"], "u-1");
        assert_eq!(
            ok["user"]["groups"],
            json!([
                "system:serviceaccounts",
                "system:serviceaccounts:team-a",
                "system:authenticated"
            ])
        );
        let elsewhere = status(Some(&sa), &["vault".to_string()], None);
        assert_eq!(elsewhere["authenticated"], false);
        assert!(
            elsewhere["error"]
                .as_str()
                .is_some_and(|e| e.contains("invalid for the target audiences"))
        );
        let unknown = status(None, &[], None);
        assert_eq!(unknown["error"], "invalid bearer token");
    }
}
