//! Request counters, so tests can assert on what clients did: requests by
//! verb and resource (`("patch", "models/status")`), write requests by
//! `User-Agent` and by `fieldManager` ("only the leader wrote"), and the
//! faults that fired; and every call by client, API group, resource and
//! verb (what an RBAC rule grants), for checking RBAC against the code. Counting happens when a request is routed, before
//! faults or validation, so a write counts even when it then fails.

use parking_lot::Mutex;
use std::collections::BTreeMap;

/// The verbs of the Kubernetes API, as audit logs name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }

    pub fn is_write(self) -> bool {
        !matches!(self, Verb::Get | Verb::List | Verb::Watch)
    }
}

/// One kind of request, in RBAC's terms, and who made it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiCall {
    /// The client's `User-Agent` (`""` when absent).
    pub user_agent: String,
    /// API group, `""` for the core group.
    pub group: String,
    /// Resource, with its subresource: `models/status`.
    pub resource: String,
    /// `get`, `list`, `watch`, `create`, ...
    pub verb: &'static str,
}

/// A snapshot of the counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiStats {
    /// Requests by (verb, resource), e.g. `("update", "models/status")`.
    pub requests: BTreeMap<(String, String), u64>,
    /// Requests by client, group, resource and verb.
    pub calls: BTreeMap<ApiCall, u64>,
    /// Write requests by `User-Agent` header (`""` when absent).
    pub writes_by_user_agent: BTreeMap<String, u64>,
    /// Write requests by `fieldManager` query parameter (`""` when absent).
    pub writes_by_field_manager: BTreeMap<String, u64>,
    /// Writes answered by an injected 409 or 500.
    pub injected_write_failures: u64,
    /// Watch requests answered by an injected 410.
    pub injected_watch_expiries: u64,
    /// Watches that asked for a resourceVersion older than the history.
    pub expired_watches: u64,
    /// Watches ended by `drop_watches`.
    pub dropped_watches: u64,
    /// Watches closed because their client did not keep up.
    pub slow_watchers_closed: u64,
}

impl ApiStats {
    /// Requests with this verb (`"patch"`) on this resource
    /// (`"models/status"`).
    pub fn requests(&self, verb: &str, resource: &str) -> u64 {
        self.requests
            .get(&(verb.to_string(), resource.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Write requests of every kind.
    pub fn writes(&self) -> u64 {
        self.writes_by_user_agent.values().sum()
    }

    /// Write requests sent with this `User-Agent`.
    pub fn writes_by(&self, user_agent: &str) -> u64 {
        self.writes_by_user_agent
            .get(user_agent)
            .copied()
            .unwrap_or(0)
    }
}

/// The live counters.
#[derive(Default)]
pub struct Stats {
    inner: Mutex<ApiStats>,
}

impl Stats {
    fn with<T>(&self, f: impl FnOnce(&mut ApiStats) -> T) -> T {
        let mut stats = self.inner.lock();
        f(&mut stats)
    }

    pub fn record(
        &self,
        verb: Verb,
        group: &str,
        resource: &str,
        user_agent: &str,
        field_manager: Option<&str>,
    ) {
        self.with(|s| {
            *s.requests
                .entry((verb.as_str().to_string(), resource.to_string()))
                .or_default() += 1;
            let call = ApiCall {
                user_agent: user_agent.to_string(),
                group: group.to_string(),
                resource: resource.to_string(),
                verb: verb.as_str(),
            };
            *s.calls.entry(call).or_default() += 1;
            if verb.is_write() {
                *s.writes_by_user_agent
                    .entry(user_agent.to_string())
                    .or_default() += 1;
                *s.writes_by_field_manager
                    .entry(field_manager.unwrap_or("").to_string())
                    .or_default() += 1;
            }
        });
    }

    pub fn add(&self, f: impl FnOnce(&mut ApiStats)) {
        self.with(f);
    }

    pub fn snapshot(&self) -> ApiStats {
        self.with(|s| s.clone())
    }

    pub fn reset(&self) {
        self.with(|s| *s = ApiStats::default());
    }
}
