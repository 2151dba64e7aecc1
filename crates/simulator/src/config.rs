//! Plain configuration of one simulated scheduler: what is fixed at start
//! (`SimulatorConfig`) and what can be changed while it runs (`Knobs`).
//!
//! Nothing here does I/O; `server` reads a config once at start, and the
//! handle publishes new `Knobs` values on a `watch` channel.

use std::{net::SocketAddr, time::Duration};

use crate::{faults::FailRule, keepalive::PingPolicy};

/// Default time a model, pipeline or experiment spends in its transient
/// state (Progressing, Creating, Terminating) before the next state.
pub const DEFAULT_TRANSITION_DELAY: Duration = Duration::from_millis(20);

/// Default capacity of each subscriber's event queue. A subscriber whose
/// queue is full is disconnected (and counted), like the real scheduler,
/// which drops a stream whose send blocks for 30 s.
pub const DEFAULT_SUBSCRIBER_QUEUE: usize = 1024;

/// The real scheduler answers `SchedulerStatus` with this version string.
pub const DEFAULT_APPLICATION_VERSION: &str = "0.0.1";

/// Server name used for models that pin no server while no server has
/// been announced with `ServerNotify` (a Seldon install's default server).
pub const DEFAULT_SERVER: &str = "mlserver";

/// How long the control plane waits for its first `ServerNotify` (with
/// `isFirstSync`) before sending SEND_EXPERIMENTS/MODELS/PIPELINES anyway.
/// The real scheduler waits up to 600 s for its agents; a simulator that
/// has no agents keeps this short so a namespace with no Servers is usable.
pub const DEFAULT_SYNC_TIMEOUT: Duration = Duration::from_millis(500);

/// Everything one simulated namespace needs to start.
#[derive(Clone, Debug)]
pub struct SimulatorConfig {
    /// The namespace this scheduler belongs to (used in logs and for the
    /// `kubernetesMeta` of preloaded models; requests carry their own).
    pub namespace: String,
    /// Address to bind; port 0 picks a free port (read it back from the handle).
    pub listen: SocketAddr,
    /// Initial values of the runtime-adjustable knobs.
    pub knobs: Knobs,
    /// Capacity of each subscriber's bounded event queue.
    pub subscriber_queue: usize,
    /// Value returned by `SchedulerStatus`.
    pub application_version: String,
    /// Server name for models that pin none when no server is known.
    pub default_server: String,
    /// Models `model-0 .. model-N-1` loaded at start (and not after a
    /// restart, which wipes state as a real restart does): material for
    /// the status event generator in load tests.
    pub preload_models: usize,
    /// Longest wait for the first sync before the control plane asks for
    /// experiments, models and pipelines (see `DEFAULT_SYNC_TIMEOUT`).
    pub sync_timeout: Duration,
    /// Keepalive enforcement on client pings (default: the real scheduler's).
    pub ping_policy: PingPolicy,
}

impl SimulatorConfig {
    /// A config for `namespace` on `listen` with every default.
    pub fn new(namespace: impl Into<String>, listen: SocketAddr) -> Self {
        Self {
            namespace: namespace.into(),
            listen,
            knobs: Knobs::default(),
            subscriber_queue: DEFAULT_SUBSCRIBER_QUEUE,
            application_version: DEFAULT_APPLICATION_VERSION.to_string(),
            default_server: DEFAULT_SERVER.to_string(),
            preload_models: 0,
            sync_timeout: DEFAULT_SYNC_TIMEOUT,
            ping_policy: PingPolicy::default(),
        }
    }
}

/// Load and fault settings, adjustable at run time through the handle.
#[derive(Clone, Debug, PartialEq)]
pub struct Knobs {
    /// Time spent in each transient state (Progressing -> Available, ...).
    pub transition_delay: Duration,
    /// Extra latency added before every RPC is handled.
    pub call_latency: Duration,
    /// Background model status updates per second (0 = off). Each update
    /// re-publishes the current status of an existing model, round robin.
    pub event_rate: f64,
    /// When set, matching calls fail with this rule's code.
    pub failure: Option<FailRule>,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            transition_delay: DEFAULT_TRANSITION_DELAY,
            call_latency: Duration::ZERO,
            event_rate: 0.0,
            failure: None,
        }
    }
}
