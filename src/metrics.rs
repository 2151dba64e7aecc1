//! Every metric switchyard exports: its name, type and help text, in one
//! place. Label values are bounded: namespace, kind, controller, result,
//! gRPC service/method/code — never object names or error text.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

// ---- status bus
/// Gauge: objects whose latest status the bus holds.
pub const BUS_OBJECTS: &str = "switchyard_bus_objects";
/// Gauge: dirty keys waiting in all subscribers' queues (queue depth).
pub const BUS_PENDING: &str = "switchyard_bus_pending_events";
/// Gauge{kind}: live downstream subscribers.
pub const BUS_SUBSCRIBERS: &str = "switchyard_bus_subscribers";
/// Counter{kind}: events that replaced a pending event of the same object.
pub const BUS_CONFLATED_TOTAL: &str = "switchyard_bus_conflated_events_total";
/// Counter{kind}: times a subscriber's queue was full and was reset.
pub const BUS_OVERFLOWS_TOTAL: &str = "switchyard_bus_overflows_total";
/// Counter{kind}: pending keys dropped by overflows (re-read from state).
pub const BUS_DROPPED_TOTAL: &str = "switchyard_bus_dropped_events_total";
/// Counter{kind}: subscribers resynchronised from the current state.
pub const BUS_RESYNCS_TOTAL: &str = "switchyard_bus_resyncs_total";

// ---- scheduler pool
/// Gauge: runtimes (namespaces) in the pool.
pub const POOL_RUNTIMES: &str = "switchyard_runtimes";
/// Gauge{kind}: live upstream subscription tasks, by stream kind.
pub const POOL_TASKS: &str = "switchyard_pool_tasks";
/// Gauge{namespace}: 1 when every upstream stream of the namespace is open.
pub const SCHEDULER_CONNECTED: &str = "switchyard_scheduler_connected";
/// Counter{namespace}: times a namespace's connection was lost.
pub const SCHEDULER_RECONNECTS_TOTAL: &str = "switchyard_scheduler_reconnects_total";
/// Counter{namespace,kind}: messages received on upstream streams.
pub const UPSTREAM_EVENTS_TOTAL: &str = "switchyard_upstream_events_total";

// ---- gateway gRPC server (go-grpc-prometheus names and labels)
/// Counter{grpc_service,grpc_method,grpc_type}: RPCs started.
pub const GRPC_SERVER_STARTED_TOTAL: &str = "grpc_server_started_total";
/// Counter{grpc_service,grpc_method,grpc_code}: RPCs finished, by code.
pub const GRPC_SERVER_HANDLED_TOTAL: &str = "grpc_server_handled_total";
/// Histogram{grpc_service,grpc_method,grpc_type}: seconds from request to
/// the end of the response (for streams: until the stream ended). Its
/// buckets come from `telemetry` (every `_seconds` metric).
pub const GRPC_SERVER_HANDLING_SECONDS: &str = "grpc_server_handling_seconds";
/// Counter{grpc_service,grpc_method,grpc_type}: messages sent to clients.
pub const GRPC_SERVER_MSG_SENT_TOTAL: &str = "grpc_server_msg_sent_total";

// ---- Kubernetes writes
/// Counter{kind,reason}: writes to the API server not made (not leader,
/// timeout, error).
pub const WRITES_DROPPED_TOTAL: &str = "switchyard_kube_writes_dropped_total";

// ---- leader election (controller-runtime's name)
/// Gauge{name}: 1 while this replica holds the lease `name`, else 0.
pub const LEADER_ELECTION_MASTER_STATUS: &str = "leader_election_master_status";

// ---- SeldonRuntime discovery
/// Gauge: SeldonRuntimes being deleted whose finalizer is kept because
/// Servers, Models, Pipelines or Experiments remain in their namespace.
pub const RUNTIMES_DELETION_BLOCKED: &str = "switchyard_runtimes_deletion_blocked";

// ---- controllers (controller-runtime and workqueue names)
/// Counter{controller,result}: reconciles by result (`success`, `error`,
/// `requeue`).
pub const RECONCILE_TOTAL: &str = "controller_runtime_reconcile_total";
/// Counter{controller}: reconciles that ended in an error (retryable or
/// final).
pub const RECONCILE_ERRORS_TOTAL: &str = "controller_runtime_reconcile_errors_total";
/// Histogram{controller}: seconds per reconcile.
pub const RECONCILE_TIME_SECONDS: &str = "controller_runtime_reconcile_time_seconds";
/// Gauge{controller}: the concurrency limit of the controller.
pub const MAX_CONCURRENT_RECONCILES: &str = "controller_runtime_max_concurrent_reconciles";
/// Gauge{controller}: reconciles running now.
pub const ACTIVE_WORKERS: &str = "controller_runtime_active_workers";
/// Gauge{name}: objects whose reconcile is running or whose retry is
/// scheduled and has not started. kube-runtime does not expose its queue,
/// so objects triggered by a watch event and waiting for a free worker are
/// not counted.
pub const WORKQUEUE_DEPTH: &str = "workqueue_depth";

// ---- operator: status write-back and resync
/// Counter{kind}: status events that replaced one still waiting to be
/// written for the same object (a slow API server conflates writes).
pub const STATUS_WRITES_CONFLATED_TOTAL: &str = "switchyard_status_writes_conflated_total";
/// Counter{kind,reason}: status events not applied (no kubernetesMeta,
/// namespace mismatch, old generation, ...).
pub const STATUS_EVENTS_SKIPPED_TOTAL: &str = "switchyard_status_events_skipped_total";
/// Gauge{kind}: objects waiting for a status write.
pub const STATUS_QUEUE_DEPTH: &str = "switchyard_status_queue_depth";
/// Counter{namespace,event,result}: control-plane resync passes.
pub const RESYNCS_TOTAL: &str = "switchyard_resyncs_total";
/// Counter{namespace,kind}: objects re-sent to a scheduler by resync.
pub const RESYNC_OBJECTS_SENT_TOTAL: &str = "switchyard_resync_objects_sent_total";

/// Registers the help text of every metric with the installed recorder.
pub fn describe() {
    describe_gauge!(
        BUS_OBJECTS,
        Unit::Count,
        "Objects whose latest status the status bus holds."
    );
    describe_gauge!(
        BUS_SUBSCRIBERS,
        Unit::Count,
        "Live status bus subscribers, by kind."
    );
    describe_counter!(
        BUS_CONFLATED_TOTAL,
        Unit::Count,
        "Status events that replaced a pending event of the same object for a slow subscriber."
    );
    describe_counter!(
        BUS_OVERFLOWS_TOTAL,
        Unit::Count,
        "Times a subscriber fell too far behind and was resynchronised from current state."
    );
    describe_counter!(
        BUS_DROPPED_TOTAL,
        Unit::Count,
        "Pending status events dropped by subscriber overflows (their objects are re-read)."
    );
    describe_counter!(
        BUS_RESYNCS_TOTAL,
        Unit::Count,
        "Subscribers resynchronised from the current state."
    );
    describe_gauge!(
        LEADER_ELECTION_MASTER_STATUS,
        "Whether this replica is the leader (1) or not (0) of the named lease."
    );
    describe_gauge!(
        RUNTIMES_DELETION_BLOCKED,
        Unit::Count,
        "SeldonRuntimes being deleted and waiting for the Servers, Models, Pipelines and Experiments of their namespace to go."
    );
    describe_counter!(
        GRPC_SERVER_STARTED_TOTAL,
        Unit::Count,
        "Total number of RPCs started on the gateway."
    );
    describe_counter!(
        GRPC_SERVER_HANDLED_TOTAL,
        Unit::Count,
        "Total number of RPCs completed on the gateway, regardless of success or failure."
    );
    describe_histogram!(
        GRPC_SERVER_HANDLING_SECONDS,
        Unit::Seconds,
        "Time from the start of an RPC on the gateway until its response (or stream) ended."
    );
    describe_counter!(
        GRPC_SERVER_MSG_SENT_TOTAL,
        Unit::Count,
        "Total number of gRPC messages the gateway sent to clients."
    );
    describe_counter!(
        RECONCILE_TOTAL,
        Unit::Count,
        "Total number of reconciliations per controller, by result (success, error, requeue)."
    );
    describe_counter!(
        RECONCILE_ERRORS_TOTAL,
        Unit::Count,
        "Total number of reconciliation errors per controller (retryable and final)."
    );
    describe_histogram!(
        RECONCILE_TIME_SECONDS,
        Unit::Seconds,
        "Length of time per reconciliation per controller."
    );
    describe_gauge!(
        MAX_CONCURRENT_RECONCILES,
        Unit::Count,
        "Maximum number of concurrent reconciles per controller."
    );
    describe_gauge!(
        ACTIVE_WORKERS,
        Unit::Count,
        "Number of currently used workers (running reconciles) per controller."
    );
    describe_gauge!(
        WORKQUEUE_DEPTH,
        Unit::Count,
        "Objects of a controller being reconciled or waiting for a scheduled retry \
         (watch-triggered objects waiting for a worker are not visible and not counted)."
    );
    describe_counter!(
        STATUS_WRITES_CONFLATED_TOTAL,
        Unit::Count,
        "Status events that replaced one still waiting to be written for the same object."
    );
    describe_counter!(
        STATUS_EVENTS_SKIPPED_TOTAL,
        Unit::Count,
        "Status events not applied to a CR, by kind and reason."
    );
    describe_gauge!(
        STATUS_QUEUE_DEPTH,
        Unit::Count,
        "Objects waiting for a status write, by kind."
    );
    describe_counter!(
        RESYNCS_TOTAL,
        Unit::Count,
        "Control-plane resync passes, by namespace, event and result."
    );
    describe_counter!(
        RESYNC_OBJECTS_SENT_TOTAL,
        Unit::Count,
        "Objects re-sent to a scheduler by resync, by namespace and kind."
    );
}
