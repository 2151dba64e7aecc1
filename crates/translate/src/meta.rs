//! What every request takes from `metadata`: the name, and the
//! `kubernetesMeta {namespace, generation}` the scheduler echoes back in its
//! status events so the operator can route them to the right object.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::TranslateError;
use switchyard_proto::scheduler::KubernetesMeta;

/// `metadata.name`, which the scheduler uses as the identity.
pub(crate) fn name<'a>(
    meta: &'a ObjectMeta,
    kind: &'static str,
) -> Result<&'a str, TranslateError> {
    meta.name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or(TranslateError::MissingName { kind })
}

/// `{namespace, generation}` of the object.
///
/// A missing namespace is an error: the scheduler needs it to tag its status
/// events. A missing generation becomes 0. The API server sets
/// `metadata.generation` on every object it stores (starting at 1), so only
/// an object that was never stored (a manifest file given to `switchyard
/// translate`, a test) lacks one, and 0 then says exactly that: "no stored
/// generation". Refusing it would make a dry run of plain manifests
/// impossible while protecting nothing.
pub(crate) fn kubernetes_meta(
    meta: &ObjectMeta,
    kind: &'static str,
) -> Result<KubernetesMeta, TranslateError> {
    let name = name(meta, kind)?;
    let namespace = meta
        .namespace
        .as_deref()
        .filter(|ns| !ns.is_empty())
        .ok_or_else(|| TranslateError::MissingNamespace {
            kind,
            name: name.to_string(),
        })?;
    Ok(KubernetesMeta {
        namespace: namespace.to_string(),
        generation: meta.generation.unwrap_or(0),
    })
}

/// True when the API server has marked the object for deletion.
pub(crate) fn is_deleting(meta: &ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some()
}

#[cfg(test)]
pub(crate) mod test_support {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    /// Metadata as the Go tests use it: namespace "default", the given name
    /// and generation.
    pub(crate) fn object_meta(name: &str, generation: i64) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some("default".to_string()),
            generation: Some(generation),
            ..ObjectMeta::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_and_namespace_are_required_generation_defaults_to_zero() {
        let mut meta = test_support::object_meta("foo", 3);
        assert_eq!(
            kubernetes_meta(&meta, "Model"),
            Ok(KubernetesMeta {
                namespace: "default".into(),
                generation: 3
            })
        );
        meta.generation = None;
        assert_eq!(
            kubernetes_meta(&meta, "Model"),
            Ok(KubernetesMeta {
                namespace: "default".into(),
                generation: 0
            })
        );
        meta.namespace = Some(String::new());
        assert_eq!(
            kubernetes_meta(&meta, "Model"),
            Err(TranslateError::MissingNamespace {
                kind: "Model",
                name: "foo".into()
            })
        );
        meta.name = None;
        assert_eq!(
            kubernetes_meta(&meta, "Server"),
            Err(TranslateError::MissingName { kind: "Server" })
        );
        assert_eq!(
            name(&meta, "Server"),
            Err(TranslateError::MissingName { kind: "Server" })
        );
    }
}
