//! The schedulers as the operator sees them: one [`Scheduler`] per
//! namespace, found through [`Schedulers`], answering with plain results.
//!
//! The operator knows nothing of the transport: the pool implements these
//! traits over its gRPC connections (`switchyard-scheduler`), and a test
//! may implement them in memory. Errors carry the gRPC status code as our
//! own [`Code`], so retry rules are written once, here, without tonic.

use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use switchyard_proto::scheduler::{
    ExperimentStatusRequest, ExperimentStatusResponse, LoadModelRequest, LoadPipelineRequest,
    ModelStatusRequest, ModelStatusResponse, PipelineStatusRequest, PipelineStatusResponse,
    ServerNotifyRequest, StartExperimentRequest, StopExperimentRequest, UnloadModelRequest,
    UnloadPipelineRequest,
};

/// The subscriber name switchyard gives schedulers on its status streams
/// and listings (schedulers log it and key subscriptions by it).
pub const SUBSCRIBER_NAME: &str = "switchyard";

/// A gRPC status code, as a scheduler answered it (same numbers as gRPC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    Ok = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

impl Code {
    /// The code of gRPC's number `code`; unknown numbers are `Unknown`, as
    /// gRPC itself reads them.
    pub fn from_i32(code: i32) -> Code {
        const ALL: [Code; 17] = [
            Code::Ok,
            Code::Cancelled,
            Code::Unknown,
            Code::InvalidArgument,
            Code::DeadlineExceeded,
            Code::NotFound,
            Code::AlreadyExists,
            Code::PermissionDenied,
            Code::ResourceExhausted,
            Code::FailedPrecondition,
            Code::Aborted,
            Code::OutOfRange,
            Code::Unimplemented,
            Code::Internal,
            Code::Unavailable,
            Code::DataLoss,
            Code::Unauthenticated,
        ];
        usize::try_from(code)
            .ok()
            .and_then(|i| ALL.get(i).copied())
            .unwrap_or(Code::Unknown)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A scheduler's answer other than success (or the transport's, for a
/// scheduler that could not be reached: `Unavailable`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct SchedulerError {
    pub code: Code,
    pub message: String,
}

impl SchedulerError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        SchedulerError {
            code,
            message: message.into(),
        }
    }
}

/// A namespace with no known Seldon runtime.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("namespace {0:?} has no known Seldon runtime")]
pub struct UnknownNamespace(pub String);

/// One call to a scheduler, ready to await.
pub type Call<T> = BoxFuture<'static, Result<T, SchedulerError>>;

/// One namespace's scheduler. The status listings are the finite
/// (non-subscribing) RPCs, collected to the end.
pub trait Scheduler: Send + Sync {
    fn load_model(&self, request: LoadModelRequest) -> Call<()>;
    fn unload_model(&self, request: UnloadModelRequest) -> Call<()>;
    fn load_pipeline(&self, request: LoadPipelineRequest) -> Call<()>;
    fn unload_pipeline(&self, request: UnloadPipelineRequest) -> Call<()>;
    fn start_experiment(&self, request: StartExperimentRequest) -> Call<()>;
    fn stop_experiment(&self, request: StopExperimentRequest) -> Call<()>;
    fn server_notify(&self, request: ServerNotifyRequest) -> Call<()>;
    fn model_status(&self, request: ModelStatusRequest) -> Call<Vec<ModelStatusResponse>>;
    fn pipeline_status(&self, request: PipelineStatusRequest) -> Call<Vec<PipelineStatusResponse>>;
    fn experiment_status(
        &self,
        request: ExperimentStatusRequest,
    ) -> Call<Vec<ExperimentStatusResponse>>;
}

/// Every namespace's scheduler.
pub trait Schedulers: Send + Sync {
    /// The scheduler of `namespace`, sharing its connection.
    fn scheduler(&self, namespace: &str) -> Result<Arc<dyn Scheduler>, UnknownNamespace>;
    /// The namespaces served now, sorted.
    fn namespaces(&self) -> Vec<String>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_as_grpc_numbers() {
        assert_eq!(Code::from_i32(9), Code::FailedPrecondition);
        assert_eq!(Code::from_i32(14), Code::Unavailable);
        assert_eq!(Code::from_i32(16), Code::Unauthenticated);
        assert_eq!(Code::from_i32(17), Code::Unknown);
        assert_eq!(Code::from_i32(-1), Code::Unknown);
        assert_eq!(Code::Unavailable as i32, 14);
    }
}
