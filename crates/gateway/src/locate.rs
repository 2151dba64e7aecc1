//! Finding a request's namespace where the `seldon` CLI leaves it out
//! (docs/seldon-compat.md): the HTTP/2 authority it dials
//! (`--authority fraud.<suffix>`), and for calls that name only an
//! object, the namespaces whose scheduler holds an object of that name
//! (from the status bus, which mirrors every scheduler's state).

use std::collections::BTreeSet;

use http::uri::Authority;
use tonic::Status;

use super::names::{is_namespace, quoted};
use switchyard_core::bus::{Filter, StatusBus, StatusKind};

/// The `:authority` of a request, put in its extensions before tonic sees
/// it (tonic keeps no URI).
#[derive(Clone, Debug)]
pub struct RequestAuthority(pub Authority);

/// Copies a request's authority into its extensions.
pub fn keep_authority<B>(mut request: http::Request<B>) -> http::Request<B> {
    if let Some(authority) = request.uri().authority().cloned() {
        request.extensions_mut().insert(RequestAuthority(authority));
    }
    request
}

/// The namespace an authority `NS.<suffix>` (any port) names, if it has
/// that form.
pub fn authority_namespace(extensions: &http::Extensions, suffix: Option<&str>) -> Option<String> {
    let suffix = suffix?;
    let authority = extensions.get::<RequestAuthority>()?;
    let host = authority.0.host().to_ascii_lowercase();
    let prefix = host.strip_suffix(suffix)?.strip_suffix('.')?;
    is_namespace(prefix).then(|| prefix.to_owned())
}

/// A suffix as configured (`.seldon.example.com`, `seldon.example.com`):
/// lowercase, without leading dots; blank means none.
pub fn normalize_suffix(suffix: Option<&str>) -> Option<String> {
    let suffix = suffix?.trim().trim_start_matches('.').to_ascii_lowercase();
    (!suffix.is_empty()).then_some(suffix)
}

/// The namespaces whose scheduler currently holds a `kind` named `name`.
pub fn holders(bus: &StatusBus, kind: StatusKind, name: &str) -> Vec<String> {
    let filter = Filter {
        kind,
        namespace: None,
    };
    let found: BTreeSet<String> = bus
        .snapshot(&filter)
        .into_iter()
        .filter(|event| event.payload.name() == name && !event.payload.is_final())
        .map(|event| event.namespace.to_string())
        .collect();
    found.into_iter().collect()
}

/// INVALID_ARGUMENT for a name found in several namespaces.
pub fn ambiguous(kind: StatusKind, name: &str, namespaces: &[String]) -> Status {
    Status::invalid_argument(format!(
        "{} {} exists in {} namespaces ({}); name one with gRPC metadata `seldon-namespace` (or the authority NAMESPACE.<suffix>)",
        kind.as_str(),
        quoted(name),
        namespaces.len(),
        namespaces.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(authority: &str) -> http::Extensions {
        let mut extensions = http::Extensions::new();
        extensions.insert(RequestAuthority(authority.parse().unwrap()));
        extensions
    }

    #[test]
    fn the_authority_names_a_namespace_under_the_suffix_only() {
        let suffix = normalize_suffix(Some(".Seldon.Example.com"));
        let ns = |a: &str| authority_namespace(&with(a), suffix.as_deref());
        assert_eq!(
            ns("fraud.seldon.example.com:9004").as_deref(),
            Some("fraud")
        );
        assert_eq!(ns("FRAUD.seldon.example.com").as_deref(), Some("fraud"));
        assert_eq!(ns("seldon.example.com"), None);
        assert_eq!(ns("a.b.seldon.example.com"), None);
        assert_eq!(ns("fraud.other.com"), None);
        assert_eq!(ns("fraudseldon.example.com"), None);
        assert_eq!(authority_namespace(&with("fraud.x"), None), None);
        assert_eq!(normalize_suffix(Some("  ")), None);
    }
}
