//! What the real server's validation refuses for the kinds the operator
//! builds, so a test against the double fails where a cluster would:
//!
//! - apps/v1 StatefulSets and Deployments need `spec.selector`, and its
//!   `matchLabels` must match the pod template's labels;
//! - a Deployment's selector is immutable, and a StatefulSet's spec may
//!   change only in `replicas`, `ordinals`, `template`, `updateStrategy`,
//!   `persistentVolumeClaimRetentionPolicy` and `minReadySeconds`;
//! - a RoleBinding's or ClusterRoleBinding's `roleRef` is immutable;
//! - owner references name their owner (apiVersion, kind, name, uid), and
//!   at most one is the controller.
//!
//! Everything else about schemas (types, required fields, defaults) is
//! not checked. Without defaulting, the StatefulSet rule is stricter than
//! a real server's in one case: a field the operator stops applying is
//! removed here, where a real server would default it back to the same
//! value (a StatefulSet's `podManagementPolicy`, say).

use serde_json::Value;

use super::catalog::ResourceType;
use super::error::ApiError;

/// StatefulSet spec fields an update may change.
const STATEFULSET_MUTABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

fn is_apps(rt: &ResourceType, kind: &str) -> bool {
    !rt.custom && rt.group == "apps" && rt.kind == kind
}

/// Fills what the real server fills on a write: each of a StatefulSet's
/// `volumeClaimTemplates` gets `apiVersion: v1` and `kind:
/// PersistentVolumeClaim` (a client may send them or not; the server
/// shows them either way, so the two compare equal).
pub(crate) fn defaults(rt: &ResourceType, obj: &mut Value) {
    if !is_apps(rt, "StatefulSet") {
        return;
    }
    let claims = obj
        .get_mut("spec")
        .and_then(|s| s.get_mut("volumeClaimTemplates"))
        .and_then(Value::as_array_mut);
    for claim in claims.into_iter().flatten() {
        if let Some(claim) = claim.as_object_mut() {
            claim
                .entry("apiVersion")
                .or_insert_with(|| Value::String("v1".into()));
            claim
                .entry("kind")
                .or_insert_with(|| Value::String("PersistentVolumeClaim".into()));
        }
    }
}

/// Checks a new or updated object on its own.
pub(crate) fn object(rt: &ResourceType, name: &str, obj: &Value) -> Result<(), ApiError> {
    owner_references(rt, name, obj)?;
    if !(is_apps(rt, "StatefulSet") || is_apps(rt, "Deployment")) {
        return Ok(());
    }
    let spec = obj.get("spec");
    let Some(selector) = spec
        .and_then(|s| s.get("selector"))
        .filter(|s| !s.is_null())
    else {
        return Err(ApiError::invalid(
            rt,
            name,
            "spec.selector",
            "Required value",
        ));
    };
    let labels = spec
        .and_then(|s| s.pointer("/template/metadata/labels"))
        .and_then(Value::as_object);
    let matches = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|wanted| {
            wanted
                .iter()
                .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        });
    if matches {
        Ok(())
    } else {
        Err(ApiError::invalid(
            rt,
            name,
            "spec.template.metadata.labels",
            "Invalid value: `selector` does not match template `labels`",
        ))
    }
}

fn owner_references(rt: &ResourceType, name: &str, obj: &Value) -> Result<(), ApiError> {
    let references = obj
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for reference in references {
        for (field, what) in [
            ("apiVersion", "version"),
            ("kind", "kind"),
            ("name", "name"),
            ("uid", "uid"),
        ] {
            let value = reference.get(field).and_then(Value::as_str).unwrap_or("");
            if value.is_empty() {
                return Err(ApiError::invalid(
                    rt,
                    name,
                    &format!("metadata.ownerReferences.{field}"),
                    &format!("Invalid value: \"\": {what} must not be empty"),
                ));
            }
        }
    }
    let controllers = references
        .iter()
        .filter(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .count();
    if controllers > 1 {
        return Err(ApiError::invalid(
            rt,
            name,
            "metadata.ownerReferences",
            "Invalid value: Only one reference can have Controller set to true",
        ));
    }
    Ok(())
}

/// Checks an update of `current` into `new`.
pub(crate) fn update(
    rt: &ResourceType,
    name: &str,
    current: &Value,
    new: &Value,
) -> Result<(), ApiError> {
    object(rt, name, new)?;
    let field = |obj: &'_ Value, pointer: &str| obj.pointer(pointer).cloned();
    if is_apps(rt, "Deployment") && field(current, "/spec/selector") != field(new, "/spec/selector")
    {
        return Err(ApiError::invalid(
            rt,
            name,
            "spec.selector",
            "Invalid value: field is immutable",
        ));
    }
    if is_apps(rt, "StatefulSet") {
        let frozen = |obj: &Value| -> Vec<(String, Value)> {
            obj.get("spec")
                .and_then(Value::as_object)
                .map(|spec| {
                    spec.iter()
                        .filter(|(k, _)| !STATEFULSET_MUTABLE.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default()
        };
        if frozen(current) != frozen(new) {
            return Err(ApiError::invalid(
                rt,
                name,
                "spec",
                "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            ));
        }
    }
    if !rt.custom
        && rt.group == "rbac.authorization.k8s.io"
        && matches!(rt.kind.as_str(), "RoleBinding" | "ClusterRoleBinding")
        && field(current, "/roleRef") != field(new, "/roleRef")
    {
        return Err(ApiError::invalid(
            rt,
            name,
            "roleRef",
            "Invalid value: cannot change roleRef",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use serde_json::json;

    #[test]
    fn workload_rules() {
        let catalog = Catalog::new(&[]);
        let sts = catalog.get(catalog.find("apps", "v1", "statefulsets").expect("served"));
        let good = json!({"spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "serviceName": "a",
            "template": {"metadata": {"labels": {"app": "a", "x": "y"}}},
        }});
        assert!(object(sts, "a", &good).is_ok());
        let mismatch = json!({"spec": {"selector": {"matchLabels": {"app": "b"}}, "template": {"metadata": {"labels": {"app": "a"}}}}});
        assert_eq!(object(sts, "a", &mismatch).map_err(|e| e.code), Err(422));
        assert_eq!(
            object(sts, "a", &json!({"spec": {}})).map_err(|e| e.code),
            Err(422)
        );
        let mut scaled = good.clone();
        scaled["spec"]["replicas"] = json!(3);
        assert!(update(sts, "a", &good, &scaled).is_ok());
        let mut renamed = good.clone();
        renamed["spec"]["serviceName"] = json!("b");
        assert_eq!(
            update(sts, "a", &good, &renamed).map_err(|e| e.code),
            Err(422)
        );
    }

    #[test]
    fn owner_reference_rules() {
        let catalog = Catalog::new(&[]);
        let cm = catalog.get(catalog.find("", "v1", "configmaps").expect("served"));
        let owner = |uid: &str, controller: bool| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": uid, "controller": controller});
        let with = |refs: Value| json!({"metadata": {"ownerReferences": refs}});
        assert!(object(cm, "c", &with(json!([owner("1", true), owner("2", false)]))).is_ok());
        let two = object(cm, "c", &with(json!([owner("1", true), owner("2", true)])));
        assert_eq!(two.map_err(|e| e.code), Err(422));
        let no_uid = object(cm, "c", &with(json!([owner("", true)])));
        assert!(no_uid.is_err_and(|e| e.message.contains("uid must not be empty")));
    }
}
