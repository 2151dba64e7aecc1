//! The Kubernetes operator: controllers for Model, Pipeline, Experiment and
//! Server, SeldonRuntime discovery, status write-back and resync.
//!
//! This is the Kubernetes side: it knows kube types and reaches schedulers
//! only through the pool's clients and the translation functions. Every
//! write goes through [`writer::ApiWriter`], which writes only while this
//! replica leads.

pub mod resync;
pub mod status;
pub mod writer;

pub use resync::Resync;
pub use status::StatusWriter;
pub use writer::{ApiWriter, WriteError};
