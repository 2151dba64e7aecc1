//! `demo` and `simulate` in a build without the `demo` feature (the
//! container image): they parse, and say how to get them.

use clap::Args;

/// Whatever was typed after the subcommand; ignored.
#[derive(Debug, Args)]
pub struct NotBuilt {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    _ignored: Vec<String>,
}

/// The development tools (the Kubernetes API double and the simulated
/// schedulers) are not in this build.
pub(crate) async fn run(_: NotBuilt) -> anyhow::Result<()> {
    anyhow::bail!(
        "this switchyard was built without its development tools (`demo`, `simulate`); \
         build it with the default features (`cargo run --release -- demo`) to use them"
    )
}
