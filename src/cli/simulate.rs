//! `switchyard simulate`: one simulated scheduler (`--listen`, `--namespace`)
//! or N of them on consecutive ports (`--namespaces N --base-port P`), with
//! the load and fault knobs as flags, until Ctrl-C. On Unix, SIGUSR1
//! restarts every simulated scheduler (state wiped, connections reset) and
//! SIGUSR2 drops every open stream.

use std::{net::SocketAddr, time::Duration};

use anyhow::Context;
use clap::Args;
use tonic::Code;

use switchyard_simulator::{
    Knobs, Rpc, SimulatorConfig, SimulatorFleet, config, faults::FailRule, parse_code,
};

/// Arguments of `switchyard simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Address to serve on. With --namespaces, its IP is used and the
    /// ports come from --base-port.
    #[arg(
        long,
        env = "SWITCHYARD_SIMULATE_LISTEN",
        default_value = "127.0.0.1:9004"
    )]
    pub listen: SocketAddr,

    /// Namespace of the single simulated scheduler.
    #[arg(
        long,
        env = "SWITCHYARD_SIMULATE_NAMESPACE",
        default_value = "ns1",
        conflicts_with = "namespaces"
    )]
    pub namespace: String,

    /// Serve this many namespaces, one scheduler each, on consecutive ports.
    #[arg(long, env = "SWITCHYARD_SIMULATE_NAMESPACES")]
    pub namespaces: Option<usize>,

    /// First port with --namespaces (namespace i listens on P + i - 1).
    #[arg(
        long,
        env = "SWITCHYARD_SIMULATE_BASE_PORT",
        default_value_t = 9004,
        requires = "namespaces"
    )]
    pub base_port: u16,

    /// Namespaces are named PREFIX1 .. PREFIXN.
    #[arg(
        long,
        env = "SWITCHYARD_SIMULATE_NAMESPACE_PREFIX",
        default_value = "ns",
        requires = "namespaces"
    )]
    pub namespace_prefix: String,

    /// Background model status updates per second, per namespace (0 = off).
    #[arg(long, env = "SWITCHYARD_SIMULATE_EVENT_RATE", default_value_t = 0.0)]
    pub event_rate: f64,

    /// Latency added to every call, in milliseconds.
    #[arg(long, env = "SWITCHYARD_SIMULATE_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,

    /// Time in each transient state (Progressing, Creating, Terminating), ms.
    #[arg(long, env = "SWITCHYARD_SIMULATE_TRANSITION_DELAY_MS",
          default_value_t = config::DEFAULT_TRANSITION_DELAY.as_millis() as u64)]
    pub transition_delay_ms: u64,

    /// Fail calls with this gRPC code (a name like `unavailable` or a number).
    #[arg(long, env = "SWITCHYARD_SIMULATE_FAIL_CODE", value_parser = parse_code)]
    pub fail_code: Option<Code>,

    /// Fail only this RPC (e.g. LoadModel); every RPC when absent.
    #[arg(long, env = "SWITCHYARD_SIMULATE_FAIL_RPC", requires = "fail_code")]
    pub fail_rpc: Option<Rpc>,

    /// Models loaded in every namespace at start (model-0 ..), to give the
    /// event generator something to report.
    #[arg(long, env = "SWITCHYARD_SIMULATE_PRELOAD_MODELS", default_value_t = 0)]
    pub preload_models: usize,

    /// Capacity of each subscriber's event queue; a subscriber that falls
    /// this far behind is disconnected.
    #[arg(long, env = "SWITCHYARD_SIMULATE_SUBSCRIBER_QUEUE", default_value_t = config::DEFAULT_SUBSCRIBER_QUEUE)]
    pub subscriber_queue: usize,

    /// Longest wait for the first ServerNotify (isFirstSync) before the
    /// control plane asks for experiments, models and pipelines, ms.
    #[arg(long, env = "SWITCHYARD_SIMULATE_SYNC_TIMEOUT_MS",
          default_value_t = config::DEFAULT_SYNC_TIMEOUT.as_millis() as u64)]
    pub sync_timeout_ms: u64,
}

impl SimulateArgs {
    /// The per-namespace config template and how many namespaces to start
    /// (`None` = the single `--namespace`).
    pub fn to_config(&self) -> (SimulatorConfig, Option<(usize, String)>) {
        let Self {
            listen,
            namespace,
            namespaces,
            base_port,
            namespace_prefix,
            event_rate,
            latency_ms,
            transition_delay_ms,
            fail_code,
            fail_rpc,
            preload_models,
            subscriber_queue,
            sync_timeout_ms,
        } = self;
        let mut config = SimulatorConfig::new(namespace.clone(), *listen);
        config.knobs = Knobs {
            transition_delay: Duration::from_millis(*transition_delay_ms),
            call_latency: Duration::from_millis(*latency_ms),
            event_rate: *event_rate,
            failure: fail_code.map(|code| FailRule {
                code,
                rpc: *fail_rpc,
            }),
        };
        config.preload_models = *preload_models;
        config.subscriber_queue = *subscriber_queue;
        config.sync_timeout = Duration::from_millis(*sync_timeout_ms);
        let fleet = namespaces.map(|count| {
            config.listen.set_port(*base_port);
            (count, namespace_prefix.clone())
        });
        (config, fleet)
    }
}

/// Runs the simulators until Ctrl-C.
pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let (config, fleet) = args.to_config();
    let fleet = match fleet {
        Some((count, prefix)) => SimulatorFleet::start(config, count, &prefix).await,
        None => {
            let namespace = config.namespace.clone();
            SimulatorFleet::start_named(config, vec![namespace]).await
        }
    }
    .context("starting simulated schedulers")?;
    for handle in fleet.handles() {
        tracing::info!(namespace = handle.namespace(), addr = %handle.local_addr(), "serving");
    }
    wait_for_signals(&fleet).await?;
    tracing::info!("shutting down");
    fleet
        .shutdown()
        .await
        .context("stopping simulated schedulers")
}

/// Runs until Ctrl-C, serving the fault signals meanwhile.
async fn wait_for_signals(fleet: &SimulatorFleet) -> anyhow::Result<()> {
    let signals = FaultSignals::install();
    tokio::select! {
        ctrl_c = tokio::signal::ctrl_c() => ctrl_c.context("waiting for Ctrl-C"),
        () = signals.serve(fleet) => Ok(()),
    }
}

/// On Unix, SIGUSR1 restarts every simulated scheduler of a fleet (state
/// wiped, connections reset) and SIGUSR2 drops their open streams.
/// `simulate` and `demo` both serve them; installed before anything is
/// printed, so a signal sent as soon as the addresses show is not fatal.
pub(crate) struct FaultSignals {
    #[cfg(unix)]
    handlers: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl FaultSignals {
    /// Installs the handlers (a failure is logged: no fault signals then).
    pub(crate) fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let handlers = signal(SignalKind::user_defined1())
                .and_then(|usr1| Ok((usr1, signal(SignalKind::user_defined2())?)))
                .inspect_err(|error| {
                    tracing::warn!(%error, "SIGUSR1/SIGUSR2 handlers not installed: no fault signals");
                })
                .ok();
            FaultSignals { handlers }
        }
        #[cfg(not(unix))]
        FaultSignals {}
    }

    /// Applies every signal to `fleet`. Never returns.
    pub(crate) async fn serve(self, fleet: &SimulatorFleet) {
        #[cfg(unix)]
        if let Some((mut restart, mut drop_streams)) = self.handlers {
            loop {
                tokio::select! {
                    _ = restart.recv() => {
                        tracing::info!("SIGUSR1: restarting every simulated scheduler");
                        fleet.handles().iter().for_each(|h| h.restart());
                    }
                    _ = drop_streams.recv() => {
                        tracing::info!("SIGUSR2: dropping every simulated scheduler's streams");
                        fleet.handles().iter().for_each(|h| { h.drop_streams(); });
                    }
                }
            }
        }
        let _ = fleet;
        std::future::pending::<()>().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<SimulateArgs, clap::Error> {
        let mut argv = vec!["switchyard", "simulate"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).map(|cli| match cli.command {
            Command::Simulate(args) => args,
            other => panic!("`switchyard simulate` parsed as {other:?}"),
        })
    }

    #[test]
    fn single_namespace() {
        let args = parse(&["--listen", "127.0.0.1:9100", "--namespace", "seldon"]);
        let (config, fleet) = args.map(|a| a.to_config()).expect("valid flags");
        assert_eq!(config.namespace, "seldon");
        assert_eq!(config.listen.port(), 9100);
        assert!(fleet.is_none());
    }

    #[test]
    fn several_namespaces_and_knobs() {
        let args = parse(&[
            "--namespaces",
            "3",
            "--base-port",
            "9200",
            "--namespace-prefix",
            "team-",
            "--event-rate",
            "50",
            "--latency-ms",
            "5",
            "--fail-code",
            "unavailable",
            "--fail-rpc",
            "LoadModel",
        ]);
        let (config, fleet) = args.map(|a| a.to_config()).expect("valid flags");
        assert_eq!(fleet, Some((3, "team-".to_string())));
        assert_eq!(config.listen.port(), 9200);
        assert_eq!(config.knobs.event_rate, 50.0);
        assert_eq!(config.knobs.call_latency, Duration::from_millis(5));
        assert_eq!(
            config.knobs.failure,
            Some(FailRule {
                code: Code::Unavailable,
                rpc: Some(Rpc::LoadModel)
            })
        );
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(parse(&["--namespace", "a", "--namespaces", "2"]).is_err());
        assert!(parse(&["--fail-rpc", "LoadModel"]).is_err());
        assert!(parse(&["--fail-code", "bogus"]).is_err());
        assert!(parse(&["--base-port", "9000"]).is_err());
    }
}
