//! `switchyard_tls_certificate_expiry_timestamp_seconds`: when the
//! certificates switchyard serves and dials with stop being valid, read
//! from their PEM files each time `/metrics` is scraped (so a rotated file
//! shows its new date). The app registers the files it is configured with
//! ([`watch`]); a file that cannot be read or parsed exports nothing (the
//! gateway and the pool report that error where they load it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use parking_lot::RwLock;
use switchyard_core::metrics as m;
use switchyard_core::registry::ClientTls;

use crate::config::GatewayConfig;
use x509_parser::pem::Pem;

/// What a certificate file is for: the value of the `certificate` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// The gateway's serving certificate.
    Gateway,
    /// The CA the gateway checks client certificates against.
    GatewayClientCa,
    /// The CA schedulers' certificates are checked against.
    SchedulerCa,
    /// switchyard's client certificate towards schedulers.
    SchedulerClient,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Gateway => "gateway",
            Role::GatewayClientCa => "gateway_client_ca",
            Role::SchedulerCa => "scheduler_ca",
            Role::SchedulerClient => "scheduler_client",
        }
    }
}

/// The files of each role.
static WATCHED: RwLock<BTreeMap<Role, Vec<PathBuf>>> = RwLock::new(BTreeMap::new());

/// Reports the expiry of the certificates in `path` as `role`'s.
pub fn watch(role: Role, path: &Path) {
    let mut watched = WATCHED.write();
    let files = watched.entry(role).or_default();
    if !files.iter().any(|f| f == path) {
        files.push(path.to_owned());
    }
}

/// Reports the certificate files of the gateway's TLS and of `schedulers`
/// (the TLS settings towards schedulers).
pub fn watch_config(gateway: &GatewayConfig, schedulers: &[ClientTls]) {
    if let Some(tls) = &gateway.tls {
        watch(Role::Gateway, &tls.cert);
        if let Some(ca) = &tls.client_ca {
            watch(Role::GatewayClientCa, ca);
        }
    }
    for tls in schedulers {
        watch(Role::SchedulerCa, &tls.ca);
        if let Some(cert) = &tls.cert {
            watch(Role::SchedulerClient, cert);
        }
    }
}

/// The earliest `notAfter` (seconds since the epoch) of the certificates
/// in the PEM text `pem`; `None` without one.
pub fn earliest_expiry(pem: &[u8]) -> Option<i64> {
    Pem::iter_from_buffer(pem)
        .filter_map(Result::ok)
        .filter(|block| block.label == "CERTIFICATE")
        .filter_map(|block| {
            let cert = block.parse_x509().ok()?;
            Some(cert.validity().not_after.timestamp())
        })
        .min()
}

/// Appends the metric for every watched role to `text`.
pub(super) fn render(text: &mut String) {
    let watched = WATCHED.read();
    let samples: Vec<(Role, i64)> = watched
        .iter()
        .filter_map(|(role, files)| {
            let earliest = files
                .iter()
                .filter_map(|f| std::fs::read(f).ok())
                .filter_map(|pem| earliest_expiry(&pem))
                .min()?;
            Some((*role, earliest))
        })
        .collect();
    drop(watched);
    if samples.is_empty() {
        return;
    }
    let Some(def) = m::find(m::TLS_CERTIFICATE_EXPIRY) else {
        return;
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    let name = def.name;
    let _ = write!(
        text,
        "# HELP {name} {}\n# TYPE {name} {}\n",
        def.help,
        def.kind.as_str()
    );
    for (role, expiry) in samples {
        let _ = writeln!(text, "{name}{{certificate=\"{}\"}} {expiry}", role.as_str());
    }
    text.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_not_after_of_a_chain_is_reported() {
        let cert = |days: i64| {
            let mut params = rcgen::CertificateParams::new(vec!["switchyard".into()]).unwrap();
            params.not_after = rcgen::date_time_ymd(2030, 1, 1)
                + std::time::Duration::from_secs(days as u64 * 86_400);
            let key = rcgen::KeyPair::generate().unwrap();
            params.self_signed(&key).unwrap().pem()
        };
        let chain = format!("{}{}", cert(10), cert(3));
        // 2030-01-01T00:00:00Z is 1893456000.
        assert_eq!(
            earliest_expiry(chain.as_bytes()),
            Some(1_893_456_000 + 3 * 86_400)
        );
        assert_eq!(earliest_expiry(b"not a certificate"), None);
    }

    #[test]
    fn watched_files_are_rendered_with_their_role() {
        let dir = std::env::temp_dir().join(format!("switchyard-certs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["gw".into()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2031, 6, 1);
        let path = dir.join("gateway.pem");
        std::fs::write(&path, params.self_signed(&key).unwrap().pem()).unwrap();
        watch(Role::Gateway, &path);
        watch(Role::Gateway, &path);
        let mut text = String::new();
        render(&mut text);
        std::fs::remove_dir_all(&dir).ok();
        assert!(
            text.contains(
                "switchyard_tls_certificate_expiry_timestamp_seconds{certificate=\"gateway\"} 1938038400\n"
            ),
            "{text}"
        );
        assert_eq!(text.matches("certificate=\"gateway\"").count(), 1, "{text}");
    }
}
