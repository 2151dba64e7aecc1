//! Credentials parsing and the messages a refused caller reads.

use crate::access::*;

fn cert(cn: &str) -> CertificateIdentity {
    CertificateIdentity {
        common_name: cn.into(),
        organizations: vec!["team-a".into()],
    }
}

#[test]
fn credentials_take_the_certificate_first_then_a_bearer_token() {
    assert_eq!(
        Credentials::from_parts(Some("Bearer abc"), Some(cert("alice"))),
        Credentials::Certificate(cert("alice"))
    );
    assert_eq!(
        Credentials::from_parts(Some("bearer  abc "), None),
        Credentials::Bearer("abc".into())
    );
    for header in ["Basic abc", "Bearer", "Bearer  ", "abc"] {
        assert_eq!(
            Credentials::from_parts(Some(header), None),
            Credentials::None,
            "{header}"
        );
    }
    assert_eq!(Credentials::from_parts(None, None), Credentials::None);
    let shown = format!("{:?}", Credentials::Bearer("secret-token".into()));
    assert!(!shown.contains("secret-token"), "{shown}");
}

#[test]
fn a_certificate_identity_is_user_and_groups() {
    let id = Identity::from(cert("alice"));
    assert_eq!(id.user, "alice");
    assert_eq!(id.groups, ["team-a"]);
    assert_eq!(id.method, Method::Certificate);
}

#[test]
fn unauthenticated_says_what_is_accepted() {
    let both = Accepted {
        bearer_token: true,
        client_certificate: true,
    };
    let missing = AuthenticationError::Missing { accepted: both }.to_string();
    assert!(
        missing.contains("bearer token") && missing.contains("client certificate"),
        "{missing}"
    );
    let tokens_only = Accepted {
        bearer_token: true,
        client_certificate: false,
    };
    let rejected = AuthenticationError::Rejected {
        method: "token",
        reason: "token expired".into(),
        accepted: tokens_only,
    }
    .to_string();
    assert!(
        rejected.contains("token expired") && !rejected.contains("certificate"),
        "{rejected}"
    );
}

#[test]
fn a_denial_names_user_verb_resource_and_namespace() {
    let denied = Denied {
        user: "system:serviceaccount:a:ci".into(),
        verb: Verb::Delete.as_str(),
        resource: Resource::Models,
        namespace: "b".into(),
        reason: String::new(),
    };
    assert_eq!(
        denied.to_string(),
        "system:serviceaccount:a:ci may not delete models.mlops.seldon.io in namespace \"b\""
    );
}

#[test]
fn verbs_and_resources_parse_what_they_print() {
    for verb in Verb::ALL {
        assert_eq!(Verb::parse(verb.as_str()), Some(verb));
    }
    for resource in Resource::ALL {
        assert_eq!(Resource::parse(resource.as_str()), Some(resource));
    }
    assert_eq!(Verb::parse("patch"), None);
}
