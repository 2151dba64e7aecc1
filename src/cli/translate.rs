//! `switchyard translate FILE`: a dry run. For each resource in a YAML file,
//! print the scheduler request Seldon's operator would send (proto3 JSON),
//! or the error naming the offending field.

use std::path::PathBuf;

use clap::Args;

use crate::cmd::translate::{DEFAULT_NAMESPACE, run_in_namespace};

/// Arguments of `switchyard translate`.
#[derive(Debug, Args)]
pub struct TranslateArgs {
    /// YAML file holding one or more resources (`---` separated).
    pub file: PathBuf,
    /// Also write each request as encoded protobuf, one file per resource.
    #[arg(long, value_name = "DIR")]
    pub binary: Option<PathBuf>,
    /// Namespace for resources whose metadata names none.
    #[arg(long, short = 'n', default_value = DEFAULT_NAMESPACE)]
    pub namespace: String,
}

/// Runs the dry run; fails when any document could not be translated.
pub fn run(args: TranslateArgs) -> anyhow::Result<()> {
    let summary = run_in_namespace(
        &args.file,
        args.binary.as_deref(),
        &args.namespace,
        &mut std::io::stdout().lock(),
    )?;
    if summary.is_success() {
        Ok(())
    } else {
        anyhow::bail!(
            "{} of {} documents in {} could not be translated (see the errors above)",
            summary.failed,
            summary.documents,
            args.file.display()
        )
    }
}
