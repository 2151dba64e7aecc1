//! Which scheduler objects are managed through Kubernetes resources: the
//! question the gateway asks before it forwards a direct write (Seldon's
//! guidance is never to manage one object both ways; a direct write to an
//! object that has a custom resource is refused, the resource is the one
//! source of truth). The operator answers it from the objects it watches;
//! the gateway only sees this trait, so it stays free of Kubernetes.

use std::fmt;

/// The kinds a scheduler loads on request, each a custom resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ManagedKind {
    Model,
    Pipeline,
    Experiment,
}

impl ManagedKind {
    /// Every kind.
    pub const ALL: [ManagedKind; 3] = [
        ManagedKind::Model,
        ManagedKind::Pipeline,
        ManagedKind::Experiment,
    ];

    /// The custom resource's kind, as `kubectl` names it: `Model`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ManagedKind::Model => "Model",
            ManagedKind::Pipeline => "Pipeline",
            ManagedKind::Experiment => "Experiment",
        }
    }

    /// The resource's plural, for `kubectl edit models/NAME`.
    pub const fn plural(self) -> &'static str {
        match self {
            ManagedKind::Model => "models",
            ManagedKind::Pipeline => "pipelines",
            ManagedKind::Experiment => "experiments",
        }
    }
}

impl fmt::Display for ManagedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Answers whether an object exists as a custom resource. Cheap and
/// synchronous (read from memory): it is asked on the gateway's write
/// path.
pub trait ManagedObjects: Send + Sync {
    /// Whether `namespace` holds a `kind` resource named `name` (one being
    /// deleted included: its deletion is the operator's to carry out).
    fn is_managed(&self, namespace: &str, kind: ManagedKind, name: &str) -> bool;

    /// Whether the answers reflect a complete listing of the resources
    /// (false until the first list after start): a caller that must not
    /// let a write through on a guess refuses, or waits, until then.
    fn is_synced(&self) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_name_their_resources() {
        let names: Vec<_> = ManagedKind::ALL
            .iter()
            .map(|k| (k.to_string(), k.plural()))
            .collect();
        assert_eq!(
            names,
            [
                ("Model".to_owned(), "models"),
                ("Pipeline".to_owned(), "pipelines"),
                ("Experiment".to_owned(), "experiments"),
            ]
        );
    }
}
