//! The Kubernetes operator: controllers for Model, Pipeline, Experiment and
//! Server, SeldonRuntime discovery, status write-back and resync.
//!
//! This is the Kubernetes side: it knows kube types and reaches schedulers
//! only through `switchyard_core::schedulers` (the pool implements it;
//! this crate links no gRPC transport) and the translation functions. Every
//! write goes through [`writer::ApiWriter`], which writes only while this
//! replica leads ([`leader`]).

pub mod controllers;
pub mod guard;
pub mod leader;
pub mod managed;
pub mod owned;
pub mod resync;
pub mod runtimes;
pub mod status;
pub mod writer;

pub use controllers::{Context, Controllers};
pub use leader::{LeaderElectionConfig, LeaderElectionError};
pub use managed::ManagedIndex;
pub use resync::Resync;
pub use runtimes::{RUNTIME_FINALIZER, RuntimeDiscovery, SchedulerAddressing, WatchScope};
pub use status::StatusWriter;
pub use writer::{ApiWriter, WriteError};

#[cfg(test)]
mod tests;
