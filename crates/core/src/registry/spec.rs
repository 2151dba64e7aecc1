//! How to reach one namespace's scheduler.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Seldon's scheduler port without TLS (a contract of Seldon's Helm charts).
pub const SCHEDULER_PORT: u16 = 9004;
/// Seldon's scheduler port with mTLS.
pub const SCHEDULER_TLS_PORT: u16 = 9044;

/// One namespace's scheduler: where it is and how to talk to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeSpec {
    /// The namespace the scheduler serves.
    pub namespace: String,
    /// `host:port` of its gRPC endpoint.
    pub address: String,
    /// TLS settings; `None` for plaintext.
    pub tls: Option<ClientTls>,
}

/// TLS (or mTLS, with a client certificate) towards a scheduler.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTls {
    /// PEM file of the CA that signed the scheduler's certificate.
    pub ca: PathBuf,
    /// PEM client certificate, for mTLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    /// PEM private key of `cert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// Name to verify the scheduler's certificate against; defaults to the
    /// address's host (Seldon's certificates carry `seldon-scheduler.<ns>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
}

/// Builds a scheduler address from a template such as
/// `seldon-scheduler.{namespace}:9004`.
pub fn address_from_template(template: &str, namespace: &str) -> String {
    template.replace("{namespace}", namespace)
}

/// The default address template: Seldon's scheduler Service in the
/// namespace, on the plaintext or TLS port.
pub fn default_template(tls: bool) -> String {
    let port = if tls {
        SCHEDULER_TLS_PORT
    } else {
        SCHEDULER_PORT
    };
    format!("seldon-scheduler.{{namespace}}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_follow_seldon_conventions() {
        assert_eq!(
            address_from_template(&default_template(false), "team-a"),
            "seldon-scheduler.team-a:9004"
        );
        assert_eq!(
            address_from_template(&default_template(true), "team-a"),
            "seldon-scheduler.team-a:9044"
        );
        assert_eq!(
            address_from_template("127.0.0.1:7000", "x"),
            "127.0.0.1:7000"
        );
    }
}
