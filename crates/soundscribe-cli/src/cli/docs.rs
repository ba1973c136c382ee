//! `soundscribe completions SHELL` and `soundscribe man`: shell completion scripts and the
//! roff man page, generated from the same argument definitions the binary parses.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use super::Args;

/// Arguments of `soundscribe completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for (on stdout).
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub(super) fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = Args::command();
    clap_complete::generate(args.shell, &mut cmd, "soundscribe", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

pub(super) fn man() -> anyhow::Result<ExitCode> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Args::command()).render(&mut page)?;
    std::io::stdout().write_all(&page)?;
    Ok(ExitCode::SUCCESS)
}
