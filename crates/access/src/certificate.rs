//! A client certificate's identity, read the way the Kubernetes API
//! server reads it: the subject's common name is the user, its
//! organizations are the groups. In: the DER of the peer's leaf
//! certificate, which the gateway's TLS already verified against its
//! client CA (this module checks no signature). Out: a
//! [`CertificateIdentity`] for [`Credentials::Certificate`].
//!
//! [`Credentials::Certificate`]: switchyard_core::access::Credentials::Certificate

use switchyard_core::access::CertificateIdentity;
use x509_parser::prelude::{FromDer, X509Certificate};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("the client certificate is not a valid X.509 certificate: {0}")]
    Malformed(String),
    #[error("the client certificate's subject has no common name (CN): it names no user")]
    NoCommonName,
    #[error(
        "the client certificate's subject has {0} common names (CN): it must name exactly one user"
    )]
    SeveralCommonNames(usize),
    #[error("the client certificate's subject {0} is not UTF-8 text")]
    NotText(&'static str),
}

/// The identity stated by the DER-encoded certificate `der`.
pub fn identity_from_der(der: &[u8]) -> Result<CertificateIdentity, CertificateError> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| CertificateError::Malformed(e.to_string()))?;
    let subject = cert.subject();
    let names = subject
        .iter_common_name()
        .map(|cn| {
            cn.as_str()
                .map_err(|_| CertificateError::NotText("common name"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let common_name = match names.as_slice() {
        [] => return Err(CertificateError::NoCommonName),
        [name] if name.trim().is_empty() => return Err(CertificateError::NoCommonName),
        [name] => (*name).to_owned(),
        several => return Err(CertificateError::SeveralCommonNames(several.len())),
    };
    let organizations = subject
        .iter_organization()
        .map(|o| {
            o.as_str()
                .map(str::to_owned)
                .map_err(|_| CertificateError::NotText("organization"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CertificateIdentity {
        common_name,
        organizations,
    })
}
