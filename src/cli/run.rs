//! `switchyard run`: the gateway in front of every configured scheduler,
//! with `/metrics` on its own port, until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::app::{App, AppConfig};
use crate::config::FileConfig;
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
}

/// Merges flags over the file over the defaults.
pub fn app_config(args: RunArgs) -> anyhow::Result<AppConfig> {
    let RunArgs {
        config,
        gateway_listen,
        metrics_listen,
        default_namespace,
    } = args;
    let file = match &config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let FileConfig {
        mut gateway,
        metrics,
        scheduler: _,
        runtimes: _,
    } = file;
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
