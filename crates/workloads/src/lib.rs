//! What a Server and a SeldonRuntime become in their namespace: the
//! StatefulSets, Deployments, Services, ConfigMaps, ServiceAccounts, Roles
//! and RoleBindings Seldon's Go operator builds from them and from their
//! templates (ServerConfig, SeldonConfig), as typed `k8s-openapi` objects.
//!
//! Pure functions: no client, no I/O. The operator reads the custom
//! resources, validates a Server's scaling, counts the namespace's Models and
//! Pipelines, calls [`server::build`] or [`runtime::build`], and applies what
//! comes back. Every object carries a controller owner reference to its
//! custom resource. Where this crate follows Seldon and where it does better
//! is said next to the code; see `docs/seldon-compat.md#workload-building`.

pub mod error;
pub mod labels;
mod owner;
pub mod pod_spec;
pub mod runtime;
pub mod server;
mod workload;
mod yaml;

pub use error::BuildError;
pub use workload::Workload;

/// The label every workload's selector uses: `app.kubernetes.io/name`.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";

#[cfg(test)]
mod tests;
