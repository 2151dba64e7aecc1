//! Every option of `switchyard run`: its key in the file, its flag, its
//! environment variable and its default. Errors name options through
//! [`describe`]; tests check that this list, the flags of `RunArgs`, the
//! schema and `config/switchyard.toml` agree.

/// One option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigOption {
    /// Dotted key in the file (`gateway.listen`); `runtimes` is the
    /// `[[runtimes]]` list.
    pub key: &'static str,
    /// The flag of `switchyard run`.
    pub flag: &'static str,
    /// The environment variable read when the flag is absent.
    pub env: &'static str,
    /// The default, as documented; `None`: unset unless given.
    pub default: Option<&'static str>,
}

const fn option(
    key: &'static str,
    flag: &'static str,
    env: &'static str,
    default: Option<&'static str>,
) -> ConfigOption {
    ConfigOption {
        key,
        flag,
        env,
        default,
    }
}

/// Every option, in the order of `config/switchyard.toml`.
pub const OPTIONS: &[ConfigOption] = &[
    option(
        "runtimes_poll_seconds",
        "--runtimes-poll",
        "SWITCHYARD_RUNTIMES_POLL",
        Some("2"),
    ),
    option(
        "gateway.listen",
        "--gateway-listen",
        "SWITCHYARD_GATEWAY_LISTEN",
        Some("0.0.0.0:9004"),
    ),
    option(
        "gateway.default_namespace",
        "--default-namespace",
        "SWITCHYARD_DEFAULT_NAMESPACE",
        None,
    ),
    option(
        "gateway.authority_suffix",
        "--gateway-authority-suffix",
        "SWITCHYARD_GATEWAY_AUTHORITY_SUFFIX",
        None,
    ),
    option(
        "gateway.call_timeout_seconds",
        "--gateway-call-timeout",
        "SWITCHYARD_GATEWAY_CALL_TIMEOUT",
        Some("30"),
    ),
    option(
        "gateway.max_connections",
        "--gateway-max-connections",
        "SWITCHYARD_GATEWAY_MAX_CONNECTIONS",
        Some("4096"),
    ),
    option(
        "gateway.max_concurrent_streams",
        "--gateway-max-concurrent-streams",
        "SWITCHYARD_GATEWAY_MAX_CONCURRENT_STREAMS",
        Some("100"),
    ),
    option(
        "gateway.max_concurrent_requests",
        "--gateway-max-concurrent-requests",
        "SWITCHYARD_GATEWAY_MAX_CONCURRENT_REQUESTS",
        Some("1024"),
    ),
    option(
        "gateway.max_request_bytes",
        "--gateway-max-request-bytes",
        "SWITCHYARD_GATEWAY_MAX_REQUEST_BYTES",
        Some("16777216"),
    ),
    option(
        "gateway.max_inflight_request_bytes",
        "--gateway-max-inflight-request-bytes",
        "SWITCHYARD_GATEWAY_MAX_INFLIGHT_REQUEST_BYTES",
        Some("67108864"),
    ),
    option(
        "gateway.max_repeated_entries",
        "--gateway-max-repeated-entries",
        "SWITCHYARD_GATEWAY_MAX_REPEATED_ENTRIES",
        Some("10000"),
    ),
    option(
        "gateway.subscriber_max_pending_keys",
        "--gateway-subscriber-max-pending-keys",
        "SWITCHYARD_GATEWAY_SUBSCRIBER_MAX_PENDING_KEYS",
        Some("16384"),
    ),
    option(
        "gateway.subscriber_max_pending_bytes",
        "--gateway-subscriber-max-pending-bytes",
        "SWITCHYARD_GATEWAY_SUBSCRIBER_MAX_PENDING_BYTES",
        Some("16777216"),
    ),
    option(
        "gateway.handshake_timeout_seconds",
        "--gateway-handshake-timeout",
        "SWITCHYARD_GATEWAY_HANDSHAKE_TIMEOUT",
        Some("10"),
    ),
    option(
        "gateway.idle_timeout_seconds",
        "--gateway-idle-timeout",
        "SWITCHYARD_GATEWAY_IDLE_TIMEOUT",
        Some("300"),
    ),
    option(
        "gateway.request_read_timeout_seconds",
        "--gateway-request-read-timeout",
        "SWITCHYARD_GATEWAY_REQUEST_READ_TIMEOUT",
        Some("10"),
    ),
    option(
        "gateway.refuse_direct_writes",
        "--gateway-refuse-direct-writes",
        "SWITCHYARD_GATEWAY_REFUSE_DIRECT_WRITES",
        None,
    ),
    option(
        "gateway.tls.cert",
        "--gateway-tls-cert",
        "SWITCHYARD_GATEWAY_TLS_CERT",
        None,
    ),
    option(
        "gateway.tls.key",
        "--gateway-tls-key",
        "SWITCHYARD_GATEWAY_TLS_KEY",
        None,
    ),
    option(
        "gateway.tls.client_ca",
        "--gateway-tls-client-ca",
        "SWITCHYARD_GATEWAY_TLS_CLIENT_CA",
        None,
    ),
    option(
        "gateway.auth.mode",
        "--gateway-auth",
        "SWITCHYARD_GATEWAY_AUTH",
        Some("kubernetes with --kubernetes, else none"),
    ),
    option(
        "gateway.auth.policy_file",
        "--gateway-auth-policy-file",
        "SWITCHYARD_GATEWAY_AUTH_POLICY_FILE",
        None,
    ),
    option(
        "gateway.auth.token_cache_ttl_seconds",
        "--gateway-auth-token-cache-ttl",
        "SWITCHYARD_GATEWAY_AUTH_TOKEN_CACHE_TTL",
        Some("120"),
    ),
    option(
        "gateway.auth.allowed_cache_ttl_seconds",
        "--gateway-auth-allowed-cache-ttl",
        "SWITCHYARD_GATEWAY_AUTH_ALLOWED_CACHE_TTL",
        Some("10"),
    ),
    option(
        "gateway.auth.denied_cache_ttl_seconds",
        "--gateway-auth-denied-cache-ttl",
        "SWITCHYARD_GATEWAY_AUTH_DENIED_CACHE_TTL",
        Some("5"),
    ),
    option(
        "gateway.auth.review_timeout_seconds",
        "--gateway-auth-review-timeout",
        "SWITCHYARD_GATEWAY_AUTH_REVIEW_TIMEOUT",
        Some("5"),
    ),
    option(
        "gateway.auth.limits.requests_per_second",
        "--gateway-auth-requests-per-second",
        "SWITCHYARD_GATEWAY_AUTH_REQUESTS_PER_SECOND",
        None,
    ),
    option(
        "gateway.auth.limits.burst",
        "--gateway-auth-burst",
        "SWITCHYARD_GATEWAY_AUTH_BURST",
        None,
    ),
    option(
        "gateway.auth.limits.streams_per_identity",
        "--gateway-auth-streams-per-identity",
        "SWITCHYARD_GATEWAY_AUTH_STREAMS_PER_IDENTITY",
        None,
    ),
    option(
        "metrics.listen",
        "--metrics-listen",
        "SWITCHYARD_METRICS_LISTEN",
        Some("0.0.0.0:9100"),
    ),
    option(
        "metrics.max_connections",
        "--metrics-max-connections",
        "SWITCHYARD_METRICS_MAX_CONNECTIONS",
        Some("256"),
    ),
    option(
        "metrics.handshake_timeout_seconds",
        "--metrics-handshake-timeout",
        "SWITCHYARD_METRICS_HANDSHAKE_TIMEOUT",
        Some("10"),
    ),
    option(
        "metrics.idle_timeout_seconds",
        "--metrics-idle-timeout",
        "SWITCHYARD_METRICS_IDLE_TIMEOUT",
        Some("60"),
    ),
    option(
        "log.level",
        "--log-level",
        "SWITCHYARD_LOG_LEVEL",
        Some("$RUST_LOG"),
    ),
    option(
        "log.format",
        "--log-format",
        "SWITCHYARD_LOG_FORMAT",
        Some("plain"),
    ),
    option(
        "pool.max_connections_per_runtime",
        "--pool-max-connections-per-runtime",
        "SWITCHYARD_POOL_MAX_CONNECTIONS_PER_RUNTIME",
        Some("4"),
    ),
    option(
        "scheduler.address_template",
        "--scheduler-address-template",
        "SWITCHYARD_SCHEDULER_ADDRESS_TEMPLATE",
        Some("seldon-scheduler.{namespace}:9004"),
    ),
    option(
        "scheduler.tls.ca",
        "--scheduler-tls-ca",
        "SWITCHYARD_SCHEDULER_TLS_CA",
        None,
    ),
    option(
        "scheduler.tls.cert",
        "--scheduler-tls-cert",
        "SWITCHYARD_SCHEDULER_TLS_CERT",
        None,
    ),
    option(
        "scheduler.tls.key",
        "--scheduler-tls-key",
        "SWITCHYARD_SCHEDULER_TLS_KEY",
        None,
    ),
    option(
        "scheduler.tls.server_name",
        "--scheduler-tls-server-name",
        "SWITCHYARD_SCHEDULER_TLS_SERVER_NAME",
        None,
    ),
    option("runtimes", "--runtime", "SWITCHYARD_RUNTIMES", None),
    option(
        "kubernetes.enabled",
        "--kubernetes",
        "SWITCHYARD_KUBERNETES",
        Some("false"),
    ),
    option(
        "kubernetes.kubeconfig",
        "--kubeconfig",
        "SWITCHYARD_KUBECONFIG",
        None,
    ),
    option(
        "kubernetes.clusterwide",
        "--clusterwide",
        "SWITCHYARD_CLUSTERWIDE",
        Some("false"),
    ),
    option(
        "kubernetes.watch_namespaces",
        "--watch-namespaces",
        "SWITCHYARD_WATCH_NAMESPACES",
        None,
    ),
    option(
        "kubernetes.namespace",
        "--namespace",
        "SWITCHYARD_NAMESPACE",
        Some("$POD_NAMESPACE"),
    ),
    option(
        "kubernetes.templates_namespace",
        "--templates-namespace",
        "SWITCHYARD_TEMPLATES_NAMESPACE",
        Some("$POD_NAMESPACE"),
    ),
    option(
        "kubernetes.use_deployments_for_servers",
        "--use-deployments-for-servers",
        "SWITCHYARD_USE_DEPLOYMENTS_FOR_SERVERS",
        Some("false"),
    ),
    option(
        "kubernetes.leader_elect",
        "--leader-elect",
        "SWITCHYARD_LEADER_ELECT",
        Some("true"),
    ),
    option(
        "kubernetes.lease_name",
        "--leader-elect-lease-name",
        "SWITCHYARD_LEADER_ELECT_LEASE_NAME",
        Some("switchyard-leader"),
    ),
    option(
        "kubernetes.lease_duration_seconds",
        "--leader-elect-lease-duration",
        "SWITCHYARD_LEADER_ELECT_LEASE_DURATION",
        Some("15"),
    ),
    option(
        "kubernetes.renew_deadline_seconds",
        "--leader-elect-renew-deadline",
        "SWITCHYARD_LEADER_ELECT_RENEW_DEADLINE",
        Some("10"),
    ),
    option(
        "kubernetes.retry_period_seconds",
        "--leader-elect-retry-period",
        "SWITCHYARD_LEADER_ELECT_RETRY_PERIOD",
        Some("2"),
    ),
    option(
        "kubernetes.seldon_operator_guard",
        "--seldon-operator-guard",
        "SWITCHYARD_SELDON_OPERATOR_GUARD",
        Some("true"),
    ),
    option(
        "kubernetes.reconcile_concurrency",
        "--reconcile-concurrency",
        "SWITCHYARD_RECONCILE_CONCURRENCY",
        Some("16"),
    ),
    option(
        "kubernetes.status_workers",
        "--status-workers",
        "SWITCHYARD_STATUS_WORKERS",
        Some("4"),
    ),
    option(
        "kubernetes.finalizer_recheck_seconds",
        "--finalizer-recheck",
        "SWITCHYARD_FINALIZER_RECHECK",
        Some("5"),
    ),
    option(
        "kubernetes.scheduler_addresses",
        "--scheduler-address",
        "SWITCHYARD_SCHEDULER_ADDRESSES",
        None,
    ),
];

/// The option with file key `key`.
pub fn find(key: &str) -> Option<&'static ConfigOption> {
    OPTIONS.iter().find(|o| o.key == key)
}

/// `key (--flag, ENV)`, for error messages.
pub fn describe(key: &str) -> String {
    match find(key) {
        Some(o) => format!("{} ({}, {})", o.key, o.flag, o.env),
        None => key.to_owned(),
    }
}
