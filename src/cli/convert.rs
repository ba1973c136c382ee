//! `soundscribe convert teacher ...`: foreign checkpoints → a model directory, once.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::model::convert_teacher::{convert_teacher, TeacherSources};

/// `soundscribe convert ...`
#[derive(Debug, Subcommand)]
pub enum ConvertCommand {
    /// The seed-1 BEATs → Conformer → BART captioner release.
    Teacher {
        /// Captioner `state_dict` (`pytorch_model.bin`).
        #[arg(long)]
        checkpoint: PathBuf,
        /// `config.json` (BartConfig plus the seed's fields).
        #[arg(long)]
        config: PathBuf,
        /// `conformer_config.json`.
        #[arg(long)]
        conformer_config: PathBuf,
        /// BEATs checkpoint (`{"cfg", "model"}` .pt); its `cfg` gives BEATs' dimensions.
        #[arg(long)]
        beats: PathBuf,
        /// Output model directory (`model.safetensors` + `model.json`).
        #[arg(long)]
        out: PathBuf,
    },
}

pub(super) fn run(cmd: &ConvertCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConvertCommand::Teacher {
            checkpoint,
            config,
            conformer_config,
            beats,
            out,
        } => {
            let src = TeacherSources {
                checkpoint: checkpoint.clone(),
                config: config.clone(),
                conformer_config: conformer_config.clone(),
                beats: beats.clone(),
            };
            let report = convert_teacher(&src, out)?;
            for d in &report.dropped {
                tracing::debug!(message = "Checkpoint tensor not needed for inference.", tensor = %d);
            }
            println!(
                "wrote {} ({} tensors, {} parameters; {} checkpoint tensors not needed for inference)",
                out.display(),
                report.written,
                report.parameters,
                report.dropped.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
