//! The metadata every generated object starts from: its name, the owner's
//! namespace and a controller owner reference to the custom resource, so
//! Kubernetes' garbage collector removes the objects with their owner
//! (`docs/seldon-compat.md#server-workloads`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::BuildError;

/// The owning custom resource, as the builders need it.
#[derive(Clone, Debug)]
pub(crate) struct Owner {
    /// `Server ns/name`, for error messages.
    pub(crate) display: String,
    pub(crate) namespace: String,
    pub(crate) name: String,
    reference: OwnerReference,
}

impl Owner {
    /// Reads kind, name, namespace and uid; all must be set.
    pub(crate) fn new(kind: &'static str, meta: &ObjectMeta) -> Result<Self, BuildError> {
        let name = meta.name.clone().unwrap_or_default();
        let namespace = meta.namespace.clone().unwrap_or_default();
        let display = format!("{kind} {namespace}/{name}");
        let missing = |field| BuildError::MissingMetadata {
            object: display.clone(),
            field,
        };
        if name.is_empty() {
            return Err(missing("name"));
        }
        if namespace.is_empty() {
            return Err(missing("namespace"));
        }
        let uid = meta
            .uid
            .clone()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| missing("uid"))?;
        let reference = OwnerReference {
            api_version: format!("{}/{}", switchyard_api::GROUP, switchyard_api::VERSION),
            kind: kind.to_owned(),
            name: name.clone(),
            uid,
            controller: Some(true),
            block_owner_deletion: Some(true),
        };
        Ok(Self {
            display,
            namespace,
            name,
            reference,
        })
    }

    /// Metadata of an object named `name` in the owner's namespace, owned by it.
    pub(crate) fn meta(&self, name: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(self.namespace.clone()),
            owner_references: Some(vec![self.reference.clone()]),
            ..ObjectMeta::default()
        }
    }
}
