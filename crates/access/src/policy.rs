//! The static policy file of `mode = "policy"` (`switchyard run` without
//! Kubernetes): who may call (client certificate common names, bearer
//! tokens stored as their SHA-256) and what each may do, per namespace
//! and verb. One [`Policy`] is both the authenticator and the authorizer.
//! Read once at start; a bad file is an error naming the grant and field.
//!
//! ```toml
//! [[grant]]
//! user = "team-a-ci"            # a certificate's CN, or the name a token stands for
//! token_sha256 = "9f86d0...0a08" # `printf %s "$TOKEN" | sha256sum`
//! certificate = true             # a client certificate with CN "team-a-ci" is this user
//! namespaces = ["team-a"]        # or ["*"]
//! verbs = ["list", "watch", "create", "update", "delete"]  # or ["*"]
//! resources = ["models", "pipelines"]  # optional, default every resource
//! ```

use crate::hash::sha256;
use futures_util::future::{BoxFuture, FutureExt};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use switchyard_core::access::{
    Accepted, Access, Authenticate, AuthenticationError, Authorize, Credentials, Decision,
    Identity, Method, Resource, Undecided, Verb,
};

/// Why a policy file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read the policy file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the policy file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("the policy file {path}, grant {index} (user {user:?}): {problem}")]
    Grant {
        path: PathBuf,
        /// 1-based, in file order.
        index: usize,
        user: String,
        problem: String,
    },
    #[error("the policy file {path} has no [[grant]]: nobody could call the gateway")]
    Empty { path: PathBuf },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    grant: Vec<RawGrant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrant {
    user: String,
    token_sha256: Option<String>,
    #[serde(default)]
    certificate: bool,
    namespaces: Vec<String>,
    verbs: Vec<String>,
    resources: Option<Vec<String>>,
}

/// Values, or every value (`"*"`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope<T> {
    All,
    Only(Vec<T>),
}

impl<T: PartialEq> Scope<T> {
    fn contains(&self, value: &T) -> bool {
        match self {
            Scope::All => true,
            Scope::Only(values) => values.contains(value),
        }
    }
}

#[derive(Debug, Clone)]
struct Grant {
    namespaces: Scope<String>,
    verbs: Scope<Verb>,
    resources: Scope<Resource>,
}

/// A loaded policy file.
#[derive(Debug)]
pub struct Policy {
    /// SHA-256 of a token -> its user.
    tokens: HashMap<[u8; 32], String>,
    /// Users a client certificate may be (by common name).
    certificate_users: HashSet<String>,
    grants: BTreeMap<String, Vec<Grant>>,
}

impl Policy {
    /// Reads and checks the policy file at `path`.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_owned(),
            source,
        })?;
        Policy::parse(path, &text)
    }

    /// Checks the policy `text` (read from `path`, named in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Policy, PolicyError> {
        let file: File = toml::from_str(text).map_err(|source| PolicyError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        if file.grant.is_empty() {
            return Err(PolicyError::Empty {
                path: path.to_owned(),
            });
        }
        let mut policy = Policy {
            tokens: HashMap::new(),
            certificate_users: HashSet::new(),
            grants: BTreeMap::new(),
        };
        for (i, raw) in file.grant.into_iter().enumerate() {
            let fail = |problem: String| PolicyError::Grant {
                path: path.to_owned(),
                index: i + 1,
                user: raw.user.clone(),
                problem,
            };
            policy.add(&raw).map_err(fail)?;
        }
        Ok(policy)
    }

    fn add(&mut self, raw: &RawGrant) -> Result<(), String> {
        let user = raw.user.trim();
        if user.is_empty() || user != raw.user {
            return Err("user must be a non-empty name without surrounding spaces".into());
        }
        if raw.token_sha256.is_none() && !raw.certificate {
            return Err(
                "neither token_sha256 nor certificate = true: nothing authenticates as this user"
                    .into(),
            );
        }
        if let Some(hex) = &raw.token_sha256 {
            let hash = parse_sha256(hex)?;
            match self.tokens.get(&hash) {
                Some(other) if other != user => {
                    return Err(format!(
                        "token_sha256 is already the token of user {other:?}: one token is one user"
                    ));
                }
                _ => self.tokens.insert(hash, user.to_owned()),
            };
        }
        if raw.certificate {
            self.certificate_users.insert(user.to_owned());
        }
        let grant = Grant {
            namespaces: scope("namespaces", &raw.namespaces, |ns| {
                (!ns.trim().is_empty()).then(|| ns.to_owned())
            })?,
            verbs: scope("verbs", &raw.verbs, Verb::parse)?,
            resources: match &raw.resources {
                None => Scope::All,
                Some(words) => scope("resources", words, Resource::parse)?,
            },
        };
        self.grants.entry(user.to_owned()).or_default().push(grant);
        Ok(())
    }

    fn allows(&self, identity: &Identity, access: &Access) -> bool {
        self.grants.get(&identity.user).is_some_and(|grants| {
            grants.iter().any(|g| {
                g.namespaces.contains(&access.namespace)
                    && g.verbs.contains(&access.verb)
                    && g.resources.contains(&access.resource)
            })
        })
    }
}

/// `words` as a [`Scope`]: each one parsed, or `"*"` alone.
fn scope<T>(
    field: &str,
    words: &[String],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Scope<T>, String> {
    if words.is_empty() {
        return Err(format!("{field} is empty: this grant would allow nothing"));
    }
    if words.iter().any(|w| w == "*") {
        return match words.len() {
            1 => Ok(Scope::All),
            _ => Err(format!("{field}: \"*\" means every value; list it alone")),
        };
    }
    words
        .iter()
        .map(|word| parse(word).ok_or_else(|| unknown(field, word)))
        .collect::<Result<_, _>>()
        .map(Scope::Only)
}

fn unknown(field: &str, word: &str) -> String {
    let known: Vec<&str> = match field {
        "verbs" => Verb::ALL.iter().map(|v| v.as_str()).collect(),
        "resources" => Resource::ALL.iter().map(|r| r.as_str()).collect(),
        _ => return format!("{field}: {word:?} is not a namespace name"),
    };
    format!(
        "{field}: unknown {word:?} (known: {}, or \"*\")",
        known.join(", ")
    )
}

fn parse_sha256(hex: &str) -> Result<[u8; 32], String> {
    let bad = || {
        format!(
            "token_sha256 {hex:?} is not a SHA-256 in hex (64 characters 0-9a-f: `printf %s \"$TOKEN\" | sha256sum`)"
        )
    };
    if hex.len() != 64 {
        return Err(bad());
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16)
            .map_err(|_| bad())?;
    }
    Ok(hash)
}

impl Authenticate for Policy {
    fn authenticate<'a>(
        &'a self,
        credentials: &'a Credentials,
    ) -> BoxFuture<'a, Result<Identity, AuthenticationError>> {
        let accepted = self.accepted();
        let outcome = match credentials {
            Credentials::None => Err(AuthenticationError::Missing { accepted }),
            Credentials::Bearer(token) => match self.tokens.get(&sha256(token.as_bytes())) {
                Some(user) => Ok(Identity {
                    user: user.clone(),
                    uid: None,
                    groups: Vec::new(),
                    extra: BTreeMap::new(),
                    method: Method::Token,
                }),
                None => Err(AuthenticationError::Rejected {
                    method: "bearer token",
                    reason: "no grant of the policy file has this token".into(),
                    accepted,
                }),
            },
            Credentials::Certificate(cert)
                if self.certificate_users.contains(&cert.common_name) =>
            {
                Ok(Identity::from(cert.clone()))
            }
            Credentials::Certificate(cert) => Err(AuthenticationError::Rejected {
                method: "client certificate",
                reason: format!(
                    "no grant of the policy file has user {:?} with certificate = true",
                    cert.common_name
                ),
                accepted,
            }),
        };
        std::future::ready(outcome).boxed()
    }

    fn accepted(&self) -> Accepted {
        Accepted {
            bearer_token: !self.tokens.is_empty(),
            client_certificate: !self.certificate_users.is_empty(),
        }
    }
}

impl Authorize for Policy {
    fn authorize<'a>(
        &'a self,
        identity: &'a Identity,
        access: &'a Access,
    ) -> BoxFuture<'a, Result<Decision, Undecided>> {
        let decision = if self.allows(identity, access) {
            Decision::Allow
        } else {
            Decision::Deny {
                reason: "no grant of the policy file allows it".into(),
            }
        };
        std::future::ready(Ok(decision)).boxed()
    }
}
