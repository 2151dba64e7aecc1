//! The command line's share of the `[scheduler]` section. The file's
//! `[scheduler]` and `[[runtimes]]` are re-read while running, and these
//! are laid over every fresh read, so a flag keeps winning after a reload.

use std::path::PathBuf;

use super::{ConfigError, SchedulerConfig, catalogue};
use switchyard_core::registry::ClientTls;

/// Flags (or variables) over `[scheduler]`; `None`: keep the file's value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchedulerOverrides {
    pub address_template: Option<String>,
    pub tls_ca: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_server_name: Option<String>,
}

impl SchedulerOverrides {
    /// Lays these over `section`. A TLS flag without a CA anywhere is an
    /// error naming `scheduler.tls.ca`.
    pub fn apply(&self, section: &mut SchedulerConfig) -> Result<(), ConfigError> {
        let SchedulerOverrides {
            address_template,
            tls_ca,
            tls_cert,
            tls_key,
            tls_server_name,
        } = self;
        if let Some(template) = address_template {
            section.address_template = Some(template.clone());
        }
        let any_tls = tls_ca.is_some()
            || tls_cert.is_some()
            || tls_key.is_some()
            || tls_server_name.is_some();
        if !any_tls {
            return Ok(());
        }
        let ca = tls_ca
            .clone()
            .or_else(|| section.tls.as_ref().map(|t| t.ca.clone()))
            .ok_or_else(|| ConfigError::Invalid {
                setting: catalogue::describe("scheduler.tls.ca"),
                problem: "scheduler TLS settings were given without the CA that signed the scheduler's certificate".into(),
            })?;
        let tls = section.tls.get_or_insert_with(ClientTls::default);
        tls.ca = ca;
        if tls_cert.is_some() {
            tls.cert = tls_cert.clone();
        }
        if tls_key.is_some() {
            tls.key = tls_key.clone();
        }
        if tls_server_name.is_some() {
            tls.server_name = tls_server_name.clone();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_field_by_field_and_a_ca_is_required() {
        let mut section = SchedulerConfig {
            address_template: Some("file:{namespace}".into()),
            tls: Some(ClientTls {
                ca: "/file/ca".into(),
                server_name: Some("file".into()),
                ..Default::default()
            }),
        };
        SchedulerOverrides {
            tls_server_name: Some("flag".into()),
            ..Default::default()
        }
        .apply(&mut section)
        .unwrap();
        let tls = section.tls.as_ref().unwrap();
        assert_eq!(tls.ca, PathBuf::from("/file/ca"));
        assert_eq!(tls.server_name.as_deref(), Some("flag"));
        assert_eq!(
            section.address_template.as_deref(),
            Some("file:{namespace}")
        );

        let err = SchedulerOverrides {
            tls_cert: Some("/c".into()),
            ..Default::default()
        }
        .apply(&mut SchedulerConfig::default())
        .unwrap_err()
        .to_string();
        assert!(err.contains("--scheduler-tls-ca"), "{err}");
    }
}
