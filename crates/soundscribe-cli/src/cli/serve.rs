//! `soundscribe serve`: runs the daemon (`soundscribe::daemon`) on a config file.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `soundscribe serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The TOML configuration (see `config/default.toml`).
    #[arg(long, short)]
    config: PathBuf,
}

pub(super) fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    Ok(if soundscribe::daemon::run(&args.config)? {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
