//! The merged options, defaults filled, checked and turned into the
//! [`AppConfig`] that runs. Errors name the option's key, flag and
//! variable.

use std::time::Duration;
use switchyard_operator::controllers::DEFAULT_TEMPLATES_NAMESPACE;

use super::args::Layered;
use crate::app::{AppConfig, KubeConnection, KubernetesConfig, OperatorTuning, StaticRuntimes};
use crate::config::{
    ConfigError, DEFAULT_GATEWAY_LISTEN, FileConfig, KubernetesSection, MetricsConfig, catalogue,
};
use crate::static_runtimes::DEFAULT_POLL_INTERVAL;
use crate::telemetry::admin::ADMIN_LIMITS;
use crate::telemetry::logs::{self, LogSettings};
use switchyard_access::AuthMode;
use switchyard_core::registry::spec;
use switchyard_net::ListenerLimits;
use switchyard_operator::leader::{LeaderElectionConfig, LeaderElectionError};
use switchyard_operator::runtimes::DEFAULT_FINALIZER_RECHECK;
use switchyard_operator::{SchedulerAddressing, WatchScope};
use switchyard_scheduler::Spread;

fn invalid(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: catalogue::describe(key),
        problem: problem.into(),
    }
}

/// `value` of option `key`, which must be at least 1.
fn positive<T: Copy + Into<u64>>(key: &str, value: Option<T>) -> Result<T, ConfigError> {
    match value {
        Some(v) if v.into() >= 1 => Ok(v),
        Some(_) => Err(invalid(key, "must be at least 1")),
        None => Err(invalid(key, "has no value")),
    }
}

/// The merged options with defaults filled (`pod_namespace`: the
/// `POD_NAMESPACE` variable), checked: what `--print-config` prints.
pub(super) fn merged(
    layered: &Layered,
    pod_namespace: Option<String>,
    rust_log: Option<&str>,
) -> Result<FileConfig, ConfigError> {
    let mut config = layered.config.clone().with_defaults(pod_namespace);
    // `log.level` defaults to `RUST_LOG`, else `info`.
    let level = logs::choose_filter(config.log.level.as_deref(), rust_log, logs::DEFAULT_LEVEL);
    config.log.level = Some(level);
    positive("runtimes_poll_seconds", config.runtimes_poll_seconds)?;
    positive(
        "gateway.call_timeout_seconds",
        config.gateway.call_timeout_seconds,
    )?;
    let g = &config.gateway;
    positive("gateway.max_connections", g.max_connections)?;
    positive("gateway.max_concurrent_streams", g.max_concurrent_streams)?;
    positive("gateway.max_concurrent_requests", g.max_concurrent_requests)?;
    let request = positive("gateway.max_request_bytes", g.max_request_bytes)?;
    let inflight = positive(
        "gateway.max_inflight_request_bytes",
        g.max_inflight_request_bytes,
    )?;
    if inflight < request {
        return Err(invalid(
            "gateway.max_inflight_request_bytes",
            format!(
                "is {inflight}, less than gateway.max_request_bytes ({request}): the largest request could never be read"
            ),
        ));
    }
    positive("gateway.max_repeated_entries", g.max_repeated_entries)?;
    positive(
        "gateway.subscriber_max_pending_keys",
        g.subscriber_max_pending_keys,
    )?;
    positive(
        "gateway.subscriber_max_pending_bytes",
        g.subscriber_max_pending_bytes,
    )?;
    positive(
        "gateway.handshake_timeout_seconds",
        g.handshake_timeout_seconds,
    )?;
    positive("gateway.idle_timeout_seconds", g.idle_timeout_seconds)?;
    positive(
        "gateway.request_read_timeout_seconds",
        g.request_read_timeout_seconds,
    )?;
    gateway_auth(&config)?;
    let admin = &config.metrics;
    positive("metrics.max_connections", admin.max_connections)?;
    positive(
        "metrics.handshake_timeout_seconds",
        admin.handshake_timeout_seconds,
    )?;
    positive("metrics.idle_timeout_seconds", admin.idle_timeout_seconds)?;
    if let Some(level) = &config.log.level {
        logs::parse_filter(level).map_err(|e| invalid("log.level", e.to_string()))?;
    }
    positive(
        "pool.max_connections_per_runtime",
        config.pool.max_connections_per_runtime,
    )?;
    let k = &config.kubernetes;
    positive("kubernetes.reconcile_concurrency", k.reconcile_concurrency)?;
    positive("kubernetes.status_workers", k.status_workers)?;
    positive(
        "kubernetes.finalizer_recheck_seconds",
        k.finalizer_recheck_seconds,
    )?;
    if let Some((ns, _)) = k
        .scheduler_addresses
        .iter()
        .find(|(ns, addr)| ns.trim().is_empty() || addr.trim().is_empty())
    {
        return Err(invalid(
            "kubernetes.scheduler_addresses",
            format!("entry {ns:?} needs a namespace and an address"),
        ));
    }
    if k.enabled == Some(true) {
        leader_election(k)?;
    }
    Ok(config)
}

/// The Lease settings when leader election is on.
fn leader_election(k: &KubernetesSection) -> Result<Option<LeaderElectionConfig>, ConfigError> {
    if k.leader_elect != Some(true) {
        return Ok(None);
    }
    let namespace = k.namespace.clone().ok_or_else(|| {
        invalid(
            "kubernetes.namespace",
            "leader election needs the operator's namespace: set it, or POD_NAMESPACE, or turn kubernetes.leader_elect off",
        )
    })?;
    let mut election = LeaderElectionConfig::new(namespace);
    if let Some(name) = &k.lease_name {
        election.lease_name = name.clone();
    }
    let secs = |v: Option<u64>, default: Duration| v.map_or(default, Duration::from_secs);
    election.lease_duration = secs(k.lease_duration_seconds, election.lease_duration);
    election.renew_deadline = secs(k.renew_deadline_seconds, election.renew_deadline);
    election.retry_period = secs(k.retry_period_seconds, election.retry_period);
    election.validate().map_err(|e| {
        let setting = match e {
            LeaderElectionError::Missing => catalogue::describe("kubernetes.lease_name"),
            LeaderElectionError::LeaseDuration(_) => {
                catalogue::describe("kubernetes.lease_duration_seconds")
            }
            LeaderElectionError::Durations { .. } => [
                "kubernetes.retry_period_seconds",
                "kubernetes.renew_deadline_seconds",
                "kubernetes.lease_duration_seconds",
            ]
            .map(catalogue::describe)
            .join(", "),
        };
        ConfigError::Invalid {
            setting,
            problem: e.to_string(),
        }
    })?;
    Ok(Some(election))
}

/// The admin port's bounds (`[metrics]`), [`ADMIN_LIMITS`] where unset.
fn admin_limits(metrics: &MetricsConfig) -> ListenerLimits {
    let secs = |value: Option<u64>, default: Duration| value.map_or(default, Duration::from_secs);
    ListenerLimits {
        max_connections: metrics
            .max_connections
            .map_or(ADMIN_LIMITS.max_connections, |n| {
                usize::try_from(n).unwrap_or(usize::MAX)
            }),
        handshake_timeout: secs(
            metrics.handshake_timeout_seconds,
            ADMIN_LIMITS.handshake_timeout,
        ),
        idle_timeout: secs(metrics.idle_timeout_seconds, ADMIN_LIMITS.idle_timeout),
    }
}

/// The [`AppConfig`] of checked, defaulted options (the defaults below
/// only matter to a caller that skipped [`merged`]).
pub(super) fn app_config(layered: Layered, config: FileConfig) -> Result<AppConfig, ConfigError> {
    let FileConfig {
        runtimes_poll_seconds,
        gateway,
        metrics,
        // Read by `log_settings`: logging starts before the app.
        log: _,
        pool,
        scheduler,
        // Read through `runtime_specs`, or by the file's poller.
        runtimes: _,
        kubernetes,
    } = config.clone();
    let runtimes = if layered.runtimes_from_flags {
        StaticRuntimes::Fixed(config.runtime_specs())
    } else if let Some(path) = layered.file {
        StaticRuntimes::File {
            path,
            poll: runtimes_poll_seconds.map_or(DEFAULT_POLL_INTERVAL, Duration::from_secs),
            overrides: layered.scheduler,
        }
    } else {
        StaticRuntimes::None
    };
    Ok(AppConfig {
        gateway_listen: gateway.listen.unwrap_or(DEFAULT_GATEWAY_LISTEN),
        gateway,
        metrics_listen: metrics.listen,
        admin_limits: admin_limits(&metrics),
        spread: Spread {
            max_connections: pool
                .max_connections_per_runtime
                .map_or(Spread::default().max_connections, usize::from),
            ..Spread::default()
        },
        runtimes,
        kubernetes: kubernetes_config(kubernetes, &scheduler)?,
    })
}

/// How to log: `[log]` of the [`merged`] options.
pub(super) fn log_settings(config: &FileConfig) -> LogSettings {
    LogSettings {
        filter: config
            .log
            .level
            .clone()
            .unwrap_or_else(|| logs::DEFAULT_LEVEL.to_owned()),
        format: config.log.format.unwrap_or_default(),
    }
}

/// The operator side, `None` unless enabled.
fn kubernetes_config(
    section: KubernetesSection,
    scheduler: &crate::config::SchedulerConfig,
) -> Result<Option<KubernetesConfig>, ConfigError> {
    if section.enabled != Some(true) {
        return Ok(None);
    }
    let leader_election = leader_election(&section)?;
    let KubernetesSection {
        enabled: _,
        kubeconfig,
        clusterwide,
        watch_namespaces,
        namespace,
        templates_namespace,
        use_deployments_for_servers,
        leader_elect: _,
        lease_name: _,
        lease_duration_seconds: _,
        renew_deadline_seconds: _,
        retry_period_seconds: _,
        seldon_operator_guard,
        reconcile_concurrency,
        status_workers,
        finalizer_recheck_seconds,
        scheduler_addresses,
    } = section;
    let defaults = OperatorTuning::default();
    let scope = WatchScope::resolve(
        clusterwide.unwrap_or(false),
        &watch_namespaces,
        namespace.as_deref(),
    );
    let template = scheduler
        .address_template
        .clone()
        .unwrap_or_else(|| spec::default_template(scheduler.tls.is_some()));
    Ok(Some(KubernetesConfig {
        connection: kubeconfig.map_or(KubeConnection::Infer, KubeConnection::Kubeconfig),
        scope,
        addressing: SchedulerAddressing {
            template,
            overrides: scheduler_addresses,
            tls: scheduler.tls.clone(),
        },
        leader_election,
        templates_namespace: templates_namespace
            .or_else(|| namespace.clone())
            .unwrap_or_else(|| DEFAULT_TEMPLATES_NAMESPACE.to_owned()),
        use_deployments_for_servers: use_deployments_for_servers == Some(true),
        seldon_operator_guard: (seldon_operator_guard != Some(false))
            .then_some(switchyard_operator::guard::DEFAULT_POLL),
        finalizer_recheck: finalizer_recheck_seconds
            .map_or(DEFAULT_FINALIZER_RECHECK, Duration::from_secs),
        tuning: OperatorTuning {
            reconcile_concurrency: reconcile_concurrency.unwrap_or(defaults.reconcile_concurrency),
            status_workers: status_workers.map_or(defaults.status_workers, usize::from),
        },
    }))
}

/// `[gateway.auth]` as it will run: its durations, and what its mode needs.
fn gateway_auth(config: &FileConfig) -> Result<(), ConfigError> {
    let kubernetes = config.kubernetes.enabled == Some(true);
    let engine = config.gateway.auth.engine(kubernetes);
    engine
        .durations()
        .map_err(|e| invalid("gateway.auth", e.to_string()))?;
    match engine.mode {
        AuthMode::Kubernetes if !kubernetes => Err(invalid(
            "gateway.auth.mode",
            "kubernetes needs the Kubernetes side (--kubernetes), whose API server answers TokenReview and SubjectAccessReview; without it use policy (with a policy file) or none",
        )),
        AuthMode::Policy if engine.policy_file.is_none() => Err(invalid(
            "gateway.auth.policy_file",
            "is needed by gateway.auth.mode = \"policy\"",
        )),
        _ => Ok(()),
    }
}
