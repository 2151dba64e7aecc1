//! The switchyard binary: parse the command line, set up logging, run.

use clap::Parser;
use switchyard::cli::{Cli, init_tracing};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing();
    cli.run().await
}
