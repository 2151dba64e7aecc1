//! The switchyard binary: parse the command line, set up logging, run.

use std::process::ExitCode;

use clap::Parser;
use switchyard::cli::{Cli, init_tracing};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.default_log_filter());
    match cli.run().await {
        Ok(()) => ExitCode::SUCCESS,
        // `switchyard crds | head`: the reader left; that is not a failure.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
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
