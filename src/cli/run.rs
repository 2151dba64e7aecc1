//! `switchyard run`: the gateway in front of every configured scheduler,
//! with `/metrics` on its own port, until Ctrl-C or SIGTERM; with
//! `--kubernetes`, also the operator side (discovery, leader election).

use std::net::SocketAddr;
#[cfg(test)]
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::app::{App, AppConfig, KubeConnection, KubernetesConfig};
use crate::config::{FileConfig, KubernetesSection, SchedulerConfig};
use crate::operator::leader::{self, LeaderElectionConfig};
use crate::operator::runtimes::DEFAULT_FINALIZER_RECHECK;
use crate::operator::{SchedulerAddressing, WatchScope};
use crate::registry::spec;
use crate::registry::static_file::DEFAULT_POLL_INTERVAL;

/// Default gateway address: the scheduler's own port, so Seldon's clients
/// need only a new host name.
pub const DEFAULT_GATEWAY_LISTEN: &str = "0.0.0.0:9004";
/// Default address of `/metrics`, `/healthz` and `/readyz`.
pub const DEFAULT_METRICS_LISTEN: &str = "0.0.0.0:9100";

/// Arguments of `switchyard run`. Flags win over the config file.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Config file (TOML); its [[runtimes]] are followed while running.
    #[arg(long, env = "SWITCHYARD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address of the gateway endpoint [default: 0.0.0.0:9004].
    #[arg(long, env = "SWITCHYARD_GATEWAY_LISTEN", value_name = "ADDR")]
    pub gateway_listen: Option<SocketAddr>,
    /// Address of /metrics, /healthz and /readyz [default: 0.0.0.0:9100].
    #[arg(long, env = "SWITCHYARD_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Namespace for requests that name none.
    #[arg(long, env = "SWITCHYARD_DEFAULT_NAMESPACE", value_name = "NS")]
    pub default_namespace: Option<String>,
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
    /// Scheduler address of a namespace, {namespace} substituted
    /// [default: seldon-scheduler.{namespace}:9004, :9044 with TLS].
    #[arg(
        long,
        env = "SWITCHYARD_SCHEDULER_ADDRESS_TEMPLATE",
        value_name = "TEMPLATE"
    )]
    pub scheduler_address_template: Option<String>,
}

/// The `--kubernetes` flags, taken out of [`RunArgs`] together.
struct KubeFlags {
    kubernetes: Option<bool>,
    kubeconfig: Option<PathBuf>,
    clusterwide: Option<bool>,
    watch_namespaces: Option<Vec<String>>,
    namespace: Option<String>,
    leader_elect: Option<bool>,
    lease_name: Option<String>,
    lease_duration: Option<u64>,
    renew_deadline: Option<u64>,
    retry_period: Option<u64>,
}

/// The operator side from flags over the `[kubernetes]` section; `None`
/// when it is not enabled.
fn kubernetes_config(
    flags: KubeFlags,
    section: KubernetesSection,
    scheduler: &SchedulerConfig,
    address_template: Option<String>,
) -> anyhow::Result<Option<KubernetesConfig>> {
    let KubernetesSection {
        enabled,
        kubeconfig,
        clusterwide,
        watch_namespaces,
        namespace,
        leader_elect,
        lease_name,
        lease_duration_seconds,
        renew_deadline_seconds,
        retry_period_seconds,
        scheduler_addresses,
    } = section;
    if !flags.kubernetes.or(enabled).unwrap_or(false) {
        return Ok(None);
    }
    let namespace = flags
        .namespace
        .or(namespace)
        .or_else(|| std::env::var("POD_NAMESPACE").ok())
        .filter(|n| !n.is_empty());
    let watch_namespaces = flags.watch_namespaces.unwrap_or(watch_namespaces);
    let scope = WatchScope::resolve(
        flags.clusterwide.or(clusterwide).unwrap_or(false),
        &watch_namespaces,
        namespace.as_deref(),
    );
    let leader_election = if flags.leader_elect.or(leader_elect).unwrap_or(true) {
        let namespace = namespace.clone().ok_or_else(|| {
            anyhow::anyhow!("leader election needs the operator's namespace: pass --namespace or set POD_NAMESPACE (or --leader-elect=false)")
        })?;
        let mut election = LeaderElectionConfig::new(namespace);
        if let Some(name) = flags.lease_name.or(lease_name) {
            election.lease_name = name;
        }
        let secs = |flag: Option<u64>, file: Option<u64>, default: Duration| {
            flag.or(file).map_or(default, Duration::from_secs)
        };
        election.lease_duration = secs(
            flags.lease_duration,
            lease_duration_seconds,
            leader::DEFAULT_LEASE_DURATION,
        );
        election.renew_deadline = secs(
            flags.renew_deadline,
            renew_deadline_seconds,
            leader::DEFAULT_RENEW_DEADLINE,
        );
        election.retry_period = secs(
            flags.retry_period,
            retry_period_seconds,
            leader::DEFAULT_RETRY_PERIOD,
        );
        election.validate()?;
        Some(election)
    } else {
        None
    };
    let template = address_template
        .or_else(|| scheduler.address_template.clone())
        .unwrap_or_else(|| spec::default_template(scheduler.tls.is_some()));
    Ok(Some(KubernetesConfig {
        connection: flags
            .kubeconfig
            .or(kubeconfig)
            .map_or(KubeConnection::Infer, KubeConnection::Kubeconfig),
        scope,
        addressing: SchedulerAddressing {
            template,
            overrides: scheduler_addresses,
            tls: scheduler.tls.clone(),
        },
        leader_election,
        finalizer_recheck: DEFAULT_FINALIZER_RECHECK,
    }))
}

/// Merges flags over the file over the defaults.
pub fn app_config(args: RunArgs) -> anyhow::Result<AppConfig> {
    let RunArgs {
        config,
        gateway_listen,
        metrics_listen,
        default_namespace,
        kubernetes,
        kubeconfig,
        clusterwide,
        watch_namespaces,
        namespace,
        leader_elect,
        leader_elect_lease_name,
        leader_elect_lease_duration,
        leader_elect_renew_deadline,
        leader_elect_retry_period,
        scheduler_address_template,
    } = args;
    let kube_flags = KubeFlags {
        kubernetes,
        kubeconfig,
        clusterwide,
        watch_namespaces,
        namespace,
        leader_elect,
        lease_name: leader_elect_lease_name,
        lease_duration: leader_elect_lease_duration,
        renew_deadline: leader_elect_renew_deadline,
        retry_period: leader_elect_retry_period,
    };
    let file = match &config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let FileConfig {
        mut gateway,
        metrics,
        scheduler,
        runtimes: _,
        kubernetes: kubernetes_section,
    } = file;
    let kubernetes = kubernetes_config(
        kube_flags,
        kubernetes_section,
        &scheduler,
        scheduler_address_template,
    )?;
    if default_namespace.is_some() {
        gateway.default_namespace = default_namespace;
    }
    let gateway_listen = gateway_listen.or(gateway.listen).unwrap_or_else(|| {
        DEFAULT_GATEWAY_LISTEN
            .parse()
            .expect("a valid constant address")
    });
    let metrics_listen = metrics_listen.or(metrics.listen).unwrap_or_else(|| {
        DEFAULT_METRICS_LISTEN
            .parse()
            .expect("a valid constant address")
    });
    Ok(AppConfig {
        gateway,
        gateway_listen,
        metrics_listen: Some(metrics_listen),
        // The scheduler section and the runtimes are read by the poller, so
        // edits to them apply while running.
        runtimes_file: config,
        runtimes_poll: DEFAULT_POLL_INTERVAL,
        kubernetes,
    })
}

/// Runs until Ctrl-C / SIGTERM.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let config = app_config(args)?;
    let metrics = crate::telemetry::install_metrics()?;
    let app = App::start(config, Some(metrics)).await?;
    app.run_until(shutdown_signal()).await
}

/// Ctrl-C, or SIGTERM (how Kubernetes stops a pod).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(args: &[&str]) -> AppConfig {
        let cli = Cli::try_parse_from(std::iter::once("run").chain(args.iter().copied())).unwrap();
        app_config(cli.run).unwrap()
    }

    #[test]
    fn kubernetes_is_off_unless_asked_for() {
        assert!(parse(&[]).kubernetes.is_none());
        assert!(parse(&["--kubernetes=false"]).kubernetes.is_none());
    }

    #[test]
    fn kubernetes_flags_shape_the_operator() {
        let config = parse(&[
            "--kubernetes",
            "--namespace",
            "seldon-system",
            "--watch-namespaces",
            "a,b",
            "--leader-elect-lease-name",
            "mine",
            "--leader-elect-lease-duration",
            "30",
            "--scheduler-address-template",
            "127.0.0.1:{namespace}",
        ]);
        let kube = config.kubernetes.unwrap();
        assert_eq!(
            kube.scope,
            WatchScope::Namespaces(["a", "b", "seldon-system"].map(String::from).into())
        );
        let election = kube.leader_election.unwrap();
        assert_eq!(election.lease_name, "mine");
        assert_eq!(election.namespace, "seldon-system");
        assert_eq!(election.lease_duration, Duration::from_secs(30));
        assert_eq!(election.renew_deadline, leader::DEFAULT_RENEW_DEADLINE);
        assert_eq!(kube.addressing.spec_for("x").address, "127.0.0.1:x");
        assert!(matches!(kube.connection, KubeConnection::Infer));

        let config = parse(&[
            "--kubernetes",
            "--leader-elect=false",
            "--clusterwide",
            "--kubeconfig",
            "/k",
        ]);
        let kube = config.kubernetes.unwrap();
        assert!(kube.leader_election.is_none());
        assert_eq!(kube.scope, WatchScope::AllNamespaces);
        assert!(matches!(kube.connection, KubeConnection::Kubeconfig(p) if p == Path::new("/k")));
    }

    #[test]
    fn bad_durations_are_refused_with_the_reason() {
        let cli = Cli::try_parse_from([
            "run",
            "--kubernetes",
            "--namespace",
            "ns",
            "--leader-elect-renew-deadline",
            "20",
        ])
        .unwrap();
        let err = app_config(cli.run).unwrap_err().to_string();
        assert!(err.contains("renew deadline"), "{err}");
    }
}
