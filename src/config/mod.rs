//! The configuration of `switchyard run`: one schema ([`FileConfig`]) for
//! the TOML file, the command line and `--print-config`. The file is read
//! into it, flags and `SWITCHYARD_*` variables are laid over it
//! (`cli::run`), [`FileConfig::with_defaults`] fills what is still unset,
//! and the result, printed, is itself a valid file. [`catalogue`] lists
//! every option with its flag, variable and default; `config/switchyard.toml`
//! documents them all (a test keeps the three in step).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use switchyard_core::registry::{ClientTls, RuntimeSpec, spec};

mod auth;
pub mod catalogue;
mod defaults;
mod overrides;

pub use auth::{AuthLimits, AuthSection, parse_mode};
pub use defaults::*;
pub use overrides::SchedulerOverrides;

/// The whole file.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Seconds between checks of the file for changes to `[[runtimes]]`
    /// and `[scheduler]` (applied with no restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtimes_poll_seconds: Option<u64>,
    #[serde(default)]
    pub gateway: GatewayConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub pool: PoolConfig,
    #[serde(default)]
    pub scheduler: SchedulerConfig,
    /// Static runtimes: the schedulers to serve without Kubernetes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtimes: Vec<StaticRuntime>,
    /// The operator side: discovery from Kubernetes, leader election.
    #[serde(default)]
    pub kubernetes: KubernetesSection,
}

/// The `[kubernetes]` section.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSection {
    /// Run the operator side: discover runtimes from SeldonRuntimes (the
    /// `[[runtimes]]` list is then ignored). Default false, so a config
    /// without a cluster keeps working.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Kubeconfig file; default: in-cluster config, else `$KUBECONFIG` or
    /// `~/.kube/config`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<PathBuf>,
    /// Watch every namespace (unless `watch_namespaces` lists some).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clusterwide: Option<bool>,
    /// Watch only these namespaces (plus `namespace`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watch_namespaces: Vec<String>,
    /// The operator's own namespace (the Lease lives there); default the
    /// `POD_NAMESPACE` environment variable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Where ServerConfigs and SeldonConfigs are read; default `namespace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub templates_namespace: Option<String>,
    /// Run Servers as Deployments instead of StatefulSets; default false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_deployments_for_servers: Option<bool>,
    /// Elect a leader among replicas; false: this replica always leads.
    /// Default true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_elect: Option<bool>,
    /// Name of the Lease; default `switchyard-leader`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_name: Option<String>,
    /// Seconds a lease is valid after renewal; default 15.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_duration_seconds: Option<u64>,
    /// Seconds the leader tries to renew before stepping down; default 10.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renew_deadline_seconds: Option<u64>,
    /// Seconds between attempts to acquire or renew; default 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_period_seconds: Option<u64>,
    /// Wait while Seldon's own operator is active; default true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seldon_operator_guard: Option<bool>,
    /// Reconciles each controller (Model, Pipeline, Experiment, Server)
    /// runs at once; default 16.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconcile_concurrency: Option<u16>,
    /// Concurrent status writes per kind (Model, Pipeline, Experiment,
    /// Server); default 4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_workers: Option<u16>,
    /// Seconds between checks of whether a deleted SeldonRuntime's
    /// namespace is empty, so its finalizer may go; default 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finalizer_recheck_seconds: Option<u64>,
    /// Per-namespace scheduler addresses that win over
    /// `scheduler.address_template` (out-of-cluster runs against
    /// port-forwarded schedulers).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scheduler_addresses: BTreeMap<String, String>,
}

/// The gateway endpoint.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address to serve the Seldon scheduler API on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// Namespace for requests that name none (no `seldon-namespace`
    /// metadata, no `kubernetesMeta`). Unset: such requests are rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_namespace: Option<String>,
    /// Requests dialled as `NAMESPACE.<suffix>` (the `seldon` CLI's
    /// `--authority`) are for that namespace unless `seldon-namespace`
    /// metadata says otherwise. Unset: authorities are not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_suffix: Option<String>,
    /// Seconds a routed unary call waits for its scheduler (unless the
    /// client's `grpc-timeout` is shorter); default 30.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_timeout_seconds: Option<u64>,
    /// Connections open at once on the gateway's port; past it, new clients wait in the kernel's backlog until one closes (the accept loop never spins). Default 4096.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u64>,
    /// Streams one connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); gRPC clients queue further calls. Default 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrent_streams: Option<u32>,
    /// Requests and streams in flight on the whole gateway; past it, calls get RESOURCE_EXHAUSTED. Default 1024.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrent_requests: Option<u64>,
    /// Largest request message; bigger ones get RESOURCE_EXHAUSTED. Default 16777216.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_request_bytes: Option<u64>,
    /// Bytes of request messages all calls may hold at once while they are read and decoded; past it, calls get RESOURCE_EXHAUSTED. Default 67108864.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_inflight_request_bytes: Option<u64>,
    /// Entries of repeated and map fields in one request, counted before it is decoded; more get RESOURCE_EXHAUSTED. Default 10000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_repeated_entries: Option<u64>,
    /// Status objects (keys) one subscriber of the status bus may have waiting to be sent; past it, its queue is dropped and it re-reads the current state. Default 16384.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscriber_max_pending_keys: Option<u64>,
    /// Bytes of pending state one subscriber may hold (names of waiting keys and their slots; payloads are shared); past it, as with the keys. Default 16777216.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscriber_max_pending_bytes: Option<u64>,
    /// Seconds from accepting a connection to its first request (TLS handshake, HTTP/2 preface, headers); then it is closed. Default 10.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handshake_timeout_seconds: Option<u64>,
    /// Seconds a connection with no call in flight stays open (an open subscription is a call in flight). Default 300.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout_seconds: Option<u64>,
    /// Seconds a client has, after a request's headers, to send its message; then the call ends with DEADLINE_EXCEEDED. Default 10.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_read_timeout_seconds: Option<u64>,
    /// With the operator side: namespaces (`*`: all) where a direct write
    /// of an object with no custom resource is refused. A direct write of
    /// an object with one is refused everywhere. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refuse_direct_writes: Vec<String>,
    /// Serve TLS (mTLS with `client_ca`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<ServerTls>,
    /// Who may call (`[gateway.auth]`).
    #[serde(default)]
    pub auth: AuthSection,
}

/// TLS for the gateway endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTls {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// PEM CA; when set, clients must present a certificate it signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<PathBuf>,
}

/// The metrics and health endpoint.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address to serve `/metrics`, `/healthz` and `/readyz` on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// Connections open at once on the admin port; past it, new ones wait in the kernel's backlog until one closes. Default 256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u64>,
    /// Seconds from accepting a connection to its first bytes; then it is closed. Default 10.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handshake_timeout_seconds: Option<u64>,
    /// Seconds a connection may go without sending anything; then it is closed. Default 60.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout_seconds: Option<u64>,
}

/// The `[log]` section: what is logged, and how.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing `EnvFilter` directive (`info`, `switchyard=debug,kube=warn`);
    /// unset: `RUST_LOG`, else `info`. Changeable while running on the
    /// admin port's `/log-level`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// `plain` (text, colour on a terminal) or `json` (one object per line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<crate::telemetry::logs::LogFormat>,
}

/// The `[pool]` section: the connections to each namespace's scheduler.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// Connections per runtime, the first (the streams') included; more
    /// than one only while many unary calls are in flight. Default 4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections_per_runtime: Option<u16>,
}

/// How to reach schedulers.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerConfig {
    /// Address of a namespace's scheduler, `{namespace}` substituted.
    /// Default `seldon-scheduler.{namespace}:9004` (`:9044` with TLS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_template: Option<String>,
    /// TLS towards every scheduler unless a runtime says otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<ClientTls>,
}

/// A runtime listed in the file.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StaticRuntime {
    pub namespace: String,
    /// `host:port`; default from `scheduler.address_template`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// TLS for this scheduler; default `scheduler.tls`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<ClientTls>,
}

/// Errors reading the config file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The cause is part of the message and not also a `source`, so a
    // printed chain (`{:#}`) shows it once.
    #[error("cannot read config file {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("config file {path} is not valid: {error}")]
    Parse {
        path: PathBuf,
        error: Box<toml::de::Error>,
    },
    #[error("config file {path}: runtime #{index} has an empty namespace")]
    EmptyNamespace { path: PathBuf, index: usize },
    #[error("config file {path}: namespace {namespace:?} is listed twice under [[runtimes]]")]
    DuplicateNamespace { path: PathBuf, namespace: String },
    /// A setting is out of range or inconsistent; `setting` names its key,
    /// flag and variable.
    #[error("{setting}: {problem}")]
    Invalid { setting: String, problem: String },
}

impl FileConfig {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        Self::parse(path, &text)
    }

    /// Parses `text` (read from `path`, named in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let config: FileConfig = toml::from_str(text).map_err(|error| ConfigError::Parse {
            path: path.to_owned(),
            error: Box::new(error),
        })?;
        if let Some(index) = config
            .runtimes
            .iter()
            .position(|rt| rt.namespace.trim().is_empty())
        {
            return Err(ConfigError::EmptyNamespace {
                path: path.to_owned(),
                index,
            });
        }
        if let Some(namespace) = config.duplicate_runtime() {
            return Err(ConfigError::DuplicateNamespace {
                path: path.to_owned(),
                namespace: namespace.to_owned(),
            });
        }
        Ok(config)
    }

    /// A namespace listed twice under `[[runtimes]]`, if any.
    pub fn duplicate_runtime(&self) -> Option<&str> {
        let mut seen = std::collections::BTreeSet::new();
        self.runtimes
            .iter()
            .map(|rt| rt.namespace.as_str())
            .find(|ns| !seen.insert(*ns))
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
