//! Which namespace a gateway request is for.
//!
//! In: the request's gRPC metadata (`seldon-namespace`) and, for the five
//! request messages that carry one, the message's `kubernetesMeta.namespace`
//! (docs/seldon-compat.md#namespace-routing). Out: one namespace name, or a [`NamespaceError`] that
//! `status` turns into INVALID_ARGUMENT. Whether the namespace is served is
//! the pool's business (NOT_FOUND), not this module's.

use tonic::metadata::MetadataMap;

use super::names::{is_namespace, namespace_error, quoted};

use switchyard_proto::chainer::PipelineUpdateStatusMessage;
use switchyard_proto::scheduler::{
    ControlPlaneSubscriptionRequest, ExperimentStatusRequest, ExperimentSubscriptionRequest,
    KubernetesMeta, LoadModelRequest, LoadPipelineRequest, ModelStatusRequest,
    ModelSubscriptionRequest, ModelUpdateStatusMessage, PipelineStatusRequest,
    PipelineSubscriptionRequest, SchedulerStatusRequest, ServerNotifyRequest, ServerStatusRequest,
    ServerSubscriptionRequest, StartExperimentRequest, StopExperimentRequest, UnloadModelRequest,
    UnloadPipelineRequest,
};

/// The gRPC metadata key that names the namespace of a request.
pub const NAMESPACE_METADATA: &str = "seldon-namespace";

/// Why no single namespace could be taken from a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamespaceError {
    #[error(
        "no namespace given: set gRPC metadata `{NAMESPACE_METADATA}`, or kubernetesMeta.namespace in the message where it has one, or configure a default namespace on the gateway"
    )]
    Missing,
    #[error("gRPC metadata `{NAMESPACE_METADATA}` is not valid: {0}")]
    BadMetadata(String),
    #[error(
        "gRPC metadata `{NAMESPACE_METADATA}` says {} but {field} says {}; they must agree",
        quoted(.metadata),
        quoted(.message)
    )]
    Conflict {
        metadata: String,
        field: &'static str,
        message: String,
    },
    #[error(
        "servers[{first_index}].kubernetesMeta.namespace is {} but servers[{index}].kubernetesMeta.namespace is {}; one ServerNotify request serves one namespace",
        quoted(.first),
        quoted(.other)
    )]
    ServersDisagree {
        first_index: usize,
        first: String,
        index: usize,
        other: String,
    },
    #[error(
        "the authority names namespace {} but {field} says {}; they must agree",
        quoted(.authority),
        quoted(.message)
    )]
    AuthorityConflict {
        authority: String,
        field: &'static str,
        message: String,
    },
    /// A namespace named in the message breaks Kubernetes' rules.
    #[error("{0}")]
    Invalid(String),
}

/// A namespace named inside a request message, with the field that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageNamespace<'a> {
    pub field: &'static str,
    pub namespace: &'a str,
}

/// Request messages that may name their namespace (docs/seldon-compat.md#namespace-routing).
pub trait NamespacedMessage {
    /// The namespace the message names, if any. Empty strings are "none"
    /// (proto3 cannot tell them apart).
    fn message_namespace(&self) -> Result<Option<MessageNamespace<'_>>, NamespaceError>;
}

fn named<'a>(
    field: &'static str,
    meta: Option<&'a KubernetesMeta>,
) -> Option<MessageNamespace<'a>> {
    meta.map(|m| m.namespace.as_str())
        .filter(|ns| !ns.is_empty())
        .map(|namespace| MessageNamespace { field, namespace })
}

impl NamespacedMessage for LoadModelRequest {
    fn message_namespace(&self) -> Result<Option<MessageNamespace<'_>>, NamespaceError> {
        let meta = self
            .model
            .as_ref()
            .and_then(|m| m.meta.as_ref())
            .and_then(|m| m.kubernetes_meta.as_ref());
        Ok(named("model.meta.kubernetesMeta.namespace", meta))
    }
}

impl NamespacedMessage for UnloadModelRequest {
    fn message_namespace(&self) -> Result<Option<MessageNamespace<'_>>, NamespaceError> {
        Ok(named(
            "kubernetesMeta.namespace",
            self.kubernetes_meta.as_ref(),
        ))
    }
}

impl NamespacedMessage for LoadPipelineRequest {
    fn message_namespace(&self) -> Result<Option<MessageNamespace<'_>>, NamespaceError> {
        let meta = self
            .pipeline
            .as_ref()
            .and_then(|p| p.kubernetes_meta.as_ref());
        Ok(named("pipeline.kubernetesMeta.namespace", meta))
    }
}

impl NamespacedMessage for StartExperimentRequest {
    fn message_namespace(&self) -> Result<Option<MessageNamespace<'_>>, NamespaceError> {
        let meta = self
            .experiment
            .as_ref()
            .and_then(|e| e.kubernetes_meta.as_ref());
        Ok(named("experiment.kubernetesMeta.namespace", meta))
    }
}

impl NamespacedMessage for ServerNotifyRequest {
    fn message_namespace(&self) -> Result<Option<MessageNamespace<'_>>, NamespaceError> {
        let mut found: Option<(usize, &str)> = None;
        for (index, server) in self.servers.iter().enumerate() {
            let Some(ns) = server
                .kubernetes_meta
                .as_ref()
                .map(|m| m.namespace.as_str())
                .filter(|ns| !ns.is_empty())
            else {
                continue;
            };
            match found {
                None => found = Some((index, ns)),
                Some((_, first)) if first == ns => {}
                Some((first_index, first)) => {
                    return Err(NamespaceError::ServersDisagree {
                        first_index,
                        first: first.to_owned(),
                        index,
                        other: ns.to_owned(),
                    });
                }
            }
        }
        Ok(found.map(|(_, namespace)| MessageNamespace {
            field: "servers[].kubernetesMeta.namespace",
            namespace,
        }))
    }
}

macro_rules! unnamed {
    ($($ty:ty),* $(,)?) => {$(
        impl NamespacedMessage for $ty {
            fn message_namespace(&self) -> Result<Option<MessageNamespace<'_>>, NamespaceError> {
                Ok(None)
            }
        }
    )*};
}

// docs/seldon-compat.md#namespace-routing: these carry no namespace; only metadata or the default
// can route them.
unnamed!(
    UnloadPipelineRequest,
    StopExperimentRequest,
    ModelStatusRequest,
    ServerStatusRequest,
    PipelineStatusRequest,
    ExperimentStatusRequest,
    SchedulerStatusRequest,
    ModelSubscriptionRequest,
    ServerSubscriptionRequest,
    PipelineSubscriptionRequest,
    ExperimentSubscriptionRequest,
    ControlPlaneSubscriptionRequest,
    PipelineUpdateStatusMessage,
    ModelUpdateStatusMessage,
);

/// The namespace named by `seldon-namespace` metadata, if any. More than
/// one value is accepted only if they all agree.
pub fn from_metadata(metadata: &MetadataMap) -> Result<Option<String>, NamespaceError> {
    let mut found: Option<String> = None;
    for value in metadata.get_all(NAMESPACE_METADATA).iter() {
        let text = value
            .to_str()
            .map_err(|_| NamespaceError::BadMetadata("the value is not printable ASCII".into()))?
            .trim();
        if text.is_empty() {
            return Err(NamespaceError::BadMetadata("the value is empty".into()));
        }
        if !is_namespace(text) {
            return Err(NamespaceError::BadMetadata(namespace_error(
                "its value",
                text,
            )));
        }
        match &found {
            Some(first) if first != text => {
                return Err(NamespaceError::BadMetadata(format!(
                    "it is given twice, as {} and {}",
                    quoted(first),
                    quoted(text)
                )));
            }
            Some(_) => {}
            None => found = Some(text.to_owned()),
        }
    }
    Ok(found)
}

/// Resolves the namespace of routed requests: metadata, else the message,
/// else the configured default.
#[derive(Clone, Debug, Default)]
pub struct NamespaceResolver {
    default: Option<String>,
}

impl NamespaceResolver {
    /// A resolver falling back to `default` (blank means none).
    pub fn new(default: Option<String>) -> Self {
        NamespaceResolver {
            default: default
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty()),
        }
    }

    /// The configured default namespace.
    pub fn default_namespace(&self) -> Option<&str> {
        self.default.as_deref()
    }

    /// The one namespace a routed request is for.
    pub fn resolve<T: NamespacedMessage>(
        &self,
        metadata: &MetadataMap,
        message: &T,
    ) -> Result<String, NamespaceError> {
        self.given(metadata, None, message)?
            .or_else(|| self.default.clone())
            .ok_or(NamespaceError::Missing)
    }

    /// The namespace the request names itself, by precedence: metadata,
    /// then `authority` (the namespace of the HTTP/2 authority), then the
    /// message (which must agree with either); `None`: it names none.
    pub fn given<T: NamespacedMessage>(
        &self,
        metadata: &MetadataMap,
        authority: Option<String>,
        message: &T,
    ) -> Result<Option<String>, NamespaceError> {
        let from_metadata = from_metadata(metadata)?;
        let from_message = message.message_namespace()?;
        if let Some(named) = &from_message
            && !is_namespace(named.namespace)
        {
            return Err(NamespaceError::Invalid(namespace_error(
                named.field,
                named.namespace,
            )));
        }
        match (from_metadata, authority, from_message) {
            (Some(metadata), _, Some(named)) if metadata != named.namespace => {
                Err(NamespaceError::Conflict {
                    metadata,
                    field: named.field,
                    message: named.namespace.to_owned(),
                })
            }
            (None, Some(authority), Some(named)) if authority != named.namespace => {
                Err(NamespaceError::AuthorityConflict {
                    authority,
                    field: named.field,
                    message: named.namespace.to_owned(),
                })
            }
            (Some(metadata), _, _) => Ok(Some(metadata)),
            (None, Some(authority), _) => Ok(Some(authority)),
            (None, None, named) => Ok(named.map(|n| n.namespace.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_proto::scheduler::{MetaData, Model, ServerNotify};

    fn meta(ns: &str) -> Option<KubernetesMeta> {
        Some(KubernetesMeta {
            namespace: ns.into(),
            generation: 1,
        })
    }

    fn load(ns: Option<&str>) -> LoadModelRequest {
        LoadModelRequest {
            model: Some(Model {
                meta: Some(MetaData {
                    name: "m".into(),
                    kubernetes_meta: ns.and_then(meta),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }
    }

    fn md(ns: &str) -> MetadataMap {
        let mut m = MetadataMap::new();
        m.insert(NAMESPACE_METADATA, ns.parse().unwrap());
        m
    }

    #[test]
    fn metadata_then_message_then_default() {
        let r = NamespaceResolver::new(Some("dflt".into()));
        assert_eq!(r.resolve(&md("a"), &load(None)).unwrap(), "a");
        assert_eq!(r.resolve(&md("a"), &load(Some("a"))).unwrap(), "a");
        assert_eq!(
            r.resolve(&MetadataMap::new(), &load(Some("b"))).unwrap(),
            "b"
        );
        assert_eq!(r.resolve(&MetadataMap::new(), &load(None)).unwrap(), "dflt");
        assert_eq!(
            r.resolve(&MetadataMap::new(), &load(Some(""))).unwrap(),
            "dflt",
            "an empty namespace is no namespace"
        );
    }

    #[test]
    fn no_namespace_anywhere_says_how_to_name_one() {
        let r = NamespaceResolver::new(Some("  ".into()));
        let err = r
            .resolve(
                &MetadataMap::new(),
                &UnloadPipelineRequest { name: "p".into() },
            )
            .unwrap_err();
        assert_eq!(err, NamespaceError::Missing);
        assert!(err.to_string().contains("seldon-namespace"), "{err}");
    }

    #[test]
    fn metadata_and_message_must_agree() {
        let r = NamespaceResolver::default();
        let err = r.resolve(&md("a"), &load(Some("b"))).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("\"a\"")
                && text.contains("\"b\"")
                && text.contains("model.meta.kubernetesMeta.namespace"),
            "{text}"
        );
    }

    #[test]
    fn server_notify_entries_must_agree() {
        let server = |name: &str, ns: Option<&str>| ServerNotify {
            name: name.into(),
            kubernetes_meta: ns.and_then(meta),
            ..Default::default()
        };
        let ok = ServerNotifyRequest {
            servers: vec![
                server("a", Some("x")),
                server("b", None),
                server("c", Some("x")),
            ],
            is_first_sync: false,
        };
        let r = NamespaceResolver::default();
        assert_eq!(r.resolve(&MetadataMap::new(), &ok).unwrap(), "x");
        let bad = ServerNotifyRequest {
            servers: vec![server("a", Some("x")), server("b", Some("y"))],
            is_first_sync: false,
        };
        let err = r.resolve(&MetadataMap::new(), &bad).unwrap_err();
        assert!(
            matches!(
                err,
                NamespaceError::ServersDisagree {
                    first_index: 0,
                    index: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("servers[1]"), "{err}");
    }

    #[test]
    fn bad_metadata_is_rejected() {
        let r = NamespaceResolver::new(Some("d".into()));
        let mut m = MetadataMap::new();
        m.insert(NAMESPACE_METADATA, "".parse().unwrap());
        assert!(matches!(
            r.resolve(&m, &load(None)),
            Err(NamespaceError::BadMetadata(_))
        ));
        let long = "n".repeat(1 << 20);
        let err = r.resolve(&md(&long), &load(None)).unwrap_err().to_string();
        assert!(err.len() < 400, "{err}");
        let err = r
            .resolve(&MetadataMap::new(), &load(Some("Team_A")))
            .unwrap_err();
        assert!(matches!(err, NamespaceError::Invalid(_)), "{err:?}");
        assert!(
            err.to_string()
                .contains("model.meta.kubernetesMeta.namespace"),
            "{err}"
        );
        let mut m = md("a");
        m.append(NAMESPACE_METADATA, "b".parse().unwrap());
        assert!(matches!(
            r.resolve(&m, &load(None)),
            Err(NamespaceError::BadMetadata(_))
        ));
        let mut m = md("a");
        m.append(NAMESPACE_METADATA, "a".parse().unwrap());
        assert_eq!(r.resolve(&m, &load(None)).unwrap(), "a");
    }
}
