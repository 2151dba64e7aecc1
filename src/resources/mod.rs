//! The resource model: Rust types for the seven kinds of group
//! `mlops.seldon.io/v1alpha1`, as Kubernetes stores them. Nothing in here
//! knows about gRPC; `translate` turns these into scheduler requests.

pub mod status;

pub use status::{Condition, ConditionStatus, DuckStatus, Severity};
