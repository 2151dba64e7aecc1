//! `BuildError`: why a Server or SeldonRuntime cannot be turned into
//! objects. Every message names the object and the field to fix, so the
//! operator can put it in a condition and an Event as it is.

/// A custom resource or its template that cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// The object lacks metadata the API server always sets (a uid for the
    /// owner reference, a namespace): it was not read from the API server.
    #[error(
        "{object}: metadata.{field} is not set (build from the object as the API server stores it)"
    )]
    MissingMetadata { object: String, field: &'static str },
    /// A Server named like a runtime component: its workload would be the
    /// component's (same name, same namespace).
    #[error(
        "{object}: metadata.name {name:?} is the name of the SeldonRuntime's component {name}; its workload would take the component's place. Rename the Server"
    )]
    NameConflict { object: String, name: String },
    /// A runtime override names a component its SeldonConfig does not have.
    #[error(
        "{object}: spec.overrides[{index}].name {name:?} is not a component of SeldonConfig {config}"
    )]
    UnknownOverride {
        object: String,
        index: usize,
        name: String,
        config: String,
    },
    /// Two runtime overrides name the same component.
    #[error(
        "{object}: spec.overrides[{index}].name {name:?} repeats spec.overrides[{first}]; keep one override per component"
    )]
    DuplicateOverride {
        object: String,
        index: usize,
        first: usize,
        name: String,
    },
    /// Two SeldonConfig components share a name.
    #[error(
        "SeldonConfig {config}: spec.components[{index}].name {name:?} repeats spec.components[{first}]"
    )]
    DuplicateComponent {
        config: String,
        index: usize,
        first: usize,
        name: String,
    },
    /// An enabled SeldonConfig component without a pod.
    #[error(
        "SeldonConfig {config}: spec.components[{index}] ({name:?}) has no podSpec; give it one or disable it in the runtime's overrides"
    )]
    MissingPodSpec {
        config: String,
        index: usize,
        name: String,
    },
    /// The template's pod spec and an override do not make a valid pod.
    #[error("{object}: {field}: {reason}")]
    PodSpecMerge {
        object: String,
        field: String,
        reason: String,
    },
    /// A field whose value cannot be used.
    #[error("{object}: {field} = {value:?}: {reason}")]
    InvalidValue {
        object: String,
        field: String,
        value: String,
        reason: String,
    },
}
