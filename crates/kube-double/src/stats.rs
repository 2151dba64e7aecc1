//! Request counters, so tests can assert on what clients did: requests by
//! verb and resource (`("patch", "models/status")`), write requests by
//! `User-Agent` and by `fieldManager` ("only the leader wrote"), and the
//! faults that fired; and every call by client, API group, resource and
//! verb (what an RBAC rule grants), for checking RBAC against the code.
//! Those count requests when they are routed, before faults or
//! validation, so a write counts even when it then fails or changes
//! nothing.
//!
//! Outcomes count what writes did once they reached the store, by verb
//! (`apply` for server-side apply), resource and field manager: changed
//! the store (a new resourceVersion, a watch event) or changed nothing (a
//! no-op, such as re-applying the same intent). With them a test asserts
//! "zero writes in steady state" (`changes()`), "no more than two writes
//! per object" (`changes_to`) and what the garbage collector deleted.
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

/// Which writes an outcome counts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WriteKey {
    /// `apply` (server-side apply), `create`, `update`, `patch`, `delete`
    /// or `deletecollection`.
    pub verb: &'static str,
    /// Resource, with its subresource: `statefulsets`, `models/status`.
    pub resource: String,
    /// `fieldManager`, else the User-Agent's first part (`""`: neither).
    pub field_manager: String,
}

/// What writes did once they reached the store (refused ones are not
/// counted here).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Writes that committed at least one change.
    pub changed: u64,
    /// Writes that changed nothing: no new resourceVersion, no event.
    pub unchanged: u64,
}

impl std::ops::AddAssign for WriteOutcome {
    fn add_assign(&mut self, other: Self) {
        self.changed += other.changed;
        self.unchanged += other.unchanged;
    }
}

/// One object: resource (`statefulsets`), namespace (`""` when
/// cluster-scoped) and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectKey {
    pub resource: String,
    pub namespace: String,
    pub name: String,
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
    /// Outcomes of the writes that reached the store.
    pub outcomes: BTreeMap<WriteKey, WriteOutcome>,
    /// Changes committed to each object by write requests (the resource
    /// is the main one; the garbage collector's are not counted).
    pub changes_by_object: BTreeMap<ObjectKey, u64>,
    /// Objects the garbage collector deleted, by resource.
    pub garbage_collected: BTreeMap<String, u64>,
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

    /// Write requests of every kind, including refused and no-op ones;
    /// `changes` counts those that changed the store.
    pub fn writes(&self) -> u64 {
        self.writes_by_user_agent.values().sum()
    }

    /// Requests other than create and the reads (get, list, watch) to the
    /// given resources (`models`, `models/status`, ...): what a client
    /// wrote to objects it did not create, refused and no-op ones included.
    pub fn updates_to(&self, resources: &[&str]) -> u64 {
        self.requests
            .iter()
            .filter(|((verb, resource), _)| {
                !matches!(verb.as_str(), "create" | "get" | "list" | "watch")
                    && resources.contains(&resource.as_str())
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// Write requests that changed the store (no-ops and refused ones
    /// excluded): zero in a steady state.
    pub fn changes(&self) -> u64 {
        self.outcomes.values().map(|o| o.changed).sum()
    }

    /// Write requests that reached the store and changed nothing.
    pub fn no_ops(&self) -> u64 {
        self.outcomes.values().map(|o| o.unchanged).sum()
    }

    /// Outcomes of the writes matching `filter`, summed.
    pub fn outcomes_where(&self, filter: impl Fn(&WriteKey) -> bool) -> WriteOutcome {
        let mut total = WriteOutcome::default();
        for (key, outcome) in &self.outcomes {
            if filter(key) {
                total += *outcome;
            }
        }
        total
    }

    /// Server-side applies to `resource` (`statefulsets`) by
    /// `field_manager`: how many changed something, how many were no-ops.
    pub fn applies(&self, resource: &str, field_manager: &str) -> WriteOutcome {
        self.outcomes_where(|k| {
            k.verb == "apply" && k.resource == resource && k.field_manager == field_manager
        })
    }

    /// Writes to `resource` (with its subresource, as `models/status`) of
    /// every verb and manager.
    pub fn outcomes_for(&self, resource: &str) -> WriteOutcome {
        self.outcomes_where(|k| k.resource == resource)
    }

    /// Writes by `field_manager` of every verb and resource.
    pub fn outcomes_by(&self, field_manager: &str) -> WriteOutcome {
        self.outcomes_where(|k| k.field_manager == field_manager)
    }

    /// Changes committed to one object by write requests.
    pub fn changes_to(&self, resource: &str, namespace: &str, name: &str) -> u64 {
        self.changes_by_object
            .get(&ObjectKey {
                resource: resource.to_string(),
                namespace: namespace.to_string(),
                name: name.to_string(),
            })
            .copied()
            .unwrap_or(0)
    }

    /// Objects of `resource` the garbage collector deleted.
    pub fn collected(&self, resource: &str) -> u64 {
        self.garbage_collected.get(resource).copied().unwrap_or(0)
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

    /// Counts a write that reached the store: `changed` lists the
    /// (namespace, name) of each change it committed (empty: a no-op).
    pub fn record_outcome(
        &self,
        verb: &'static str,
        resource: &str,
        field_manager: &str,
        changed: &[(String, String)],
    ) {
        self.with(|s| {
            let outcome = s
                .outcomes
                .entry(WriteKey {
                    verb,
                    resource: resource.to_string(),
                    field_manager: field_manager.to_string(),
                })
                .or_default();
            if changed.is_empty() {
                outcome.unchanged += 1;
            } else {
                outcome.changed += 1;
            }
            let main = resource.split('/').next().unwrap_or(resource);
            for (namespace, name) in changed {
                *s.changes_by_object
                    .entry(ObjectKey {
                        resource: main.to_string(),
                        namespace: namespace.clone(),
                        name: name.clone(),
                    })
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
