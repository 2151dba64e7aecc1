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
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
