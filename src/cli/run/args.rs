//! The flags of `switchyard run`, each with a `SWITCHYARD_*` variable
//! (clap reads the variable when the flag is absent), and how they are laid
//! over the config file. Every flag is an option of
//! [`crate::config::catalogue`] except `--config` and `--print-config`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::config::{
    ConfigError, FileConfig, SchedulerOverrides, ServerTls, StaticRuntime, catalogue, parse_mode,
};
use crate::telemetry::logs::LogFormat;
use switchyard_access::AuthMode;

/// Arguments of `switchyard run`. A flag wins over its variable, which wins
/// over the config file, which wins over the built-in default.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Config file (TOML); its [scheduler] and [[runtimes]] are followed
    /// while running.
    #[arg(long, env = "SWITCHYARD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the merged configuration (file, variables, flags, defaults) as
    /// TOML and exit without starting anything.
    #[arg(long)]
    pub print_config: bool,
    /// Seconds between checks of the config file for changes [default: 2].
    #[arg(long, env = "SWITCHYARD_RUNTIMES_POLL", value_name = "SECONDS")]
    pub runtimes_poll: Option<u64>,
    /// Address of the gateway endpoint [default: 0.0.0.0:9004].
    #[arg(long, env = "SWITCHYARD_GATEWAY_LISTEN", value_name = "ADDR")]
    pub gateway_listen: Option<SocketAddr>,
    /// Namespace for requests that name none.
    #[arg(long, env = "SWITCHYARD_DEFAULT_NAMESPACE", value_name = "NS")]
    pub default_namespace: Option<String>,
    /// Requests dialled as NAMESPACE.<suffix> (seldon --authority) are
    /// for that namespace.
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_AUTHORITY_SUFFIX",
        value_name = "SUFFIX"
    )]
    pub gateway_authority_suffix: Option<String>,
    /// Seconds a routed unary call waits for its scheduler [default: 30].
    #[arg(long, env = "SWITCHYARD_GATEWAY_CALL_TIMEOUT", value_name = "SECONDS")]
    pub gateway_call_timeout: Option<u64>,
    /// Connections open at once on the gateway [default: 4096].
    #[arg(long, env = "SWITCHYARD_GATEWAY_MAX_CONNECTIONS", value_name = "N")]
    pub gateway_max_connections: Option<u64>,
    /// Streams per connection at once [default: 100].
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_MAX_CONCURRENT_STREAMS",
        value_name = "N"
    )]
    pub gateway_max_concurrent_streams: Option<u32>,
    /// Requests and streams in flight on the gateway [default: 1024].
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_MAX_CONCURRENT_REQUESTS",
        value_name = "N"
    )]
    pub gateway_max_concurrent_requests: Option<u64>,
    /// Largest request message in bytes [default: 16777216].
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_MAX_REQUEST_BYTES",
        value_name = "BYTES"
    )]
    pub gateway_max_request_bytes: Option<u64>,
    /// Request bytes held by all calls at once [default: 67108864].
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_MAX_INFLIGHT_REQUEST_BYTES",
        value_name = "BYTES"
    )]
    pub gateway_max_inflight_request_bytes: Option<u64>,
    /// Repeated-field entries in one request [default: 10000].
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_MAX_REPEATED_ENTRIES",
        value_name = "N"
    )]
    pub gateway_max_repeated_entries: Option<u64>,
    /// Status keys one subscriber may have pending [default: 16384].
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_SUBSCRIBER_MAX_PENDING_KEYS",
        value_name = "N"
    )]
    pub gateway_subscriber_max_pending_keys: Option<u64>,
    /// Bytes of pending state one subscriber may hold [default: 16777216].
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_SUBSCRIBER_MAX_PENDING_BYTES",
        value_name = "BYTES"
    )]
    pub gateway_subscriber_max_pending_bytes: Option<u64>,
    /// Seconds from accept to a connection's first request [default: 10].
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_HANDSHAKE_TIMEOUT",
        value_name = "SECONDS"
    )]
    pub gateway_handshake_timeout: Option<u64>,
    /// Seconds a connection without calls stays open [default: 300].
    #[arg(long, env = "SWITCHYARD_GATEWAY_IDLE_TIMEOUT", value_name = "SECONDS")]
    pub gateway_idle_timeout: Option<u64>,
    /// Seconds to send a request's message after its headers [default: 10].
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_REQUEST_READ_TIMEOUT",
        value_name = "SECONDS"
    )]
    pub gateway_request_read_timeout: Option<u64>,
    /// Namespaces (* for all) refusing direct writes of objects with no
    /// custom resource (with --kubernetes).
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_REFUSE_DIRECT_WRITES",
        value_delimiter = ',',
        value_name = "NS,.."
    )]
    pub gateway_refuse_direct_writes: Option<Vec<String>>,
    /// Serve the gateway with TLS: PEM certificate chain (with --gateway-tls-key).
    #[arg(long, env = "SWITCHYARD_GATEWAY_TLS_CERT", value_name = "FILE")]
    pub gateway_tls_cert: Option<PathBuf>,
    /// PEM private key of --gateway-tls-cert.
    #[arg(long, env = "SWITCHYARD_GATEWAY_TLS_KEY", value_name = "FILE")]
    pub gateway_tls_key: Option<PathBuf>,
    /// Require client certificates signed by this PEM CA (mTLS).
    #[arg(long, env = "SWITCHYARD_GATEWAY_TLS_CLIENT_CA", value_name = "FILE")]
    pub gateway_tls_client_ca: Option<PathBuf>,
    /// Who may call the gateway: kubernetes (TokenReview and
    /// SubjectAccessReview), policy (--gateway-auth-policy-file) or none
    /// [default: kubernetes with --kubernetes, else none].
    #[arg(long, env = "SWITCHYARD_GATEWAY_AUTH", value_name = "MODE", value_parser = parse_mode)]
    pub gateway_auth: Option<AuthMode>,
    /// The policy file of --gateway-auth=policy (TOML, docs/access.md).
    #[arg(long, env = "SWITCHYARD_GATEWAY_AUTH_POLICY_FILE", value_name = "FILE")]
    pub gateway_auth_policy_file: Option<PathBuf>,
    /// Seconds an accepted token's identity is reused [default: 120].
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_AUTH_TOKEN_CACHE_TTL",
        value_name = "SECONDS"
    )]
    pub gateway_auth_token_cache_ttl: Option<f64>,
    /// Seconds an allowed decision is reused [default: 10].
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_AUTH_ALLOWED_CACHE_TTL",
        value_name = "SECONDS"
    )]
    pub gateway_auth_allowed_cache_ttl: Option<f64>,
    /// Seconds a denial is reused [default: 5].
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_AUTH_DENIED_CACHE_TTL",
        value_name = "SECONDS"
    )]
    pub gateway_auth_denied_cache_ttl: Option<f64>,
    /// Seconds a TokenReview or SubjectAccessReview may take [default: 5].
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_AUTH_REVIEW_TIMEOUT",
        value_name = "SECONDS"
    )]
    pub gateway_auth_review_timeout: Option<f64>,
    /// Requests per second of one caller [default: no limit].
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_AUTH_REQUESTS_PER_SECOND",
        value_name = "N"
    )]
    pub gateway_auth_requests_per_second: Option<u32>,
    /// Requests one caller may make at once above its rate [default: the rate].
    #[arg(long, env = "SWITCHYARD_GATEWAY_AUTH_BURST", value_name = "N")]
    pub gateway_auth_burst: Option<u32>,
    /// Streams one caller may have open at once [default: no limit].
    #[arg(
        long,
        env = "SWITCHYARD_GATEWAY_AUTH_STREAMS_PER_IDENTITY",
        value_name = "N"
    )]
    pub gateway_auth_streams_per_identity: Option<u32>,
    /// Address of /metrics, /healthz and /readyz [default: 0.0.0.0:9100].
    #[arg(long, env = "SWITCHYARD_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Connections open at once on the admin port [default: 256].
    #[arg(long, env = "SWITCHYARD_METRICS_MAX_CONNECTIONS", value_name = "N")]
    pub metrics_max_connections: Option<u64>,
    /// Seconds from accept to an admin connection's first bytes [default: 10].
    #[arg(
        long,
        env = "SWITCHYARD_METRICS_HANDSHAKE_TIMEOUT",
        value_name = "SECONDS"
    )]
    pub metrics_handshake_timeout: Option<u64>,
    /// Seconds an admin connection may send nothing [default: 60].
    #[arg(long, env = "SWITCHYARD_METRICS_IDLE_TIMEOUT", value_name = "SECONDS")]
    pub metrics_idle_timeout: Option<u64>,
    /// Log filter, a tracing EnvFilter directive such as info or
    /// switchyard=debug,kube=warn [default: $RUST_LOG, else info].
    #[arg(long, env = "SWITCHYARD_LOG_LEVEL", value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Log line format: plain text, or one JSON object per line [default: plain].
    #[arg(long, env = "SWITCHYARD_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Connections to each namespace's scheduler, the first included;
    /// extras only under load [default: 4].
    #[arg(
        long,
        env = "SWITCHYARD_POOL_MAX_CONNECTIONS_PER_RUNTIME",
        value_name = "N"
    )]
    pub pool_max_connections_per_runtime: Option<u16>,
    /// Scheduler address of a namespace, {namespace} substituted
    /// [default: seldon-scheduler.{namespace}:9004, :9044 with TLS].
    #[arg(
        long,
        env = "SWITCHYARD_SCHEDULER_ADDRESS_TEMPLATE",
        value_name = "TEMPLATE"
    )]
    pub scheduler_address_template: Option<String>,
    /// TLS towards schedulers: PEM CA that signed their certificates.
    #[arg(long, env = "SWITCHYARD_SCHEDULER_TLS_CA", value_name = "FILE")]
    pub scheduler_tls_ca: Option<PathBuf>,
    /// PEM client certificate towards schedulers (mTLS).
    #[arg(long, env = "SWITCHYARD_SCHEDULER_TLS_CERT", value_name = "FILE")]
    pub scheduler_tls_cert: Option<PathBuf>,
    /// PEM private key of --scheduler-tls-cert.
    #[arg(long, env = "SWITCHYARD_SCHEDULER_TLS_KEY", value_name = "FILE")]
    pub scheduler_tls_key: Option<PathBuf>,
    /// Name to verify schedulers' certificates against [default: the
    /// address's host].
    #[arg(
        long,
        env = "SWITCHYARD_SCHEDULER_TLS_SERVER_NAME",
        value_name = "NAME"
    )]
    pub scheduler_tls_server_name: Option<String>,
    /// A static runtime, NS or NS=HOST:PORT (repeatable; the variable is
    /// comma-separated). Replaces the file's [[runtimes]], which are then
    /// not followed.
    #[arg(
        long = "runtime",
        env = "SWITCHYARD_RUNTIMES",
        value_delimiter = ',',
        value_name = "NS[=ADDR]",
        value_parser = parse_runtime
    )]
    pub runtimes: Option<Vec<StaticRuntime>>,
    /// Run the operator side: discover runtimes from SeldonRuntimes, elect a
    /// leader [default: false].
    #[arg(long, env = "SWITCHYARD_KUBERNETES", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub kubernetes: Option<bool>,
    /// Kubeconfig file [default: in-cluster, else $KUBECONFIG or ~/.kube/config].
    #[arg(long, env = "SWITCHYARD_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Watch SeldonRuntimes in every namespace [default: false].
    #[arg(long, env = "SWITCHYARD_CLUSTERWIDE", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub clusterwide: Option<bool>,
    /// Watch only these namespaces (comma-separated), plus --namespace.
    #[arg(
        long,
        env = "SWITCHYARD_WATCH_NAMESPACES",
        value_delimiter = ',',
        value_name = "NS,.."
    )]
    pub watch_namespaces: Option<Vec<String>>,
    /// The operator's namespace (holds the Lease) [default: $POD_NAMESPACE].
    #[arg(long, env = "SWITCHYARD_NAMESPACE", value_name = "NS")]
    pub namespace: Option<String>,
    /// Where ServerConfigs and SeldonConfigs are read [default: the
    /// operator's namespace].
    #[arg(long, env = "SWITCHYARD_TEMPLATES_NAMESPACE", value_name = "NS")]
    pub templates_namespace: Option<String>,
    /// Run Servers as Deployments (no per-replica Services) instead of
    /// StatefulSets [default: false].
    #[arg(long, env = "SWITCHYARD_USE_DEPLOYMENTS_FOR_SERVERS", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub use_deployments_for_servers: Option<bool>,
    /// Elect a leader among replicas; false: always lead [default: true].
    #[arg(long, env = "SWITCHYARD_LEADER_ELECT", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub leader_elect: Option<bool>,
    /// Name of the leader Lease [default: switchyard-leader].
    #[arg(long, env = "SWITCHYARD_LEADER_ELECT_LEASE_NAME", value_name = "NAME")]
    pub leader_elect_lease_name: Option<String>,
    /// Seconds a lease is valid after renewal [default: 15].
    #[arg(
        long,
        env = "SWITCHYARD_LEADER_ELECT_LEASE_DURATION",
        value_name = "SECONDS"
    )]
    pub leader_elect_lease_duration: Option<u64>,
    /// Seconds the leader tries to renew before stepping down [default: 10].
    #[arg(
        long,
        env = "SWITCHYARD_LEADER_ELECT_RENEW_DEADLINE",
        value_name = "SECONDS"
    )]
    pub leader_elect_renew_deadline: Option<u64>,
    /// Seconds between attempts to acquire or renew [default: 2].
    #[arg(
        long,
        env = "SWITCHYARD_LEADER_ELECT_RETRY_PERIOD",
        value_name = "SECONDS"
    )]
    pub leader_elect_retry_period: Option<u64>,
    /// Wait while Seldon's own operator is active (its Lease renewed, or
    /// its Deployment ready) [default: true].
    #[arg(long, env = "SWITCHYARD_SELDON_OPERATOR_GUARD", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub seldon_operator_guard: Option<bool>,
    /// Reconciles each controller runs at once [default: 16].
    #[arg(long, env = "SWITCHYARD_RECONCILE_CONCURRENCY", value_name = "N")]
    pub reconcile_concurrency: Option<u16>,
    /// Concurrent status writes per kind [default: 4].
    #[arg(long, env = "SWITCHYARD_STATUS_WORKERS", value_name = "N")]
    pub status_workers: Option<u16>,
    /// Seconds between checks of whether a deleted SeldonRuntime's
    /// namespace is empty, so its finalizer may go [default: 5].
    #[arg(long, env = "SWITCHYARD_FINALIZER_RECHECK", value_name = "SECONDS")]
    pub finalizer_recheck: Option<u64>,
    /// Scheduler address of one namespace, NS=HOST:PORT, winning over the
    /// template (repeatable; the variable is comma-separated). Replaces the
    /// file's [kubernetes.scheduler_addresses].
    #[arg(
        long = "scheduler-address",
        env = "SWITCHYARD_SCHEDULER_ADDRESSES",
        value_delimiter = ',',
        value_name = "NS=ADDR",
        value_parser = parse_scheduler_address
    )]
    pub scheduler_addresses: Option<Vec<(String, String)>>,
}

/// `NS` or `NS=HOST:PORT`.
fn parse_runtime(value: &str) -> Result<StaticRuntime, String> {
    let (namespace, address) = match value.split_once('=') {
        Some((ns, addr)) if addr.trim().is_empty() => {
            return Err(format!(
                "{ns:?} has an empty address; write NS or NS=HOST:PORT"
            ));
        }
        Some((ns, addr)) => (ns, Some(addr.trim().to_owned())),
        None => (value, None),
    };
    let namespace = namespace.trim();
    if namespace.is_empty() {
        return Err("empty namespace; write NS or NS=HOST:PORT".into());
    }
    Ok(StaticRuntime {
        namespace: namespace.to_owned(),
        address,
        tls: None,
    })
}

/// `NS=HOST:PORT`.
fn parse_scheduler_address(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((ns, addr)) if !ns.trim().is_empty() && !addr.trim().is_empty() => {
            Ok((ns.trim().to_owned(), addr.trim().to_owned()))
        }
        _ => Err(format!("{value:?} is not NS=HOST:PORT")),
    }
}

/// What the command line asks of a run, beside the options themselves.
pub struct Layered {
    /// The file's options with the flags laid over (no defaults yet).
    pub config: FileConfig,
    /// The config file, if any.
    pub file: Option<PathBuf>,
    /// The flags' share of `[scheduler]`, re-applied on every reload.
    pub scheduler: SchedulerOverrides,
    /// `--runtime` replaced the file's `[[runtimes]]`.
    pub runtimes_from_flags: bool,
    /// `--print-config`.
    pub print_config: bool,
}

impl RunArgs {
    /// The log settings of the flags and variables alone (the file not
    /// read): how to report a config file that cannot be read.
    pub fn early_log(&self) -> (Option<String>, LogFormat) {
        (self.log_level.clone(), self.log_format.unwrap_or_default())
    }

    /// Reads the config file and lays the flags over it.
    pub fn layer(self) -> Result<Layered, ConfigError> {
        let RunArgs {
            config: file,
            print_config,
            runtimes_poll,
            gateway_listen,
            default_namespace,
            gateway_authority_suffix,
            gateway_call_timeout,
            gateway_max_connections,
            gateway_max_concurrent_streams,
            gateway_max_concurrent_requests,
            gateway_max_request_bytes,
            gateway_max_inflight_request_bytes,
            gateway_max_repeated_entries,
            gateway_subscriber_max_pending_keys,
            gateway_subscriber_max_pending_bytes,
            gateway_handshake_timeout,
            gateway_idle_timeout,
            gateway_request_read_timeout,
            gateway_refuse_direct_writes,
            gateway_tls_cert,
            gateway_tls_key,
            gateway_tls_client_ca,
            gateway_auth,
            gateway_auth_policy_file,
            gateway_auth_token_cache_ttl,
            gateway_auth_allowed_cache_ttl,
            gateway_auth_denied_cache_ttl,
            gateway_auth_review_timeout,
            gateway_auth_requests_per_second,
            gateway_auth_burst,
            gateway_auth_streams_per_identity,
            metrics_listen,
            metrics_max_connections,
            metrics_handshake_timeout,
            metrics_idle_timeout,
            log_level,
            log_format,
            pool_max_connections_per_runtime,
            scheduler_address_template,
            scheduler_tls_ca,
            scheduler_tls_cert,
            scheduler_tls_key,
            scheduler_tls_server_name,
            runtimes,
            kubernetes,
            kubeconfig,
            clusterwide,
            watch_namespaces,
            namespace,
            templates_namespace,
            use_deployments_for_servers,
            leader_elect,
            leader_elect_lease_name,
            leader_elect_lease_duration,
            leader_elect_renew_deadline,
            leader_elect_retry_period,
            seldon_operator_guard,
            reconcile_concurrency,
            status_workers,
            finalizer_recheck,
            scheduler_addresses,
        } = self;
        let mut config = match &file {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        fn over<T>(slot: &mut Option<T>, flag: Option<T>) {
            if flag.is_some() {
                *slot = flag;
            }
        }
        over(&mut config.runtimes_poll_seconds, runtimes_poll);

        let gateway = &mut config.gateway;
        over(&mut gateway.listen, gateway_listen);
        over(&mut gateway.default_namespace, default_namespace);
        over(&mut gateway.authority_suffix, gateway_authority_suffix);
        over(&mut gateway.call_timeout_seconds, gateway_call_timeout);
        over(&mut gateway.max_connections, gateway_max_connections);
        over(
            &mut gateway.max_concurrent_streams,
            gateway_max_concurrent_streams,
        );
        over(
            &mut gateway.max_concurrent_requests,
            gateway_max_concurrent_requests,
        );
        over(&mut gateway.max_request_bytes, gateway_max_request_bytes);
        over(
            &mut gateway.max_inflight_request_bytes,
            gateway_max_inflight_request_bytes,
        );
        over(
            &mut gateway.max_repeated_entries,
            gateway_max_repeated_entries,
        );
        over(
            &mut gateway.subscriber_max_pending_keys,
            gateway_subscriber_max_pending_keys,
        );
        over(
            &mut gateway.subscriber_max_pending_bytes,
            gateway_subscriber_max_pending_bytes,
        );
        over(
            &mut gateway.handshake_timeout_seconds,
            gateway_handshake_timeout,
        );
        over(&mut gateway.idle_timeout_seconds, gateway_idle_timeout);
        over(
            &mut gateway.request_read_timeout_seconds,
            gateway_request_read_timeout,
        );
        if let Some(list) = gateway_refuse_direct_writes {
            gateway.refuse_direct_writes = list;
        }
        if gateway_tls_cert.is_some()
            || gateway_tls_key.is_some()
            || gateway_tls_client_ca.is_some()
        {
            let file_tls = gateway.tls.take();
            let missing = |key: &str| ConfigError::Invalid {
                setting: catalogue::describe(key),
                problem: "gateway TLS needs both a certificate and its key".into(),
            };
            let cert = gateway_tls_cert
                .or_else(|| file_tls.as_ref().map(|t| t.cert.clone()))
                .ok_or_else(|| missing("gateway.tls.cert"))?;
            let key = gateway_tls_key
                .or_else(|| file_tls.as_ref().map(|t| t.key.clone()))
                .ok_or_else(|| missing("gateway.tls.key"))?;
            let client_ca = gateway_tls_client_ca.or_else(|| file_tls.and_then(|t| t.client_ca));
            gateway.tls = Some(ServerTls {
                cert,
                key,
                client_ca,
            });
        }
        let auth = &mut config.gateway.auth;
        over(&mut auth.mode, gateway_auth);
        over(&mut auth.policy_file, gateway_auth_policy_file);
        over(
            &mut auth.token_cache_ttl_seconds,
            gateway_auth_token_cache_ttl,
        );
        over(
            &mut auth.allowed_cache_ttl_seconds,
            gateway_auth_allowed_cache_ttl,
        );
        over(
            &mut auth.denied_cache_ttl_seconds,
            gateway_auth_denied_cache_ttl,
        );
        over(
            &mut auth.review_timeout_seconds,
            gateway_auth_review_timeout,
        );
        over(
            &mut auth.limits.requests_per_second,
            gateway_auth_requests_per_second,
        );
        over(&mut auth.limits.burst, gateway_auth_burst);
        over(
            &mut auth.limits.streams_per_identity,
            gateway_auth_streams_per_identity,
        );
        over(&mut config.metrics.listen, metrics_listen);
        over(&mut config.metrics.max_connections, metrics_max_connections);
        over(
            &mut config.metrics.handshake_timeout_seconds,
            metrics_handshake_timeout,
        );
        over(
            &mut config.metrics.idle_timeout_seconds,
            metrics_idle_timeout,
        );
        over(&mut config.log.level, log_level);
        over(&mut config.log.format, log_format);
        over(
            &mut config.pool.max_connections_per_runtime,
            pool_max_connections_per_runtime,
        );

        let scheduler = SchedulerOverrides {
            address_template: scheduler_address_template,
            tls_ca: scheduler_tls_ca,
            tls_cert: scheduler_tls_cert,
            tls_key: scheduler_tls_key,
            tls_server_name: scheduler_tls_server_name,
        };
        scheduler.apply(&mut config.scheduler)?;
        let runtimes_from_flags = runtimes.is_some();
        if let Some(runtimes) = runtimes {
            config.runtimes = runtimes;
            if let Some(namespace) = config.duplicate_runtime() {
                return Err(ConfigError::Invalid {
                    setting: catalogue::describe("runtimes"),
                    problem: format!("namespace {namespace:?} is given twice"),
                });
            }
        }

        let k = &mut config.kubernetes;
        over(&mut k.enabled, kubernetes);
        over(&mut k.kubeconfig, kubeconfig);
        over(&mut k.clusterwide, clusterwide);
        if let Some(list) = watch_namespaces {
            k.watch_namespaces = list;
        }
        over(&mut k.namespace, namespace);
        over(&mut k.templates_namespace, templates_namespace);
        over(
            &mut k.use_deployments_for_servers,
            use_deployments_for_servers,
        );
        over(&mut k.leader_elect, leader_elect);
        over(&mut k.lease_name, leader_elect_lease_name);
        over(&mut k.lease_duration_seconds, leader_elect_lease_duration);
        over(&mut k.renew_deadline_seconds, leader_elect_renew_deadline);
        over(&mut k.retry_period_seconds, leader_elect_retry_period);
        over(&mut k.seldon_operator_guard, seldon_operator_guard);
        over(&mut k.reconcile_concurrency, reconcile_concurrency);
        over(&mut k.status_workers, status_workers);
        over(&mut k.finalizer_recheck_seconds, finalizer_recheck);
        if let Some(pairs) = scheduler_addresses {
            k.scheduler_addresses = pairs.into_iter().collect::<BTreeMap<_, _>>();
        }
        Ok(Layered {
            config,
            file,
            scheduler,
            runtimes_from_flags,
            print_config,
        })
    }
}
