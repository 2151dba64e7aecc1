//! The command line: `switchyard <COMMAND>`. Each subcommand has its own
//! module under `cli/` holding its arguments (clap derive, with `SWITCHYARD_*`
//! environment fallbacks) and its `run` function; `main` only parses and
//! dispatches.

use clap::{Parser, Subcommand};

#[cfg(feature = "demo")]
pub mod demo;
#[cfg(not(feature = "demo"))]
mod not_built;
pub mod run;
#[cfg(feature = "demo")]
pub mod simulate;
pub mod translate;

#[cfg(feature = "demo")]
pub use demo::DemoArgs;
#[cfg(not(feature = "demo"))]
use not_built::{self as demo, NotBuilt as DemoArgs};
#[cfg(not(feature = "demo"))]
use not_built::{self as simulate, NotBuilt as SimulateArgs};
pub use run::RunArgs;
#[cfg(feature = "demo")]
pub use simulate::SimulateArgs;
pub use translate::TranslateArgs;

/// switchyard: a global-mode operator and gateway for Seldon Core v2.
#[derive(Debug, Parser)]
#[command(name = "switchyard", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway in front of the configured schedulers.
    Run(Box<RunArgs>),
    /// Three simulated namespaces behind the gateway, with live status.
    #[cfg_attr(
        not(feature = "demo"),
        command(about = "Not in this build (built without the `demo` feature)")
    )]
    Demo(DemoArgs),
    /// Serve simulated Seldon schedulers (one per namespace) from memory.
    #[cfg_attr(
        not(feature = "demo"),
        command(about = "Not in this build (built without the `demo` feature)")
    )]
    Simulate(SimulateArgs),
    /// Print the CustomResourceDefinitions of the seven mlops.seldon.io
    /// kinds (apply with `kubectl apply --server-side -f -`).
    Crds,
    /// Dry run: print the scheduler request each resource in FILE becomes.
    Translate(TranslateArgs),
}

impl Cli {
    /// Runs the chosen subcommand to completion.
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Run(args) => run::run(*args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Simulate(args) => simulate::run(args).await,
            Command::Crds => crate::cmd::crds::run(&mut std::io::stdout().lock()),
            Command::Translate(args) => translate::run(args),
        }
    }
}

impl Cli {
    /// The log filter when `RUST_LOG` is unset: the demo shows its status
    /// lines, so it logs only warnings; everything else logs `info`.
    pub fn default_log_filter(&self) -> &'static str {
        match self.command {
            Command::Demo(_) => "warn",
            _ => "info",
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `default_filter`).
pub fn init_tracing(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
