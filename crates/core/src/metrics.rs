//! The metrics catalogue: every metric switchyard exports, with its type,
//! unit, help text and label names, in one table ([`CATALOGUE`]).
//! `describe()` registers it with the recorder, `docs/metrics.md` lists it
//! (a test keeps the two equal) and another test fails when `/metrics`
//! shows a family the table lacks.
//!
//! Label values are bounded: namespace, kind, controller, result, gRPC
//! service/method/type/code, lease name, event, reason — never object
//! names or error text. Call sites use the `pub const` names.

use metrics::{KeyName, SharedString, Unit};

/// The Prometheus type of a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
}

impl MetricType {
    /// The word Prometheus' text format uses (`# TYPE name counter`).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
        }
    }
}

/// One entry of the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct MetricDef {
    /// The family name as exported (histograms add `_bucket`, `_sum`, `_count`).
    pub name: &'static str,
    pub kind: MetricType,
    /// `None` for ratios and flags.
    pub unit: Option<Unit>,
    /// Every label name the metric carries; their values are bounded.
    pub labels: &'static [&'static str],
    /// The `# HELP` text.
    pub help: &'static str,
}

// ---- status bus
pub const BUS_OBJECTS: &str = "switchyard_bus_objects";
pub const BUS_PENDING: &str = "switchyard_bus_pending_events";
pub const BUS_SUBSCRIBERS: &str = "switchyard_bus_subscribers";
pub const BUS_CONFLATED_TOTAL: &str = "switchyard_bus_conflated_events_total";
pub const BUS_OVERFLOWS_TOTAL: &str = "switchyard_bus_overflows_total";
pub const BUS_DROPPED_TOTAL: &str = "switchyard_bus_dropped_events_total";
pub const BUS_RESYNCS_TOTAL: &str = "switchyard_bus_resyncs_total";
pub const BUS_BYTE_OVERFLOWS_TOTAL: &str = "switchyard_bus_byte_overflows_total";

// ---- scheduler pool
pub const POOL_RUNTIMES: &str = "switchyard_runtimes";
pub const POOL_TASKS: &str = "switchyard_pool_tasks";
pub const SCHEDULER_CONNECTED: &str = "switchyard_scheduler_connected";
pub const SCHEDULER_RECONNECTS_TOTAL: &str = "switchyard_scheduler_reconnects_total";
pub const UPSTREAM_EVENTS_TOTAL: &str = "switchyard_upstream_events_total";
pub const UPSTREAM_UNLISTED_TOTAL: &str = "switchyard_upstream_unlisted_objects_total";
pub const UPSTREAM_FAST_FAILURES_TOTAL: &str = "switchyard_upstream_fast_failures_total";
pub const GRPC_CLIENT_STARTED_TOTAL: &str = "grpc_client_started_total";
pub const GRPC_CLIENT_HANDLED_TOTAL: &str = "grpc_client_handled_total";
pub const GRPC_CLIENT_HANDLING_SECONDS: &str = "grpc_client_handling_seconds";

// ---- gateway gRPC server (go-grpc-prometheus names and labels)
pub const GRPC_SERVER_STARTED_TOTAL: &str = "grpc_server_started_total";
pub const GRPC_SERVER_HANDLED_TOTAL: &str = "grpc_server_handled_total";
/// Its buckets come from `telemetry` (every `_seconds` histogram).
pub const GRPC_SERVER_HANDLING_SECONDS: &str = "grpc_server_handling_seconds";
pub const GRPC_SERVER_MSG_SENT_TOTAL: &str = "grpc_server_msg_sent_total";

// ---- gateway access: authentication, authorization, per-identity limits
pub const ACCESS_AUTHENTICATIONS_TOTAL: &str = "switchyard_access_authentications_total";
pub const ACCESS_DECISIONS_TOTAL: &str = "switchyard_access_decisions_total";
pub const ACCESS_CACHE_TOTAL: &str = "switchyard_access_cache_lookups_total";
/// Its buckets come from `telemetry` (every `_seconds` histogram).
pub const ACCESS_REVIEW_SECONDS: &str = "switchyard_access_review_duration_seconds";
pub const ACCESS_LIMITED_TOTAL: &str = "switchyard_access_limited_total";
pub const ACCESS_LIMITED_IDENTITIES: &str = "switchyard_access_limited_identities";
pub const ACCESS_OPEN_STREAMS: &str = "switchyard_access_open_streams";
// ---- listeners (gateway and admin ports) and the gateway's request limits
pub const LISTENER_CONNECTIONS: &str = "switchyard_listener_connections";
pub const LISTENER_MAX_CONNECTIONS: &str = "switchyard_listener_max_connections";
pub const LISTENER_AT_CAPACITY_TOTAL: &str = "switchyard_listener_at_capacity_total";
pub const LISTENER_ACCEPT_ERRORS_TOTAL: &str = "switchyard_listener_accept_errors_total";
pub const LISTENER_CLOSED_TOTAL: &str = "switchyard_listener_closed_connections_total";
pub const GATEWAY_INFLIGHT: &str = "switchyard_gateway_inflight_requests";
pub const GATEWAY_REJECTED_TOTAL: &str = "switchyard_gateway_rejected_requests_total";
pub const GATEWAY_STREAM_LIMIT_TOTAL: &str = "switchyard_gateway_stream_limit_reached_total";
pub const GATEWAY_PARTIAL_LISTINGS_TOTAL: &str = "switchyard_gateway_partial_listings_total";
pub const GATEWAY_DIRECT_WRITES_TOTAL: &str = "switchyard_gateway_direct_writes_total";

// ---- Kubernetes writes, leader election, SeldonRuntime discovery
pub const WRITES_DROPPED_TOTAL: &str = "switchyard_kube_writes_dropped_total";
pub const LEADER_ELECTION_MASTER_STATUS: &str = "leader_election_master_status";
pub const RUNTIMES_DELETION_BLOCKED: &str = "switchyard_runtimes_deletion_blocked";
pub const SELDON_OPERATOR_ACTIVE: &str = "switchyard_seldon_operator_active";

// ---- controllers (controller-runtime and workqueue names)
pub const RECONCILE_TOTAL: &str = "controller_runtime_reconcile_total";
pub const RECONCILE_ERRORS_TOTAL: &str = "controller_runtime_reconcile_errors_total";
pub const RECONCILE_TIME_SECONDS: &str = "controller_runtime_reconcile_time_seconds";
pub const MAX_CONCURRENT_RECONCILES: &str = "controller_runtime_max_concurrent_reconciles";
pub const ACTIVE_WORKERS: &str = "controller_runtime_active_workers";
/// kube-runtime does not expose its queue, so objects triggered by a watch
/// event and waiting for a free worker are not counted.
pub const WORKQUEUE_DEPTH: &str = "workqueue_depth";

// ---- operator: status write-back and resync
pub const STATUS_WRITES_TOTAL: &str = "switchyard_status_writes_total";
pub const STATUS_WRITES_CONFLATED_TOTAL: &str = "switchyard_status_writes_conflated_total";
pub const STATUS_WRITE_RETRIES_TOTAL: &str = "switchyard_status_write_retries_total";
pub const STATUS_EVENTS_SKIPPED_TOTAL: &str = "switchyard_status_events_skipped_total";
pub const STATUS_QUEUE_DEPTH: &str = "switchyard_status_queue_depth";
pub const RESYNCS_TOTAL: &str = "switchyard_resyncs_total";
pub const RESYNC_OBJECTS_SENT_TOTAL: &str = "switchyard_resync_objects_sent_total";

// ---- the build, the Kubernetes API client (client-go's names), TLS files
pub const BUILD_INFO: &str = "switchyard_build_info";
pub const REST_CLIENT_REQUESTS_TOTAL: &str = "rest_client_requests_total";
/// Its buckets come from `telemetry` (every `_seconds` histogram).
pub const REST_CLIENT_REQUEST_DURATION_SECONDS: &str = "rest_client_request_duration_seconds";
/// Read from the PEM files on scrape by `telemetry`.
pub const TLS_CERTIFICATE_EXPIRY: &str = "switchyard_tls_certificate_expiry_timestamp_seconds";

// ---- the process and its tokio runtime (sampled on scrape by `telemetry`)
pub const PROCESS_CPU_SECONDS_TOTAL: &str = "process_cpu_seconds_total";
pub const PROCESS_RESIDENT_MEMORY_BYTES: &str = "process_resident_memory_bytes";
pub const PROCESS_VIRTUAL_MEMORY_BYTES: &str = "process_virtual_memory_bytes";
pub const PROCESS_OPEN_FDS: &str = "process_open_fds";
pub const PROCESS_MAX_FDS: &str = "process_max_fds";
pub const PROCESS_START_TIME_SECONDS: &str = "process_start_time_seconds";
pub const PROCESS_THREADS: &str = "process_threads";
pub const TOKIO_WORKERS: &str = "tokio_runtime_workers";
pub const TOKIO_ALIVE_TASKS: &str = "tokio_runtime_alive_tasks";
pub const TOKIO_GLOBAL_QUEUE_DEPTH: &str = "tokio_runtime_global_queue_depth";

use MetricType::{Counter, Gauge, Histogram};

const fn def(
    name: &'static str,
    kind: MetricType,
    unit: Option<Unit>,
    labels: &'static [&'static str],
    help: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        kind,
        unit,
        labels,
        help,
    }
}

const COUNT: Option<Unit> = Some(Unit::Count);
const SECONDS: Option<Unit> = Some(Unit::Seconds);
const BYTES: Option<Unit> = Some(Unit::Bytes);
const GRPC_TYPED: &[&str] = &["grpc_service", "grpc_method", "grpc_type"];

/// Every metric switchyard exports.
#[rustfmt::skip]
pub const CATALOGUE: &[MetricDef] = &[
    def(BUS_OBJECTS, Gauge, COUNT, &[],
        "Objects whose latest status the status bus holds."),
    def(BUS_PENDING, Gauge, COUNT, &[],
        "Dirty keys waiting in all status bus subscribers' queues."),
    def(BUS_SUBSCRIBERS, Gauge, COUNT, &["kind"],
        "Live status bus subscribers, by kind."),
    def(BUS_CONFLATED_TOTAL, Counter, COUNT, &["kind"],
        "Status events that replaced a pending event of the same object for a slow subscriber."),
    def(BUS_OVERFLOWS_TOTAL, Counter, COUNT, &["kind"],
        "Times a subscriber fell too far behind and was resynchronised from current state."),
    def(BUS_DROPPED_TOTAL, Counter, COUNT, &["kind"],
        "Pending status events dropped by subscriber overflows (their objects are re-read)."),
    def(BUS_RESYNCS_TOTAL, Counter, COUNT, &["kind"],
        "Subscribers resynchronised from the current state."),
    def(BUS_BYTE_OVERFLOWS_TOTAL, Counter, COUNT, &["kind"],
        "Times a subscriber's pending state passed its byte budget and was resynchronised from current state."),
    def(POOL_RUNTIMES, Gauge, COUNT, &[],
        "Runtimes (namespaces) in the scheduler pool."),
    def(POOL_TASKS, Gauge, COUNT, &["kind"],
        "Live upstream subscription tasks, by stream kind."),
    def(SCHEDULER_CONNECTED, Gauge, None, &["namespace"],
        "1 when every upstream stream of the namespace's scheduler is open, else 0."),
    def(SCHEDULER_RECONNECTS_TOTAL, Counter, COUNT, &["namespace"],
        "Times the connection to a namespace's scheduler was lost."),
    def(UPSTREAM_EVENTS_TOTAL, Counter, COUNT, &["namespace", "kind"],
        "Messages received on upstream scheduler streams, by namespace and stream kind."),
    def(UPSTREAM_UNLISTED_TOTAL, Counter, COUNT, &["namespace", "kind"],
        "Objects forgotten (and reported gone to subscribers) because their scheduler no longer listed them after a reconnect."),
    def(UPSTREAM_FAST_FAILURES_TOTAL, Counter, COUNT, &["namespace"],
        "Calls failed at once with UNAVAILABLE because the namespace's scheduler stopped answering keepalive pings."),
    def(GRPC_CLIENT_STARTED_TOTAL, Counter, COUNT, &["grpc_service", "grpc_method", "namespace"],
        "RPCs started by the scheduler pool on a namespace's scheduler."),
    def(GRPC_CLIENT_HANDLED_TOTAL, Counter, COUNT, &["grpc_service", "grpc_method", "grpc_code", "namespace"],
        "RPCs the scheduler pool completed on a namespace's scheduler, by gRPC status code."),
    def(GRPC_CLIENT_HANDLING_SECONDS, Histogram, SECONDS, &["grpc_service", "grpc_method", "namespace"],
        "Time from the start of a pool RPC to its status (a stream's whole life)."),
    def(GRPC_SERVER_STARTED_TOTAL, Counter, COUNT, GRPC_TYPED,
        "Total number of RPCs started on the gateway."),
    def(GRPC_SERVER_HANDLED_TOTAL, Counter, COUNT, &["grpc_service", "grpc_method", "grpc_type", "grpc_code"],
        "Total number of RPCs completed on the gateway, regardless of success or failure."),
    def(GRPC_SERVER_HANDLING_SECONDS, Histogram, SECONDS, GRPC_TYPED,
        "Time from the start of an RPC on the gateway until its response (or stream) ended."),
    def(GRPC_SERVER_MSG_SENT_TOTAL, Counter, COUNT, GRPC_TYPED,
        "Total number of gRPC messages the gateway sent to clients."),
    def(ACCESS_AUTHENTICATIONS_TOTAL, Counter, COUNT, &["kind", "result"],
        "Gateway requests authenticated, by credential kind (token, certificate, none) and result (authenticated, rejected, error)."),
    def(ACCESS_DECISIONS_TOTAL, Counter, COUNT, &["result"],
        "Authorization decisions on gateway requests (cached or not), by result (allowed, denied, error)."),
    def(ACCESS_CACHE_TOTAL, Counter, COUNT, &["kind", "result"],
        "Lookups in the authentication and authorization caches, by kind (token_review, subject_access_review) and result (hit, miss)."),
    def(ACCESS_REVIEW_SECONDS, Histogram, SECONDS, &["kind"],
        "Time the API server took to answer a TokenReview or SubjectAccessReview, by kind."),
    def(ACCESS_LIMITED_TOTAL, Counter, COUNT, &["reason"],
        "Gateway requests refused by a per-identity limit, by reason (rate, streams)."),
    def(ACCESS_LIMITED_IDENTITIES, Gauge, COUNT, &[],
        "Identities whose request rate the per-identity limiter tracks (bounded by its size)."),
    def(ACCESS_OPEN_STREAMS, Gauge, COUNT, &[],
        "Streams open under the per-identity stream limit, over all identities."),
    def(LISTENER_CONNECTIONS, Gauge, COUNT, &["listener"],
        "Connections open on a listening port (gateway, admin)."),
    def(LISTENER_MAX_CONNECTIONS, Gauge, COUNT, &["listener"],
        "The cap on connections open at once on a listening port."),
    def(LISTENER_AT_CAPACITY_TOTAL, Counter, COUNT, &["listener"],
        "Times a listener reached its connection cap and stopped accepting until a connection closed."),
    def(LISTENER_ACCEPT_ERRORS_TOTAL, Counter, COUNT, &["listener"],
        "Failed accepts (EMFILE at the file descriptor limit, resets), each followed by a backoff unless it concerned one connection."),
    def(LISTENER_CLOSED_TOTAL, Counter, COUNT, &["listener", "reason"],
        "Connections closed by the server for being unused, by reason (handshake_timeout, idle_timeout)."),
    def(GATEWAY_INFLIGHT, Gauge, COUNT, &[],
        "Requests and streams in flight on the gateway (bounded by its concurrency limit)."),
    def(GATEWAY_REJECTED_TOTAL, Counter, COUNT, &["reason"],
        "Requests the gateway refused before decoding them, by reason (method, content_type, concurrency, read_timeout, read_error, message_size, inflight_bytes, extra_message, repeated_entries; docs/limits.md)."),
    def(GATEWAY_STREAM_LIMIT_TOTAL, Counter, COUNT, &[],
        "Calls that filled their connection's limit of concurrent streams (further calls on it wait in the client until one ends)."),
    def(GATEWAY_PARTIAL_LISTINGS_TOTAL, Counter, COUNT, &["grpc_method"],
        "Cross-namespace listings answered without the namespaces whose schedulers could not be reached."),
    def(GATEWAY_DIRECT_WRITES_TOTAL, Counter, COUNT, &["kind", "result"],
        "Direct writes through the gateway (Load/Unload, Start/Stop) while the operator side runs, by kind and result (allowed; managed: refused, the object has a custom resource; refused: the namespace takes no direct writes; unknown: resources not listed yet)."),
    def(WRITES_DROPPED_TOTAL, Counter, COUNT, &["kind", "reason"],
        "Writes to the API server not made (not_leader, timeout, error), by kind and reason."),
    def(LEADER_ELECTION_MASTER_STATUS, Gauge, None, &["name"],
        "Whether this replica is the leader (1) or not (0) of the named lease."),
    def(RUNTIMES_DELETION_BLOCKED, Gauge, COUNT, &[],
        "SeldonRuntimes being deleted and waiting for the Servers, Models, Pipelines and Experiments of their namespace to go."),
    def(SELDON_OPERATOR_ACTIVE, Gauge, None, &[],
        "Whether Seldon's own operator was found active (1), so switchyard's controllers, status writer and resync wait, or not (0)."),
    def(RECONCILE_TOTAL, Counter, COUNT, &["controller", "result"],
        "Total number of reconciliations per controller, by result (success, error, requeue)."),
    def(RECONCILE_ERRORS_TOTAL, Counter, COUNT, &["controller"],
        "Total number of reconciliation errors per controller (retryable and final)."),
    def(RECONCILE_TIME_SECONDS, Histogram, SECONDS, &["controller"],
        "Length of time per reconciliation per controller."),
    def(MAX_CONCURRENT_RECONCILES, Gauge, COUNT, &["controller"],
        "Maximum number of concurrent reconciles per controller."),
    def(ACTIVE_WORKERS, Gauge, COUNT, &["controller"],
        "Number of currently used workers (running reconciles) per controller."),
    def(WORKQUEUE_DEPTH, Gauge, COUNT, &["name"],
        "Objects of a controller being reconciled or waiting for a scheduled retry (watch-triggered objects waiting for a worker are not counted)."),
    def(STATUS_WRITES_TOTAL, Counter, COUNT, &["kind", "result"],
        "Status events the status writer finished with, by kind and result (success: written or nothing to change; not_leader: the lease went first; error: refused by the API server, or stopped)."),
    def(STATUS_WRITES_CONFLATED_TOTAL, Counter, COUNT, &["kind"],
        "Status events that replaced one still waiting to be written (or being retried) for the same object."),
    def(STATUS_WRITE_RETRIES_TOTAL, Counter, COUNT, &["kind"],
        "Status writes retried after a transient failure (timeout, 5xx, conflicts, API server unreachable)."),
    def(STATUS_EVENTS_SKIPPED_TOTAL, Counter, COUNT, &["kind", "reason"],
        "Status events not applied to a CR, by kind and reason."),
    def(STATUS_QUEUE_DEPTH, Gauge, COUNT, &["kind"],
        "Objects waiting for a status write, by kind."),
    def(RESYNCS_TOTAL, Counter, COUNT, &["namespace", "event", "result"],
        "Control-plane resync passes, by namespace, event and result."),
    def(RESYNC_OBJECTS_SENT_TOTAL, Counter, COUNT, &["namespace", "kind"],
        "Objects re-sent to a scheduler by resync, by namespace and kind."),
    def(BUILD_INFO, Gauge, None, &["version"],
        "Always 1; the labels name the running build."),
    def(REST_CLIENT_REQUESTS_TOTAL, Counter, COUNT, &["code", "method", "host"],
        "Requests to the Kubernetes API server, by HTTP status code (<error>: no response), method and host."),
    def(REST_CLIENT_REQUEST_DURATION_SECONDS, Histogram, SECONDS, &["verb", "host"],
        "Time from sending a request to the Kubernetes API server until its response headers, by verb (WATCH: until the watch opened) and host."),
    def(TLS_CERTIFICATE_EXPIRY, Gauge, SECONDS, &["certificate"],
        "When the earliest certificate of a configured PEM file expires (notAfter), in seconds since the epoch, by role (gateway, gateway_client_ca, scheduler_ca, scheduler_client)."),
    def(PROCESS_CPU_SECONDS_TOTAL, Counter, SECONDS, &[],
        "Total user and system CPU time spent in seconds."),
    def(PROCESS_RESIDENT_MEMORY_BYTES, Gauge, BYTES, &[],
        "Resident memory size in bytes."),
    def(PROCESS_VIRTUAL_MEMORY_BYTES, Gauge, BYTES, &[],
        "Virtual memory size in bytes."),
    def(PROCESS_OPEN_FDS, Gauge, COUNT, &[],
        "Number of open file descriptors."),
    def(PROCESS_MAX_FDS, Gauge, COUNT, &[],
        "Maximum number of open file descriptors (the soft limit)."),
    def(PROCESS_START_TIME_SECONDS, Gauge, SECONDS, &[],
        "Start time of the process since unix epoch in seconds."),
    def(PROCESS_THREADS, Gauge, COUNT, &[],
        "Number of OS threads in the process."),
    def(TOKIO_WORKERS, Gauge, COUNT, &[],
        "Worker threads of the tokio runtime."),
    def(TOKIO_ALIVE_TASKS, Gauge, COUNT, &[],
        "Tasks alive in the tokio runtime (spawned and not finished)."),
    def(TOKIO_GLOBAL_QUEUE_DEPTH, Gauge, COUNT, &[],
        "Tasks waiting in the tokio runtime's global (injection) queue."),
];

/// The catalogue entry of `name`, if any.
pub fn find(name: &str) -> Option<&'static MetricDef> {
    CATALOGUE.iter().find(|def| def.name == name)
}

/// Registers the unit and help text of every metric with the installed
/// recorder (metrics the recorder never sees, like `process_*`, are
/// rendered by `telemetry` from the same table).
pub fn describe() {
    metrics::with_recorder(|recorder| {
        for def in CATALOGUE {
            let name = KeyName::from_const_str(def.name);
            let help = SharedString::const_str(def.help);
            match def.kind {
                Counter => recorder.describe_counter(name, def.unit, help),
                Gauge => recorder.describe_gauge(name, def.unit, help),
                Histogram => recorder.describe_histogram(name, def.unit, help),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Labels whose values are bounded; anything else needs a reason.
    const BOUNDED_LABELS: &[&str] = &[
        "listener",
        "namespace",
        "kind",
        "controller",
        "result",
        "grpc_service",
        "grpc_method",
        "grpc_type",
        "grpc_code",
        "name",
        "event",
        "reason",
        // build_info: one value per binary.
        "version",
        // rest_client_*: HTTP codes and methods, the one API server.
        "code",
        "method",
        "verb",
        "host",
        // a certificate file's role.
        "certificate",
    ];

    #[test]
    fn metrics_catalogue_names_are_unique_prometheus_names_with_bounded_labels() {
        let mut seen = HashSet::new();
        for def in CATALOGUE {
            assert!(seen.insert(def.name), "{} listed twice", def.name);
            assert!(
                def.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{} is not a snake_case Prometheus name",
                def.name
            );
            assert_eq!(
                def.kind == Counter,
                def.name.ends_with("_total"),
                "{}: counters, and only counters, end in _total",
                def.name
            );
            if def.unit == SECONDS {
                assert!(def.name.contains("_seconds"), "{}: unit seconds", def.name);
            }
            assert!(
                !def.help.is_empty() && def.help.ends_with('.'),
                "{}: help",
                def.name
            );
            for label in def.labels {
                assert!(
                    BOUNDED_LABELS.contains(label),
                    "{}: label {label}",
                    def.name
                );
            }
        }
    }
}
