//! Errors of the simulated scheduler's state machine, and their one mapping
//! to gRPC status codes (the codes the real scheduler returns).

use tonic::Status;

/// Which kind of object an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Model,
    Pipeline,
    Experiment,
    Server,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Model => "model",
            Kind::Pipeline => "pipeline",
            Kind::Experiment => "experiment",
            Kind::Server => "server",
        })
    }
}

/// A request the state machine refuses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("{kind} name {name:?} is invalid: use only letters, digits, '-' and '_' (no dots)")]
    InvalidName { kind: Kind, name: String },
    #[error("{kind} {name:?} not found on this scheduler")]
    NotFound { kind: Kind, name: String },
    #[error("{kind} {name:?} has no version {version} (latest is {latest})")]
    VersionNotFound {
        kind: Kind,
        name: String,
        version: u32,
        latest: u32,
    },
    #[error("{kind} {name:?} is being deleted; wait for it to terminate before loading it again")]
    BeingDeleted { kind: Kind, name: String },
}

impl From<StoreError> for Status {
    /// The real scheduler answers every one of these with FailedPrecondition.
    fn from(err: StoreError) -> Self {
        Status::failed_precondition(err.to_string())
    }
}
