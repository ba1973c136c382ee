//! `soundscribe config check FILE`: daemon (`serve`, `caption`) and training (`train`,
//! `distill`) configs, told apart by their sections; `--deep` also loads what they name.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};

use soundscribe::config::{Config, SourceConfig};
use soundscribe_offline::train::config::TrainConfig;

/// `soundscribe config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Parse and validate a TOML config; print the effective config (defaults filled in).
    Check {
        /// The TOML file.
        file: PathBuf,
        /// Which kind of config it is (default: told from its sections).
        #[arg(long, value_enum, default_value = "auto")]
        kind: Kind,
        /// Also check that the files it names exist and that its model directory and
        /// sentence embedder load (slower: loads the model on the CPU).
        #[arg(long)]
        deep: bool,
        /// Only validate; print nothing on success.
        #[arg(long, short)]
        quiet: bool,
    },
}

/// The kinds of configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Tell from the sections: `[optim]`, `[data]`, `[loss]`, `[validate]`,
    /// `[checkpoint]`, `[augment]` or `[distill]` make a training config.
    Auto,
    /// `serve` / `caption` / `audio` (sources, windowing, model, decoding, publishing).
    Daemon,
    /// `train` / `distill`.
    Train,
}

/// Sections only a training config has.
const TRAIN_SECTIONS: [&str; 7] = [
    "optim",
    "data",
    "loss",
    "validate",
    "checkpoint",
    "augment",
    "distill",
];

fn detect(file: &Path) -> Kind {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Kind::Daemon; // the loader reports the unreadable file
    };
    match text.parse::<toml::Table>() {
        Ok(table) if TRAIN_SECTIONS.iter().any(|s| table.contains_key(*s)) => Kind::Train,
        _ => Kind::Daemon,
    }
}

pub(super) fn run(cmd: &ConfigCommand) -> anyhow::Result<ExitCode> {
    let ConfigCommand::Check {
        file,
        kind,
        deep,
        quiet,
    } = cmd;
    let kind = match kind {
        Kind::Auto => detect(file),
        k => *k,
    };
    let checked = match kind {
        Kind::Train => TrainConfig::load(file)
            .map_err(|e| e.to_string())
            .and_then(|c| {
                if *deep {
                    deep_train(&c)?;
                }
                Ok(("training", toml::to_string_pretty(&c).unwrap_or_default()))
            }),
        _ => Config::load(file).map_err(|e| e.to_string()).and_then(|c| {
            if *deep {
                deep_daemon(file, &c)?;
            }
            Ok(("daemon", c.to_toml()))
        }),
    };
    match checked {
        Ok((what, effective)) => {
            if !quiet {
                print!(
                    "# effective {what} configuration of {}\n{effective}",
                    file.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Every input file exists and decodes, the model directory and the embedder load.
fn deep_daemon(file: &Path, c: &Config) -> Result<(), String> {
    let at = |field: &str, e: &dyn std::fmt::Display| format!("{}: {field}: {e}", file.display());
    for (i, s) in c.sources.iter().enumerate() {
        if let SourceConfig::File(f) = s {
            soundscribe::audio::file::FileReader::open(&f.path)
                .map_err(|e| at(&format!("sources[{i}].path"), &e))?;
        }
    }
    let device = tch::Device::Cpu;
    match &c.model.dir {
        Some(dir) => {
            soundscribe::model::AnyModel::load(dir, device).map_err(|e| at("model.dir", &e))?;
        }
        None => return Err(at("model.dir", &"is not set")),
    }
    if let Some(e) = &c.decoding.rerank.embedder {
        soundscribe::model::text::SentenceEmbedder::load(e, device)
            .map_err(|err| at("decoding.rerank.embedder", &err))?;
    }
    Ok(())
}

/// Every data index and model directory the run names exists.
fn deep_train(c: &TrainConfig) -> Result<(), String> {
    for s in c.data.train.iter().chain(&c.data.val) {
        let p = s.index();
        if !p.exists() {
            return Err(format!("data: {} does not exist", p.display()));
        }
    }
    Ok(())
}
