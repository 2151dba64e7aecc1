//! Field validation (`fieldValidation=Strict|Warn|Ignore`), as the real
//! server applies it to a write's body against the kind's OpenAPI schema:
//! `Strict` refuses undeclared fields, worded per verb as the server words
//! them (a create or update cannot be decoded, 400; a patch is invalid,
//! 422; a server-side apply cannot build its typed patch, 400); `Warn`
//! accepts them with one `Warning` header each. Without the parameter
//! nothing is checked (the real server defaults to `Warn`; the double
//! skips the work, so clients that never ask pay nothing). JSON patches
//! and scale bodies are not checked.

use hyper::Response;
use hyper::header::{HeaderValue, WARNING};
use serde_json::Value;

use super::catalog::ResourceType;
use super::error::ApiError;
use super::patch::PatchKind;
use super::shared::Shared;

/// What a write's body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Body {
    /// A whole object (create, update).
    Object,
    Patch(PatchKind),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Directive {
    Ignore,
    Warn,
    Strict,
}

fn directive(value: Option<&str>) -> Result<Option<Directive>, ApiError> {
    match value {
        None | Some("") => Ok(None),
        Some("Ignore") => Ok(Some(Directive::Ignore)),
        Some("Warn") => Ok(Some(Directive::Warn)),
        Some("Strict") => Ok(Some(Directive::Strict)),
        Some(other) => Err(ApiError::bad_request(format!(
            "fieldValidation: Unsupported value: {other:?}: supported values: \"Ignore\", \"Strict\", \"Warn\""
        ))),
    }
}

/// Checks `body` as `fieldValidation` asks; the warnings to send.
pub(crate) fn check(
    shared: &Shared,
    rt: &ResourceType,
    name: &str,
    field_validation: Option<&str>,
    kind: Body,
    body: &Value,
) -> Result<Vec<String>, ApiError> {
    let directive = directive(field_validation)?;
    if matches!(directive, None | Some(Directive::Ignore)) || kind == Body::Patch(PatchKind::Json) {
        return Ok(Vec::new());
    }
    let unknown = shared.openapi().unknown_fields(rt, body);
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    let listed = unknown
        .iter()
        .map(|f| format!("unknown field {f:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if directive == Some(Directive::Warn) {
        return Ok(unknown
            .iter()
            .map(|f| format!("unknown field {f:?}"))
            .collect());
    }
    Err(match kind {
        Body::Object => ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {listed}",
            kind = rt.kind,
            version = rt.version,
        )),
        Body::Patch(PatchKind::Apply) => ApiError::bad_request(format!(
            "failed to create typed patch object ({}, Kind={}): .{}: field not declared in schema",
            rt.api_version(),
            rt.kind,
            unknown[0]
        )),
        Body::Patch(_) => ApiError::invalid(
            rt,
            name,
            "patch",
            &format!(
                "Invalid value: {:?}: strict decoding error: {listed}",
                body.to_string()
            ),
        ),
    })
}

/// Adds one `Warning: 299 - "..."` header per warning.
pub(crate) fn warn<B>(mut response: Response<B>, warnings: &[String]) -> Response<B> {
    for warning in warnings {
        let text = format!("299 - {:?}", warning);
        if let Ok(value) = HeaderValue::from_str(&text) {
            response.headers_mut().append(WARNING, value);
        }
    }
    response
}
