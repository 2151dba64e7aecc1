//! The gateway endpoint: one tonic server that serves Seldon's
//! `seldon.mlops.scheduler.Scheduler` for every namespace, plus
//! switchyard's own `switchyard.v1.Gateway`.
//!
//! In: client requests, on connections from `switchyard_net`'s listener
//! (capped, timed out), admitted by `admission` (protocol, concurrency,
//! size and repeated entries, before decoding). Each is validated
//! (`validate`, `names`), given a namespace
//! (`namespace`: `seldon-namespace` metadata, else the message's
//! `kubernetesMeta`, else the configured default), and then:
//! - unary calls and the control-plane stream go to that namespace's
//!   scheduler over the pool's shared channel (`route`);
//! - finite listings go to one namespace, or to all at once, merged
//!   (`finite`);
//! - status subscriptions are served from the status bus, never by an
//!   upstream stream per client (`subscribe`).
//!
//! Every call passes `guard` (the access engine's gatekeeper: who is
//! calling, may they act in that namespace, are they over their limits)
//! once its namespace is known.
//!
//! Out: responses with every status message tagged with its namespace
//! (`tagging`), and errors mapped in one place (`status`). `server` builds
//! the tonic server (TLS, limits, keepalive, graceful shutdown) and
//! `metrics_layer` measures it. This module sees no Kubernetes types.

pub mod admission;
mod finite;
mod forward;
mod framed;
pub mod guard;
pub mod health;
mod listen;
pub mod locate;
mod metrics_labels;
pub mod metrics_layer;
pub mod names;
pub mod namespace;
pub mod options;
pub mod raw_codec;
mod route;
pub mod runtimes;
pub mod scheduler;
pub mod server;
mod sparse;
pub mod status;
mod streams;
mod subscribe;
pub mod tagging;
pub mod truth;
mod unary;
pub mod validate;
mod wire;

pub use finite::UNREACHABLE_METADATA;
pub use guard::{Access, RETRY_AFTER_METADATA};
pub use metrics_layer::{GrpcMetrics, GrpcMetricsLayer};
pub use namespace::{NAMESPACE_METADATA, NamespaceError, NamespaceResolver};
pub use options::{GatewayOptions, TlsFiles};
pub use runtimes::RuntimesService;
pub use scheduler::SchedulerGateway;
pub use server::{ServeError, bind, serve};
pub use truth::SourceOfTruth;
pub use unary::SchedulerService;
