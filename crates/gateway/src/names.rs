//! Kubernetes' name rules, checked at the edge before anything is
//! forwarded, and the one way client input is quoted in error messages.
//!
//! Every object a Seldon scheduler knows is a Kubernetes object first: its
//! namespace is an RFC 1123 label (at most 63 characters) and its name an
//! RFC 1123 subdomain (at most 253), as the API server requires of Models,
//! Pipelines, Experiments and Servers. A name outside those rules can only
//! come from a client talking to the gateway directly, and a scheduler
//! echoes names in its errors, so unbounded names travel no further.
//! Replica counts are `int32` in Seldon's CRDs (a maximum may also be
//! Seldon's "no maximum", uint32 max).

use std::fmt::Display;

use tonic::Status;

/// Characters of client input an error message shows at most.
pub const QUOTE_CHARS: usize = 64;

/// Longest namespace (RFC 1123 label).
pub const MAX_LABEL: usize = 63;
/// Longest object name (RFC 1123 subdomain).
pub const MAX_SUBDOMAIN: usize = 253;

/// `input` for an error message: its first [`QUOTE_CHARS`] characters,
/// escaped, quoted, and its length when cut.
pub fn quoted(input: &str) -> String {
    let mut chars = input.chars();
    let shown: String = chars.by_ref().take(QUOTE_CHARS).collect();
    if chars.next().is_none() {
        return format!("\"{}\"", shown.escape_debug());
    }
    format!("\"{}\"… ({} bytes)", shown.escape_debug(), input.len())
}

fn alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_LABEL
        && alnum(b[0])
        && alnum(b[b.len() - 1])
        && b.iter().all(|&c| alnum(c) || c == b'-')
}

/// Whether `s` is an RFC 1123 label (a namespace name).
pub fn is_namespace(s: &str) -> bool {
    is_label(s)
}

/// Whether `s` is an RFC 1123 subdomain (an object name).
pub fn is_object_name(s: &str) -> bool {
    s.len() <= MAX_SUBDOMAIN
        && s.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && alnum(b[0])
                && alnum(b[b.len() - 1])
                && b.iter().all(|&c| alnum(c) || c == b'-')
        })
}

/// Why `value` is not a namespace name (Kubernetes' wording).
pub fn namespace_error(field: impl Display, value: &str) -> String {
    format!(
        "{field} {} is not a valid namespace name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', start and end with an alphanumeric character, and be at most {MAX_LABEL} characters",
        quoted(value)
    )
}

/// INVALID_ARGUMENT unless `value` is a valid object name.
pub fn object_name(field: impl Display, value: &str) -> Result<(), Status> {
    if is_object_name(value) {
        return Ok(());
    }
    Err(Status::invalid_argument(format!(
        "{field} {} is not a valid name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', start and end with an alphanumeric character, and be at most {MAX_SUBDOMAIN} characters",
        quoted(value)
    )))
}

/// INVALID_ARGUMENT unless `value` (when not empty) is a valid namespace.
pub fn namespace(field: impl Display, value: &str) -> Result<(), Status> {
    if value.is_empty() || is_namespace(value) {
        return Ok(());
    }
    Err(Status::invalid_argument(namespace_error(field, value)))
}

/// INVALID_ARGUMENT unless `value` fits the CRDs' `int32` replica fields.
pub fn replicas(field: impl Display, value: u32) -> Result<(), Status> {
    if i32::try_from(value).is_ok() {
        return Ok(());
    }
    Err(Status::invalid_argument(format!(
        "{field} is {value}, more than {} (replicas are int32 in Seldon's CRDs)",
        i32::MAX
    )))
}

/// Seldon's "no maximum" (`maxReplicas` unset is sent as uint32 max).
pub const UNBOUNDED_REPLICAS: u32 = u32::MAX;

/// INVALID_ARGUMENT unless `value` is a maximum the CRDs allow: an `int32`,
/// or Seldon's "no maximum".
pub fn max_replicas(field: impl Display, value: u32) -> Result<(), Status> {
    if value == UNBOUNDED_REPLICAS {
        return Ok(());
    }
    replicas(field, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_subdomains_follow_kubernetes() {
        for ok in ["a", "team-a", "a1", &"x".repeat(63)] {
            assert!(is_namespace(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a.b", "a_b", &"x".repeat(64), "é"] {
            assert!(!is_namespace(bad), "{bad}");
        }
        for ok in ["iris", "iris.v2", "a-b.c-d", &"x".repeat(253)] {
            assert!(is_object_name(ok), "{ok}");
        }
        for bad in ["", ".a", "a.", "a..b", "Iris", "a_b", &"x".repeat(254)] {
            assert!(!is_object_name(bad), "{bad}");
        }
    }

    #[test]
    fn quotes_are_short_and_escaped() {
        assert_eq!(quoted("iris"), "\"iris\"");
        assert_eq!(quoted("a\"\n"), "\"a\\\"\\n\"");
        let long = "y".repeat(1 << 20);
        let q = quoted(&long);
        assert!(q.len() < 100, "{q}");
        assert!(q.ends_with("(1048576 bytes)"), "{q}");
    }

    #[test]
    fn errors_name_the_field() {
        let err = object_name("model.meta.name", "Bad_Name").unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert!(
            err.message().starts_with("model.meta.name \"Bad_Name\""),
            "{}",
            err.message()
        );
        assert!(replicas("r", u32::MAX).is_err());
        assert!(replicas("r", i32::MAX as u32).is_ok());
        assert!(max_replicas("r", u32::MAX).is_ok());
        assert!(max_replicas("r", u32::MAX - 1).is_err());
        assert!(namespace("ns", "").is_ok());
        assert!(namespace("ns", "Team").is_err());
    }
}
