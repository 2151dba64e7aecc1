//! `switchyard run`: the gateway in front of every configured scheduler,
//! with `/metrics` on its own port, until Ctrl-C or SIGTERM; with
//! `--kubernetes`, also the operator side (discovery, leader election).
//!
//! Options flow one way: config file -> flags and `SWITCHYARD_*` variables
//! laid over it ([`args`]) -> defaults filled and checked ([`resolve`]) ->
//! [`AppConfig`]. `--print-config` prints the checked options as TOML.

use std::io::Write;

use crate::app::{App, AppConfig};
use crate::telemetry::logs::LogSettings;

mod args;
mod resolve;
#[cfg(test)]
mod tests;

pub use args::RunArgs;

/// Merges the file, variables, flags and defaults; `Ok(None)` when
/// `--print-config` printed them to `out` instead.
pub fn app_config_or_print(
    args: RunArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Option<AppConfig>> {
    app_config_in(args, std::env::var("POD_NAMESPACE").ok(), out)
}

/// [`app_config_or_print`] with `pod_namespace` for the `POD_NAMESPACE`
/// variable (tests must not depend on the machine's environment).
fn app_config_in(
    args: RunArgs,
    pod_namespace: Option<String>,
    out: &mut dyn Write,
) -> anyhow::Result<Option<AppConfig>> {
    Ok(configure(args, pod_namespace, None, out)?.map(|(config, _)| config))
}

/// The [`AppConfig`] and how to log (`rust_log`: the `RUST_LOG` variable);
/// `None` when `--print-config` printed the options to `out` instead.
fn configure(
    args: RunArgs,
    pod_namespace: Option<String>,
    rust_log: Option<&str>,
    out: &mut dyn Write,
) -> anyhow::Result<Option<(AppConfig, LogSettings)>> {
    let layered = args.layer()?;
    let merged = resolve::merged(&layered, pod_namespace, rust_log)?;
    if layered.print_config {
        out.write_all(toml::to_string(&merged)?.as_bytes())?;
        return Ok(None);
    }
    let log = resolve::log_settings(&merged);
    Ok(Some((resolve::app_config(layered, merged)?, log)))
}

/// Runs until Ctrl-C / SIGTERM (or prints the configuration and returns).
/// Logging starts here, once the options are merged.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let rust_log = std::env::var("RUST_LOG").ok();
    let Some((config, log)) = configure(
        args,
        std::env::var("POD_NAMESPACE").ok(),
        rust_log.as_deref(),
        &mut std::io::stdout().lock(),
    )?
    else {
        return Ok(());
    };
    crate::telemetry::logs::init(&log.filter, log.format)?;
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
