//! `soundscribe data build`: the offline training set from sound packages.

use std::path::PathBuf;
use std::process::ExitCode;

use soundscribe_offline::dataset::build::{build, BuildOptions};

/// `soundscribe data` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum DataCommand {
    /// Label, cut and mix package sound files into clips and train/val/test JSONL manifests.
    Build(BuildArgs),
}

/// Arguments of `soundscribe data build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Rule table (path regex → label → caption phrases, held-out packages).
    #[arg(long, default_value = "data/rules.toml")]
    rules: PathBuf,
    /// Folder of extracted packages (scripts/fetch-sound-packages.sh).
    #[arg(long, default_value = "assets/sound-packages")]
    root: PathBuf,
    /// Output folder: clips/, train.jsonl, val.jsonl, test.jsonl, summary.txt.
    #[arg(long)]
    out: PathBuf,
    /// Only these packages (comma-separated; default: all under --root).
    #[arg(long, value_delimiter = ',')]
    packages: Option<Vec<String>>,
    /// Seed of every random choice (captions, mixtures).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Multi-event clips per split, as a fraction of its single-source clips.
    #[arg(long, default_value_t = 0.3)]
    mix_fraction: f64,
    /// Decoding threads (default: the available cores).
    #[arg(long)]
    jobs: Option<usize>,
}

pub(super) fn run(cmd: &DataCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DataCommand::Build(a) => {
            if !(0.0..=10.0).contains(&a.mix_fraction) {
                anyhow::bail!("--mix-fraction {} is not in 0..=10", a.mix_fraction);
            }
            let start = std::time::Instant::now();
            let jobs = a.jobs.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            });
            let report = build(&BuildOptions {
                rules: a.rules.clone(),
                root: a.root.clone(),
                out: a.out.clone(),
                packages: a.packages.clone(),
                seed: a.seed,
                mix_fraction: a.mix_fraction,
                jobs,
            })?;
            print!("{report}");
            println!(
                "built {} in {:.1} s",
                a.out.display(),
                start.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
