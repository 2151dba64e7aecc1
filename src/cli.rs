//! The command line: `switchyard <COMMAND>`. Each subcommand has its own
//! module under `cli/` holding its arguments (clap derive, with `SWITCHYARD_*`
//! environment fallbacks) and its `run` function; `main` only parses and
//! dispatches.

use clap::{Parser, Subcommand};

use crate::telemetry::logs::{self, LogFormat, LogSettings};

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
    /// How to log before the subcommand reads its own options, and for
    /// the subcommands that have none: `run`'s `--log-level` and
    /// `--log-format` (flags or variables), else `RUST_LOG`, else `info`
    /// (`warn` for the demo, which prints its own status lines).
    pub fn early_log(&self) -> LogSettings {
        let rust_log = std::env::var("RUST_LOG").ok();
        let (configured, format) = match &self.command {
            Command::Run(args) => args.early_log(),
            _ => (None, LogFormat::Plain),
        };
        let default = match self.command {
            Command::Demo(_) => "warn",
            _ => logs::DEFAULT_LEVEL,
        };
        LogSettings {
            filter: logs::choose_filter(configured.as_deref(), rust_log.as_deref(), default),
            format,
        }
    }

    /// Whether the subcommand starts logging itself, once its options are
    /// merged (`run`: `[log]` of the config file).
    pub fn logs_itself(&self) -> bool {
        matches!(self.command, Command::Run(_))
    }
}
