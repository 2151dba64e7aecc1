//! Patch bodies: which kind a `Content-Type` names, and applying one to a
//! stored object.
//!
//! - JSON merge patch (RFC 7386): exact.
//! - Strategic merge patch: refused with 415 for custom resources, as the
//!   real server does; for built-in kinds merged by `strategic` (lists by
//!   their patch merge key, `$patch` directives; order hints ignored).
//! - JSON patch (RFC 6902): exact, including `test`.
//! - Server-side apply: the body (JSON or YAML) is parsed here; merging,
//!   ownership and conflicts are `managed`'s, not a patch's.

use serde_json::Value;

use super::catalog::ResourceType;
use super::error::ApiError;
use super::strategic;

/// The patch types of the Kubernetes API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PatchKind {
    Merge,
    Strategic,
    Json,
    Apply,
}

impl PatchKind {
    /// The kind named by a `Content-Type` header; 415 otherwise.
    pub(crate) fn from_content_type(
        content_type: Option<&str>,
        custom: bool,
    ) -> Result<Self, ApiError> {
        let mime = content_type
            .and_then(|c| c.split(';').next())
            .map(str::trim)
            .unwrap_or("");
        let kind = match mime {
            "application/merge-patch+json" => PatchKind::Merge,
            "application/strategic-merge-patch+json" if !custom => PatchKind::Strategic,
            "application/json-patch+json" => PatchKind::Json,
            "application/apply-patch+yaml" => PatchKind::Apply,
            _ => {
                let accepted = if custom {
                    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
                } else {
                    "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml"
                };
                return Err(ApiError::unsupported_media_type(format!(
                    "the body of the request was in an unknown format - accepted media types include: {accepted}"
                )));
            }
        };
        Ok(kind)
    }

    /// Parses the request body of this kind of patch.
    pub(crate) fn parse(self, body: &[u8]) -> Result<Value, ApiError> {
        let parsed: Result<Value, String> = match self {
            PatchKind::Apply => serde_json::from_slice(body).or_else(|json_error| {
                let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
                serde_saphyr::from_str::<Value>(text)
                    .map_err(|yaml_error| format!("{json_error}; as YAML: {yaml_error}"))
            }),
            _ => serde_json::from_slice(body).map_err(|e| e.to_string()),
        };
        let patch =
            parsed.map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
        let shape_ok = match self {
            PatchKind::Json => patch.is_array(),
            _ => patch.is_object(),
        };
        if shape_ok {
            Ok(patch)
        } else {
            Err(ApiError::bad_request(match self {
                PatchKind::Json => "a JSON patch must be a list of operations",
                _ => "the patch must be a JSON object",
            }))
        }
    }

    /// Applies `patch` (as returned by `parse`) to `target`, an object of
    /// type `rt` (whose list types a strategic merge patch needs).
    pub(crate) fn apply(
        self,
        rt: &ResourceType,
        target: &mut Value,
        patch: &Value,
    ) -> Result<(), ApiError> {
        match self {
            PatchKind::Strategic => strategic::merge(rt, target, patch),
            // An apply is merged by `managed`; merged here (as a merge
            // patch) only for the `Scale` view.
            PatchKind::Merge | PatchKind::Apply => {
                json_patch::merge(target, patch);
                Ok(())
            }
            PatchKind::Json => {
                let operations: json_patch::Patch = serde_json::from_value(patch.clone())
                    .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
                json_patch::patch(target, &operations).map_err(|e| {
                    ApiError::unprocessable(format!(
                        "the server rejected our request due to an error in our request: {e}"
                    ))
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_types() {
        assert_eq!(
            PatchKind::from_content_type(Some("application/merge-patch+json"), true),
            Ok(PatchKind::Merge)
        );
        assert_eq!(
            PatchKind::from_content_type(Some("application/strategic-merge-patch+json"), true)
                .map_err(|e| e.code),
            Err(415)
        );
        assert_eq!(
            PatchKind::from_content_type(Some("application/strategic-merge-patch+json"), false),
            Ok(PatchKind::Strategic)
        );
        assert_eq!(
            PatchKind::from_content_type(None, false).map_err(|e| e.code),
            Err(415)
        );
    }

    #[test]
    fn merge_json_and_apply() {
        let catalog = crate::catalog::Catalog::new(&[]);
        let rt = catalog.get(catalog.find("", "v1", "configmaps").expect("served"));
        let mut obj = json!({"spec": {"a": 1, "b": [1, 2]}, "status": {"x": 1}});
        let merge = PatchKind::Merge
            .parse(br#"{"spec": {"a": null, "b": [3]}}"#)
            .expect("parses");
        PatchKind::Merge
            .apply(rt, &mut obj, &merge)
            .expect("applies");
        assert_eq!(obj["spec"], json!({"b": [3]}));

        let ops = PatchKind::Json
            .parse(br#"[{"op": "test", "path": "/status/x", "value": 1}, {"op": "replace", "path": "/status/x", "value": 2}]"#)
            .expect("parses");
        PatchKind::Json.apply(rt, &mut obj, &ops).expect("applies");
        assert_eq!(obj["status"]["x"], 2);
        let failing = PatchKind::Json
            .parse(br#"[{"op": "test", "path": "/status/x", "value": 9}]"#)
            .expect("parses");
        assert_eq!(
            PatchKind::Json
                .apply(rt, &mut obj, &failing)
                .map_err(|e| e.code),
            Err(422)
        );

        let yaml = PatchKind::Apply
            .parse(b"status:\n  y: two\n")
            .expect("YAML parses");
        PatchKind::Apply
            .apply(rt, &mut obj, &yaml)
            .expect("applies");
        assert_eq!(obj["status"], json!({"x": 2, "y": "two"}));
        assert_eq!(PatchKind::Merge.parse(b"[1]").map_err(|e| e.code), Err(400));
        assert_eq!(PatchKind::Merge.parse(b"{").map_err(|e| e.code), Err(400));
    }
}
