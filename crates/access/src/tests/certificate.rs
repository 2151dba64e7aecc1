//! Client certificates made with rcgen, read as Kubernetes reads them.

use crate::{CertificateError, identity_from_der};
use rcgen::{CertificateParams, DnType, KeyPair};
use switchyard_core::access::{Credentials, Identity, Method};

/// The OID of the subject's organization (O), for a second O entry.
const ORGANIZATION: [u64; 4] = [2, 5, 4, 10];

/// A self-signed certificate's DER with these subject entries.
pub(super) fn certificate(entries: &[(DnType, &str)]) -> Vec<u8> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    for (kind, value) in entries {
        params.distinguished_name.push(kind.clone(), *value);
    }
    let key = KeyPair::generate().expect("key");
    params.self_signed(&key).expect("signed").der().to_vec()
}

#[test]
fn common_name_is_the_user_and_organizations_the_groups() {
    let der = certificate(&[
        (DnType::CommonName, "team-a-ci"),
        (DnType::OrganizationName, "team-a"),
        (DnType::CustomDnType(ORGANIZATION.to_vec()), "deployers"),
        (DnType::OrganizationalUnitName, "ignored"),
    ]);
    let cert = identity_from_der(&der).expect("an identity");
    assert_eq!(cert.common_name, "team-a-ci");
    assert_eq!(cert.organizations, ["team-a", "deployers"]);
    let identity = Identity::from(cert.clone());
    assert_eq!(identity.user, "team-a-ci");
    assert_eq!(identity.groups, ["team-a", "deployers"]);
    assert_eq!(identity.method, Method::Certificate);
    assert_eq!(
        Credentials::from_parts(Some("Bearer t"), Some(cert.clone())),
        Credentials::Certificate(cert)
    );
}

#[test]
fn a_certificate_without_one_common_name_names_no_user() {
    let none = certificate(&[(DnType::OrganizationName, "team-a")]);
    assert_eq!(
        identity_from_der(&none),
        Err(CertificateError::NoCommonName)
    );
    let empty = certificate(&[(DnType::CommonName, " ")]);
    assert_eq!(
        identity_from_der(&empty),
        Err(CertificateError::NoCommonName)
    );
    let two = certificate(&[
        (DnType::CommonName, "alice"),
        (DnType::CustomDnType(vec![2, 5, 4, 3]), "bob"),
    ]);
    assert_eq!(
        identity_from_der(&two),
        Err(CertificateError::SeveralCommonNames(2))
    );
}

#[test]
fn bytes_that_are_no_certificate_are_refused_with_a_reason() {
    let err = identity_from_der(b"not a certificate").expect_err("refused");
    assert!(matches!(err, CertificateError::Malformed(_)), "{err:?}");
    assert!(err.to_string().contains("not a valid X.509"), "{err}");
}
