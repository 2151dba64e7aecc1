//! Why a reconcile failed, and whether trying again can help.
//!
//! This is the one place that classifies failures (the Go operator's
//! `checkErrorRetryable`, docs/seldon-compat.md#retry-classification): a scheduler answer of
//! FailedPrecondition or Unimplemented is final, every other scheduler code
//! is retryable, a call that timed out or a namespace whose runtime is not
//! discovered yet is retryable, and a spec that cannot be translated is
//! final until the user changes it. Final errors are reported on the object
//! and not requeued; retryable ones are requeued with a capped exponential
//! backoff per object ([`RetryBackoff`]).

use std::time::Duration;

use switchyard_core::schedulers::Code;

use crate::WriteError;
use switchyard_core::schedulers::UnknownNamespace;
use switchyard_translate::TranslateError;
use switchyard_translate::conditions::Retryability;

/// First delay after a retryable failure.
pub const RETRY_INITIAL: Duration = Duration::from_secs(1);
/// Longest delay between retries: a scheduler that is down for an hour is
/// still retried every minute, so it is picked up soon after it returns.
pub const RETRY_MAX: Duration = Duration::from_secs(60);

/// A failed reconcile of one object.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The spec cannot become a scheduler request (names the field).
    #[error("{kind} {namespace}/{name} is invalid: {source}")]
    Invalid {
        kind: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: TranslateError,
    },
    /// The objects the resource becomes cannot be built from it and its
    /// template (names the field); final until either changes.
    #[error("{kind} {namespace}/{name}: {source}")]
    Build {
        kind: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: switchyard_workloads::BuildError,
    },
    /// The template the resource names does not exist (yet).
    #[error("{kind} {namespace}/{name}: {template} not found; retrying until it exists")]
    Template {
        kind: &'static str,
        namespace: String,
        name: String,
        template: String,
    },
    /// The namespace has no discovered Seldon runtime (yet).
    #[error("{kind} {namespace}/{name}: {source}; retrying until its SeldonRuntime is discovered")]
    NoRuntime {
        kind: &'static str,
        namespace: String,
        name: String,
        #[source]
        source: UnknownNamespace,
    },
    /// The scheduler answered with an error.
    #[error("{rpc} of {namespace}/{name} failed: {code:?}: {message}")]
    Scheduler {
        rpc: &'static str,
        namespace: String,
        name: String,
        code: Code,
        message: String,
    },
    /// The scheduler did not answer in time.
    #[error("{rpc} of {namespace}/{name}: no answer from the scheduler within {after:?}")]
    Timeout {
        rpc: &'static str,
        namespace: String,
        name: String,
        after: Duration,
    },
    /// Every scheduler call slot of the namespace is taken (its scheduler
    /// is slow); tried again shortly.
    #[error("namespace {namespace}: scheduler calls all in flight; retrying")]
    Busy { namespace: String },
    /// A read from the API server failed.
    #[error("{what}: {source}")]
    Read {
        what: String,
        #[source]
        source: kube::Error,
    },
    /// A write to the API server failed (the writer already retried
    /// conflicts).
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl ReconcileError {
    /// Whether a later attempt at the same generation can succeed.
    pub fn retryability(&self) -> Retryability {
        let final_ = match self {
            ReconcileError::Invalid { .. } | ReconcileError::Build { .. } => true,
            ReconcileError::Scheduler { code, .. } => is_final_code(*code),
            ReconcileError::NoRuntime { .. }
            | ReconcileError::Template { .. }
            | ReconcileError::Timeout { .. }
            | ReconcileError::Busy { .. }
            | ReconcileError::Read { .. }
            | ReconcileError::Write(_) => false,
        };
        if final_ {
            Retryability::NonRetryable
        } else {
            Retryability::Retryable
        }
    }

    /// Shorthand for `retryability() == Retryable`.
    pub fn is_retryable(&self) -> bool {
        self.retryability() == Retryability::Retryable
    }

    /// The error text for conditions and events (for scheduler errors
    /// without the object name, which the condition's object already is).
    pub fn condition_message(&self) -> String {
        match self {
            ReconcileError::Invalid { source, .. } => source.to_string(),
            ReconcileError::Build { source, .. } => source.to_string(),
            ReconcileError::Template { template, .. } => format!("{template} not found"),
            ReconcileError::Scheduler {
                rpc, code, message, ..
            } => format!("{rpc} failed: {code:?}: {message}"),
            other => other.to_string(),
        }
    }
}

/// The scheduler codes that mean "the scheduler will never accept this":
/// it returns FailedPrecondition for every store or validation failure, and
/// Unimplemented when it lacks the call.
pub fn is_final_code(code: Code) -> bool {
    matches!(code, Code::FailedPrecondition | Code::Unimplemented)
}

/// Capped exponential backoff of one object: [`RETRY_INITIAL`] doubling up
/// to [`RETRY_MAX`], reset on success.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetryBackoff {
    failures: u32,
}

impl RetryBackoff {
    /// Records a failure and returns how long to wait before the next try.
    pub fn next_delay(&mut self) -> Duration {
        let exp = self.failures.min(16);
        self.failures = self.failures.saturating_add(1);
        RETRY_INITIAL.saturating_mul(1u32 << exp).min(RETRY_MAX)
    }

    /// Failures since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// A success: the next failure starts from [`RETRY_INITIAL`] again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scheduler(code: Code) -> ReconcileError {
        ReconcileError::Scheduler {
            rpc: "LoadModel",
            namespace: "ns".into(),
            name: "iris".into(),
            code,
            message: "m".into(),
        }
    }

    #[test]
    fn classification_follows_the_reference() {
        for code in [Code::FailedPrecondition, Code::Unimplemented] {
            assert!(!scheduler(code).is_retryable(), "{code:?}");
        }
        for code in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::Internal,
            Code::Cancelled,
            Code::NotFound,
        ] {
            assert!(scheduler(code).is_retryable(), "{code:?}");
        }
        let no_runtime = ReconcileError::NoRuntime {
            kind: "Model",
            namespace: "ns".into(),
            name: "iris".into(),
            source: UnknownNamespace("ns".into()),
        };
        assert!(no_runtime.is_retryable());
        let invalid = ReconcileError::Invalid {
            kind: "Model",
            namespace: "ns".into(),
            name: "iris".into(),
            source: TranslateError::ExplainerAndLlm,
        };
        assert!(!invalid.is_retryable());
        assert!(invalid.condition_message().starts_with("spec.explainer"));
    }

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let mut b = RetryBackoff::default();
        let delays: Vec<u64> = (0..9).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        for _ in 0..100 {
            assert_eq!(b.next_delay(), RETRY_MAX);
        }
        b.reset();
        assert_eq!(b.next_delay(), RETRY_INITIAL);
    }
}
