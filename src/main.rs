//! The switchyard binary: parse the command line, set up logging, run.

use std::process::ExitCode;

use clap::Parser;
use switchyard::cli::Cli;
use switchyard::telemetry::logs::{self, LogFormat, LogSettings};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let early = cli.early_log();
    if !cli.logs_itself() {
        start_logging(&early, true);
    }
    match cli.run().await {
        Ok(()) => ExitCode::SUCCESS,
        // `switchyard crds | head`: the reader left; that is not a failure.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            // A config file that cannot be read fails before `run` starts
            // logging: report it in the format the flags ask for.
            if !logs::is_initialised() {
                start_logging(&early, false);
            }
            let message = format!("{error:#}");
            let message = message.trim_end();
            match early.format {
                LogFormat::Json => tracing::error!(error = %message, "switchyard failed"),
                LogFormat::Plain => eprintln!("error: {}", logs::one_line(message)),
            }
            ExitCode::FAILURE
        }
    }
}

/// Starts logging; a bad filter (`RUST_LOG`, `--log-level`) logs at the
/// default instead, saying so when `warn` (otherwise the error reported
/// next names it).
fn start_logging(settings: &LogSettings, warn: bool) {
    if let Err(error) = logs::init(&settings.filter, settings.format) {
        let _ = logs::init(logs::DEFAULT_LEVEL, settings.format);
        if warn {
            tracing::warn!(%error, "logging at {}", logs::DEFAULT_LEVEL);
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    error.chain().any(|cause| {
        // serde_json keeps the io::Error to itself (it is not its source).
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .is_some_and(|json| json.io_error_kind() == Some(BrokenPipe))
    })
}
