//! [`TranslateError`]: why a resource cannot become a scheduler request.
//!
//! Every variant is a problem in the object itself, so retrying the same
//! generation can never succeed: controllers report it on the object's status
//! and wait for the user to change the spec. Messages start with the field
//! path a user has to fix, followed by the value and, where Seldon has one,
//! Seldon's own text (so searches for Seldon's messages still find ours).

use super::quantity::QuantityError;
use super::scaling::ScalingError;

/// A resource that cannot be translated into a scheduler request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// `metadata.name` is absent: the scheduler identifies everything by name.
    #[error("metadata.name: missing; the scheduler identifies every {kind} by name")]
    MissingName {
        /// The resource kind, e.g. `Model`.
        kind: &'static str,
    },

    /// `metadata.namespace` is absent: the request's `kubernetesMeta` needs it.
    #[error(
        "metadata.namespace: missing on {kind} {name:?}; the scheduler request carries \
         the namespace in kubernetesMeta"
    )]
    MissingNamespace {
        /// The resource kind, e.g. `Model`.
        kind: &'static str,
        /// The resource name.
        name: String,
    },

    /// A Model sets both `spec.explainer` and `spec.llm` (one oneof in the
    /// scheduler's ModelSpec).
    #[error(
        "spec.explainer, spec.llm: both are set. Can't have both explainer and llm in model spec."
    )]
    ExplainerAndLlm,

    /// `spec.memory` is not a whole, non-negative number of bytes that fits
    /// in an int64.
    #[error("spec.memory: Can't convert model memory quantity to bytes. {quantity}: {cause}")]
    Memory {
        /// The quantity as written.
        quantity: String,
        /// Why it cannot be converted.
        cause: QuantityError,
    },

    /// `spec.replicas`, `spec.minReplicas` and `spec.maxReplicas` contradict
    /// each other (docs/seldon-compat.md#scaling-rules).
    #[error("{}: {cause}", .cause.fields().join(", "))]
    Scaling {
        /// Which rule failed, with Seldon's message.
        cause: ScalingError,
    },
}

impl TranslateError {
    /// The field paths a user has to change, for status messages and
    /// admission responses.
    pub fn fields(&self) -> &'static [&'static str] {
        match self {
            TranslateError::MissingName { .. } => &["metadata.name"],
            TranslateError::MissingNamespace { .. } => &["metadata.namespace"],
            TranslateError::ExplainerAndLlm => &["spec.explainer", "spec.llm"],
            TranslateError::Memory { .. } => &["spec.memory"],
            TranslateError::Scaling { cause } => cause.fields(),
        }
    }

    /// Always false: every translation error is a validation error in the
    /// object (Seldon's "non-retryable" class). Requeueing the same
    /// generation would fail the same way, so controllers should record the
    /// error and wait for the next change instead of backing off and retrying.
    pub fn is_retryable(&self) -> bool {
        false
    }

    /// True when the error is a scaling rule violation (Seldon's
    /// `ErrScalingSpec`); the Server controller reports those separately.
    pub fn is_scaling(&self) -> bool {
        matches!(self, TranslateError::Scaling { .. })
    }
}

impl From<ScalingError> for TranslateError {
    fn from(cause: ScalingError) -> Self {
        TranslateError::Scaling { cause }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_field_and_keep_seldons_text() {
        assert_eq!(
            TranslateError::ExplainerAndLlm.to_string(),
            "spec.explainer, spec.llm: both are set. Can't have both explainer and llm in model spec."
        );
        assert_eq!(
            TranslateError::Memory {
                quantity: "100m".into(),
                cause: QuantityError::NotWholeBytes,
            }
            .to_string(),
            "spec.memory: Can't convert model memory quantity to bytes. 100m: not a whole \
             number of bytes"
        );
        assert_eq!(
            TranslateError::from(ScalingError::ReplicasBelowMin {
                replicas: 1,
                min: 2
            })
            .to_string(),
            "spec.replicas, spec.minReplicas: scaling spec is invalid: number of replicas 1 \
             must be >= min replicas 2"
        );
        assert_eq!(
            TranslateError::MissingNamespace {
                kind: "Model",
                name: "iris".into()
            }
            .to_string(),
            "metadata.namespace: missing on Model \"iris\"; the scheduler request carries the \
             namespace in kubernetesMeta"
        );
        assert_eq!(
            TranslateError::MissingName { kind: "Pipeline" }.to_string(),
            "metadata.name: missing; the scheduler identifies every Pipeline by name"
        );
    }

    #[test]
    fn classification() {
        let scaling = TranslateError::from(ScalingError::MinAboveMax { min: 6, max: 4 });
        assert!(!scaling.is_retryable());
        assert!(scaling.is_scaling());
        assert_eq!(scaling.fields(), ["spec.minReplicas", "spec.maxReplicas"]);
        assert!(!TranslateError::ExplainerAndLlm.is_retryable());
        assert!(!TranslateError::ExplainerAndLlm.is_scaling());
        assert_eq!(
            TranslateError::ExplainerAndLlm.fields(),
            ["spec.explainer", "spec.llm"]
        );
    }
}
