//! switchyard's pure parts, shared by the operator, the pool and the
//! gateway: no gRPC transport, no Kubernetes types, no I/O: the gateway, which
//! must not know Kubernetes, depends on this crate.
//!
//! - [`access`]: who is calling and what they may touch (identities,
//!   the permissions each RPC needs, the authenticator/authorizer traits);
//! - [`registry`]: namespace -> how to reach its scheduler (lock-free reads);
//! - [`bus`]: the latest status of every object, with conflating
//!   per-subscriber queues;
//! - [`schedulers`]: the scheduler interface the operator calls;
//! - [`control_plane`]: a scheduler's request to have its state re-sent;
//! - [`managed`]: which objects a custom resource manages (the gateway's
//!   source-of-truth question, answered by the operator);
//! - [`metrics`]: the catalogue of every metric switchyard exports.

pub mod access;
pub mod bus;
pub mod control_plane;
pub mod managed;
pub mod metrics;
pub mod registry;
pub mod schedulers;

#[cfg(test)]
mod tests;
