//! A Kubernetes API double: an in-process HTTP/1.1 server that the real
//! `kube::Client` talks to over the wire, with the semantics controllers
//! depend on, for tests, `switchyard demo` and the load benchmark.
//!
//! Requests flow `server` (accept, one task per connection) -> `handler`
//! (latency, routing by `route`, counters in `stats`, faults from
//! `faults`) -> `writes` / reads on one locked `store::Collection` ->
//! `watch` fan-out to bounded per-watcher queues -> watch streams; a
//! write that removed objects then has `gc` delete their dependents.
//! `catalog` lists the served kinds (built-ins plus the Seldon CRDs),
//! `discovery` renders them and `openapi` publishes their schemas (which
//! `fieldValidation=Strict` enforces); `table` renders the Table format
//! `kubectl get` asks for, and `mirror` keeps what a cluster keeps in one
//! place (namespaces of the objects written, core/v1 views of events).
//! `review` answers TokenReviews (tokens registered on the handle) and
//! SubjectAccessReviews (RBAC over the stored roles and bindings). The
//! `ApiDoubleHandle` owns the server, hands out clients, registers tokens
//! and turns the fault knobs.
//!
//! What is exact: resourceVersion (one global counter, a new one per
//! write), optimistic concurrency (409 on a stale resourceVersion),
//! `metadata.generation` (on custom resources and apps/v1 workloads,
//! bumped on changes outside metadata and status),
//! the status and scale subresources, finalizers and deletionTimestamp,
//! no-op writes (no new resourceVersion, no event, counted as no-ops in
//! `stats`), list pagination (consistent snapshots), watch resumption
//! from a resourceVersion with bookmarks and 410 Expired outside the
//! history window, selector transitions in watches, `Status` error bodies.
//! Close to exact: server-side apply with `managedFields`, conflicts,
//! `force` and removal of fields no longer applied (`managed`, `fields`);
//! garbage collection of dependents through `ownerReferences`
//! (`gc`); the validation that protects workloads' selectors and
//! immutable fields (`validate`).
//!
//! What is approximated (see each module): list types for apply come from
//! a table of the built-in fields the operator uses, not OpenAPI
//! (`fields`); strategic merge patch on built-in kinds ignores order hints
//! (`strategic`); schemas are checked only for undeclared fields, and
//! only when a request asks (`fieldValidation`, `strict`), with no type
//! validation, pruning or defaulting; garbage collection runs inside the
//! deleting request and treats `Foreground` as `Background` (`gc`);
//! events.k8s.io/v1 events are mirrored one way into core/v1 (`mirror`);
//! namespaces are created by the first write in them (unless
//! `require_namespaces`) and deleted at once, without their contents; field selectors on
//! built-in kinds accept any path (`selector`); the history window is a
//! count of changes per resource type, not a time.

pub mod catalog;
pub mod config;
mod discovery;
pub mod error;
pub mod faults;
mod fields;
mod gc;
mod handler;
mod managed;
mod mirror;
mod object;
mod openapi;
mod patch;
mod render;
mod review;
mod route;
mod scale;
mod selector;
mod server;
mod shared;
pub mod stats;
mod store;
mod strategic;
mod strict;
mod table;
mod validate;
mod watch;
mod writes;

pub use config::ApiDoubleConfig;
pub use error::ApiError;
pub use faults::{FailWith, WriteScope};
pub use review::tokens::{API_SERVER_AUDIENCE, TokenUser};
pub use server::{ApiDouble, ApiDoubleError, ApiDoubleHandle, SHUTDOWN_GRACE};
pub use stats::{ApiCall, ApiStats, ObjectKey, Verb, WriteKey, WriteOutcome};

#[cfg(test)]
mod tests;
