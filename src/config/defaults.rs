//! The built-in defaults, filled into a [`FileConfig`] after the file and
//! the flags: what is printed by `--print-config` and what runs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::FileConfig;
use crate::static_runtimes::DEFAULT_POLL_INTERVAL;
use crate::telemetry::admin::ADMIN_LIMITS;
use crate::telemetry::logs::LogFormat;
use switchyard_core::bus::{DEFAULT_SUBSCRIBER_BYTES, DEFAULT_SUBSCRIBER_CAPACITY};
use switchyard_core::registry::spec;
use switchyard_gateway::options::{
    DEFAULT_CALL_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_INFLIGHT_REQUEST_BYTES, DEFAULT_MAX_REPEATED_ENTRIES, DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_REQUEST_READ_TIMEOUT,
};
use switchyard_operator::controllers::RECONCILE_CONCURRENCY;
use switchyard_operator::leader;
use switchyard_operator::runtimes::DEFAULT_FINALIZER_RECHECK;
use switchyard_operator::status::WORKERS_PER_KIND;

/// Default gateway address: the scheduler's own port, so Seldon's clients
/// need only a new host name.
pub const DEFAULT_GATEWAY_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), spec::SCHEDULER_PORT);
/// Default address of `/metrics`, `/healthz` and `/readyz`.
pub const DEFAULT_METRICS_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9100);

impl FileConfig {
    /// Every unset option that has a default gets it. `pod_namespace` is
    /// the `POD_NAMESPACE` variable (the default of `kubernetes.namespace`).
    /// Options without a default (TLS, kubeconfig, ...) stay unset.
    pub fn with_defaults(mut self, pod_namespace: Option<String>) -> FileConfig {
        fn fill<T>(slot: &mut Option<T>, default: T) {
            slot.get_or_insert(default);
        }
        fill(
            &mut self.runtimes_poll_seconds,
            DEFAULT_POLL_INTERVAL.as_secs(),
        );
        fill(&mut self.gateway.listen, DEFAULT_GATEWAY_LISTEN);
        fill(
            &mut self.gateway.call_timeout_seconds,
            DEFAULT_CALL_TIMEOUT.as_secs(),
        );
        let g = &mut self.gateway;
        fill(&mut g.max_connections, DEFAULT_MAX_CONNECTIONS as u64);
        fill(
            &mut g.max_concurrent_streams,
            DEFAULT_MAX_CONCURRENT_STREAMS,
        );
        fill(
            &mut g.max_concurrent_requests,
            DEFAULT_MAX_CONCURRENT_REQUESTS as u64,
        );
        fill(&mut g.max_request_bytes, DEFAULT_MAX_REQUEST_BYTES as u64);
        fill(
            &mut g.max_inflight_request_bytes,
            DEFAULT_MAX_INFLIGHT_REQUEST_BYTES as u64,
        );
        fill(
            &mut g.max_repeated_entries,
            DEFAULT_MAX_REPEATED_ENTRIES as u64,
        );
        fill(
            &mut g.subscriber_max_pending_keys,
            DEFAULT_SUBSCRIBER_CAPACITY as u64,
        );
        fill(
            &mut g.subscriber_max_pending_bytes,
            DEFAULT_SUBSCRIBER_BYTES as u64,
        );
        fill(
            &mut g.handshake_timeout_seconds,
            DEFAULT_HANDSHAKE_TIMEOUT.as_secs(),
        );
        fill(&mut g.idle_timeout_seconds, DEFAULT_IDLE_TIMEOUT.as_secs());
        fill(
            &mut g.request_read_timeout_seconds,
            DEFAULT_REQUEST_READ_TIMEOUT.as_secs(),
        );
        fill(&mut self.metrics.listen, DEFAULT_METRICS_LISTEN);
        let admin = &mut self.metrics;
        fill(
            &mut admin.max_connections,
            ADMIN_LIMITS.max_connections as u64,
        );
        fill(
            &mut admin.handshake_timeout_seconds,
            ADMIN_LIMITS.handshake_timeout.as_secs(),
        );
        fill(
            &mut admin.idle_timeout_seconds,
            ADMIN_LIMITS.idle_timeout.as_secs(),
        );
        // `log.level` is filled by `cli::run` (its default is `RUST_LOG`).
        fill(&mut self.log.format, LogFormat::default());
        fill(
            &mut self.pool.max_connections_per_runtime,
            switchyard_scheduler::connections::DEFAULT_MAX_CONNECTIONS as u16,
        );
        let tls = self.scheduler.tls.is_some();
        fill(
            &mut self.scheduler.address_template,
            spec::default_template(tls),
        );
        let template = self.scheduler.address_template.clone().unwrap_or_default();
        for rt in &mut self.runtimes {
            if rt.address.is_none() {
                rt.address = Some(spec::address_from_template(&template, &rt.namespace));
            }
        }
        let k = &mut self.kubernetes;
        fill(&mut k.enabled, false);
        fill(&mut k.clusterwide, false);
        if k.namespace.is_none() {
            k.namespace = pod_namespace.filter(|n| !n.is_empty());
        }
        if k.templates_namespace.is_none() {
            k.templates_namespace = k.namespace.clone();
        }
        fill(&mut k.leader_elect, true);
        fill(&mut k.use_deployments_for_servers, false);
        fill(&mut k.seldon_operator_guard, true);
        let kubernetes = k.enabled == Some(true);
        self.gateway.auth.fill_defaults(kubernetes);
        fill(&mut k.lease_name, leader::DEFAULT_LEASE_NAME.to_owned());
        fill(
            &mut k.lease_duration_seconds,
            leader::DEFAULT_LEASE_DURATION.as_secs(),
        );
        fill(
            &mut k.renew_deadline_seconds,
            leader::DEFAULT_RENEW_DEADLINE.as_secs(),
        );
        fill(
            &mut k.retry_period_seconds,
            leader::DEFAULT_RETRY_PERIOD.as_secs(),
        );
        fill(&mut k.reconcile_concurrency, RECONCILE_CONCURRENCY);
        fill(
            &mut k.status_workers,
            u16::try_from(WORKERS_PER_KIND).unwrap_or(u16::MAX),
        );
        fill(
            &mut k.finalizer_recheck_seconds,
            DEFAULT_FINALIZER_RECHECK.as_secs(),
        );
        self
    }
}
