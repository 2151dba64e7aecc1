//! The command line: `switchyard <COMMAND>`. Each subcommand has its own
//! module under `cli/` holding its arguments (clap derive, with `SWITCHYARD_*`
//! environment fallbacks) and its `run` function; `main` only parses and
//! dispatches.

use clap::{Parser, Subcommand};

pub mod simulate;

pub use simulate::SimulateArgs;

/// switchyard: a global-mode operator and gateway for Seldon Core v2.
#[derive(Debug, Parser)]
#[command(name = "switchyard", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve simulated Seldon schedulers (one per namespace) from memory.
    Simulate(SimulateArgs),
    /// Print the CustomResourceDefinitions of the seven mlops.seldon.io
    /// kinds (apply with `kubectl apply --server-side -f -`).
    Crds,
}

impl Cli {
    /// Runs the chosen subcommand to completion.
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Simulate(args) => simulate::run(args).await,
            Command::Crds => crate::cmd::crds::run(&mut std::io::stdout().lock()),
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
