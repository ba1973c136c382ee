//! `soundscribe config check FILE`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use soundscribe::config::Config;

/// `soundscribe config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Parse and validate a TOML config; print the effective config (defaults filled in).
    Check {
        /// The TOML file.
        file: PathBuf,
        /// Only validate; print nothing on success.
        #[arg(long, short)]
        quiet: bool,
    },
}

pub(super) fn run(cmd: &ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Check { file, quiet } => match Config::load(file) {
            Ok(config) => {
                if !quiet {
                    print!(
                        "# effective configuration of {}\n{}",
                        file.display(),
                        config.to_toml()
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(ExitCode::from(1))
            }
        },
    }
}
