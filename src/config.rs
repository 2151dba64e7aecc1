//! The config file (`switchyard run --config FILE`, TOML), parsed into
//! plain structs. Every field is optional: flags and built-in defaults fill
//! the gaps (see `config/switchyard.toml` for a documented example).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::registry::{ClientTls, RuntimeSpec, spec};

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub gateway: GatewayConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub scheduler: SchedulerConfig,
    /// Static runtimes: the schedulers to serve without Kubernetes.
    #[serde(default)]
    pub runtimes: Vec<StaticRuntime>,
    /// The operator side: discovery from Kubernetes, leader election.
    #[serde(default)]
    pub kubernetes: KubernetesSection,
}

/// The `[kubernetes]` section. Every field has a flag of the same name
/// (`--watch-namespaces`, ...) that wins over it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSection {
    /// Run the operator side: discover runtimes from SeldonRuntimes (the
    /// `[[runtimes]]` list is then ignored). Default false, so a config
    /// without a cluster keeps working.
    pub enabled: Option<bool>,
    /// Kubeconfig file; default: in-cluster config, else `$KUBECONFIG` or
    /// `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// Watch every namespace (unless `watch_namespaces` lists some).
    pub clusterwide: Option<bool>,
    /// Watch only these namespaces (plus `namespace`).
    #[serde(default)]
    pub watch_namespaces: Vec<String>,
    /// The operator's own namespace (the Lease lives there); default the
    /// `POD_NAMESPACE` environment variable.
    pub namespace: Option<String>,
    /// Elect a leader among replicas; false: this replica always leads.
    /// Default true.
    pub leader_elect: Option<bool>,
    /// Name of the Lease; default `switchyard-leader`.
    pub lease_name: Option<String>,
    /// Seconds a lease is valid after renewal; default 15.
    pub lease_duration_seconds: Option<u64>,
    /// Seconds the leader tries to renew before stepping down; default 10.
    pub renew_deadline_seconds: Option<u64>,
    /// Seconds between attempts to acquire or renew; default 2.
    pub retry_period_seconds: Option<u64>,
    /// Per-namespace scheduler addresses that win over
    /// `scheduler.address_template` (out-of-cluster runs against
    /// port-forwarded schedulers).
    #[serde(default)]
    pub scheduler_addresses: BTreeMap<String, String>,
}

/// The gateway endpoint.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address to serve the Seldon scheduler API on.
    pub listen: Option<SocketAddr>,
    /// Namespace for requests that name none (no `seldon-namespace`
    /// metadata, no `kubernetesMeta`). Unset: such requests are rejected.
    pub default_namespace: Option<String>,
    /// Serve TLS (mTLS with `client_ca`).
    pub tls: Option<ServerTls>,
}

/// TLS for the gateway endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTls {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// PEM CA; when set, clients must present a certificate it signed.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

/// The metrics and health endpoint.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address to serve `/metrics`, `/healthz` and `/readyz` on.
    pub listen: Option<SocketAddr>,
}

/// How to reach schedulers.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerConfig {
    /// Address of a namespace's scheduler, `{namespace}` substituted.
    /// Default `seldon-scheduler.{namespace}:9004` (`:9044` with TLS).
    pub address_template: Option<String>,
    /// TLS towards every scheduler unless a runtime says otherwise.
    pub tls: Option<ClientTls>,
}

/// A runtime listed in the file.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticRuntime {
    pub namespace: String,
    /// `host:port`; default from `scheduler.address_template`.
    pub address: Option<String>,
    /// TLS for this scheduler; default `scheduler.tls`.
    pub tls: Option<ClientTls>,
}

/// Errors reading the config file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("config file {path}: runtime #{index} has an empty namespace")]
    EmptyNamespace { path: PathBuf, index: usize },
    #[error("config file {path}: namespace {namespace:?} is listed twice under [[runtimes]]")]
    DuplicateNamespace { path: PathBuf, namespace: String },
}

impl FileConfig {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses `text` (read from `path`, named in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let config: FileConfig = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        let mut seen = std::collections::BTreeSet::new();
        for (index, rt) in config.runtimes.iter().enumerate() {
            if rt.namespace.trim().is_empty() {
                return Err(ConfigError::EmptyNamespace {
                    path: path.to_owned(),
                    index,
                });
            }
            if !seen.insert(rt.namespace.as_str()) {
                return Err(ConfigError::DuplicateNamespace {
                    path: path.to_owned(),
                    namespace: rt.namespace.clone(),
                });
            }
        }
        Ok(config)
    }

    /// The static runtimes, with addresses and TLS filled from defaults.
    pub fn runtime_specs(&self) -> Vec<RuntimeSpec> {
        let template = self
            .scheduler
            .address_template
            .clone()
            .unwrap_or_else(|| spec::default_template(self.scheduler.tls.is_some()));
        self.runtimes
            .iter()
            .map(|rt| RuntimeSpec {
                namespace: rt.namespace.clone(),
                address: rt
                    .address
                    .clone()
                    .unwrap_or_else(|| spec::address_from_template(&template, &rt.namespace)),
                tls: rt.tls.clone().or_else(|| self.scheduler.tls.clone()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_take_defaults_from_the_scheduler_section() {
        let text = r#"
            [scheduler]
            address_template = "127.0.0.1:{namespace}"
            [[runtimes]]
            namespace = "9001"
            [[runtimes]]
            namespace = "b"
            address = "10.0.0.1:9004"
        "#;
        let config = FileConfig::parse(Path::new("t.toml"), text).unwrap();
        let specs = config.runtime_specs();
        assert_eq!(specs[0].address, "127.0.0.1:9001");
        assert_eq!(specs[1].address, "10.0.0.1:9004");
        assert!(specs.iter().all(|s| s.tls.is_none()));
    }

    #[test]
    fn default_template_is_seldons_service() {
        let config =
            FileConfig::parse(Path::new("t.toml"), "[[runtimes]]\nnamespace = \"a\"").unwrap();
        assert_eq!(config.runtime_specs()[0].address, "seldon-scheduler.a:9004");
    }

    #[test]
    fn errors_name_the_problem() {
        let err = FileConfig::parse(Path::new("t.toml"), "[gateway]\nlisen = 1").unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
        let err = FileConfig::parse(
            Path::new("t.toml"),
            "[[runtimes]]\nnamespace = \"a\"\n[[runtimes]]\nnamespace = \"a\"",
        )
        .unwrap_err();
        assert!(err.to_string().contains("\"a\" is listed twice"), "{err}");
        let err =
            FileConfig::parse(Path::new("t.toml"), "[[runtimes]]\nnamespace = \"\"").unwrap_err();
        assert!(err.to_string().contains("runtime #0"), "{err}");
    }
}

#[cfg(test)]
mod example {
    use super::*;

    /// The documented example must stay valid.
    #[test]
    fn the_example_config_parses() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/switchyard.toml"
        ));
        let config = FileConfig::load(path).expect("config/switchyard.toml parses");
        assert_eq!(config.runtimes.len(), 2);
        assert_eq!(config.runtime_specs()[0].address, "127.0.0.1:19004");
        assert_eq!(config.kubernetes.enabled, Some(false));
        assert_eq!(
            config.kubernetes.lease_name.as_deref(),
            Some("switchyard-leader")
        );
    }
}
