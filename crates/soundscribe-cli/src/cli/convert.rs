//! `soundscribe convert teacher|seed1|seed2|aisfx ...`: foreign checkpoints → a model directory, once.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use soundscribe_offline::convert::aisfx::convert_aisfx;
use soundscribe_offline::convert::seed2::{convert_seed2, Seed2Sources};
use soundscribe_offline::convert::teacher::{convert_teacher, ConvertReport, TeacherSources};

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
    /// The seed-1 release as published: a directory with `pytorch_model.bin`,
    /// `config.json` and `conformer_config.json`, plus the BEATs `.pt` (same as `teacher`).
    Seed1 {
        /// The captioner release directory.
        #[arg(long)]
        captioner: PathBuf,
        /// BEATs checkpoint (`{"cfg", "model"}` .pt).
        #[arg(long)]
        beats: PathBuf,
        /// Output model directory (`model.safetensors` + `model.json`).
        #[arg(long)]
        out: PathBuf,
    },
    /// A seed-2 student release (`Effb2TrmCaptioningModel`: EfficientNet-B2 + transformer).
    Seed2 {
        /// `state_dict` (`pytorch_model.bin`).
        #[arg(long)]
        checkpoint: PathBuf,
        /// `config.json` (`Effb2TrmConfig`).
        #[arg(long)]
        config: PathBuf,
        /// Word list (index = id): a JSON list of strings or one word per line.
        #[arg(long)]
        vocab: Option<PathBuf>,
        /// Output model directory (`model.safetensors` + `model.json` [+ `vocab.json`]).
        #[arg(long)]
        out: PathBuf,
    },
    /// The aisfx CNN-8 sound-effects encoder (`aisfx/models/checkpoint.pth`), the student's encoder.
    Aisfx {
        /// aisfx `checkpoint.pth` (`(state_dict, ds_dict)`).
        #[arg(long)]
        checkpoint: PathBuf,
        /// Output directory (`aisfx.safetensors` + `aisfx.json`).
        #[arg(long)]
        out: PathBuf,
    },
    /// A model directory with its weights stored as float16 (half the size; loading
    /// widens them back to float32). Other files are copied.
    Half {
        /// The model directory.
        #[arg(long)]
        model: PathBuf,
        /// Output model directory.
        #[arg(long)]
        out: PathBuf,
    },
}

fn print_report(out: &std::path::Path, report: &ConvertReport) {
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
            print_report(out, &convert_teacher(&src, out)?);
            Ok(ExitCode::SUCCESS)
        }
        ConvertCommand::Seed2 {
            checkpoint,
            config,
            vocab,
            out,
        } => {
            let src = Seed2Sources {
                checkpoint: checkpoint.clone(),
                config: config.clone(),
                vocab: vocab.clone(),
            };
            print_report(out, &convert_seed2(&src, out)?);
            Ok(ExitCode::SUCCESS)
        }
        ConvertCommand::Seed1 {
            captioner,
            beats,
            out,
        } => {
            let src = TeacherSources {
                checkpoint: captioner.join("pytorch_model.bin"),
                config: captioner.join("config.json"),
                conformer_config: captioner.join("conformer_config.json"),
                beats: beats.clone(),
            };
            print_report(out, &convert_teacher(&src, out)?);
            Ok(ExitCode::SUCCESS)
        }
        ConvertCommand::Aisfx { checkpoint, out } => {
            print_report(out, &convert_aisfx(checkpoint, out)?);
            Ok(ExitCode::SUCCESS)
        }
        ConvertCommand::Half { model, out } => {
            let (n, bytes) = soundscribe_offline::convert::half::convert_half(model, out)?;
            println!(
                "wrote {} ({n} tensors as float16, {bytes} bytes)",
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
