//! `soundscribe train`, `distill` and `plot`.

use std::path::PathBuf;
use std::process::ExitCode;

use soundscribe_offline::train::config::{DataSource, DistillSection, TrainConfig};
use soundscribe_offline::train::trainer::{run, RunOptions};

/// Where a run lives and how this invocation treats it (shared by `train` and `distill`).
#[derive(Debug, clap::Args)]
pub struct RunFlags {
    /// Run directory: checkpoints, log.jsonl, best/ and final/ model directories.
    #[arg(long)]
    run_dir: PathBuf,
    /// Continue from the newest checkpoint in the run directory.
    #[arg(long)]
    resume: bool,
    /// No progress bar (logs only).
    #[arg(long)]
    no_progress: bool,
    /// Stop after this many updates (the run can be resumed later).
    #[arg(long)]
    stop_after: Option<u64>,
}

impl RunFlags {
    fn options(&self) -> RunOptions {
        RunOptions {
            resume: self.resume,
            progress: !self.no_progress,
            stop_after: self.stop_after,
        }
    }
}

/// Arguments of `soundscribe train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Training configuration (TOML; see `config/train-student.toml`).
    #[arg(long)]
    config: PathBuf,
    #[command(flatten)]
    run: RunFlags,
}

/// Arguments of `soundscribe distill`.
#[derive(Debug, clap::Args)]
pub struct DistillArgs {
    /// Student training configuration (TOML), with or without a `[distill]` section.
    #[arg(long, visible_alias = "config")]
    student_config: PathBuf,
    /// The teacher's model directory (overrides `distill.teacher`).
    #[arg(long)]
    teacher: Option<PathBuf>,
    /// Extra training data: JSONL manifests or audio-only folders.
    #[arg(long, num_args = 1..)]
    data: Vec<PathBuf>,
    #[command(flatten)]
    run: RunFlags,
}

/// Arguments of `soundscribe plot`.
#[derive(Debug, clap::Args)]
pub struct PlotArgs {
    /// A run directory (with `log.jsonl`).
    run_dir: PathBuf,
    /// Output PNG (default: RUN_DIR/curves.png).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn load(path: &std::path::Path) -> anyhow::Result<TrainConfig> {
    TrainConfig::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

fn finish(summary: soundscribe_offline::train::trainer::RunSummary) -> ExitCode {
    println!(
        "trained {} updates; final model: {}",
        summary.step,
        summary.final_dir.display()
    );
    if let Some(b) = &summary.best_dir {
        println!("best model: {}", b.display());
    }
    if let Some(v) = summary.validations.last() {
        let m: Vec<String> = v
            .metrics
            .iter()
            .map(|(k, x)| format!("{k} {x:.4}"))
            .collect();
        println!("last validation: {}", m.join(", "));
    }
    ExitCode::SUCCESS
}

pub(super) fn train(args: &TrainArgs) -> anyhow::Result<ExitCode> {
    let cfg = load(&args.config)?;
    if cfg.distill.is_some() {
        anyhow::bail!(
            "{}: has a [distill] section; run `soundscribe distill`",
            args.config.display()
        );
    }
    Ok(finish(run(&cfg, &args.run.run_dir, &args.run.options())?))
}

pub(super) fn distill(args: &DistillArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = load(&args.student_config)?;
    match (&mut cfg.distill, &args.teacher) {
        (Some(d), Some(t)) => d.teacher = t.clone(),
        (None, Some(t)) => cfg.distill = Some(DistillSection::new(t.clone())),
        (Some(_), None) => {}
        (None, None) => anyhow::bail!(
            "{}: no [distill] section and no --teacher",
            args.student_config.display()
        ),
    }
    for p in &args.data {
        cfg.data.train.push(if p.is_dir() {
            DataSource::Folder { path: p.clone() }
        } else {
            DataSource::Jsonl { path: p.clone() }
        });
    }
    let issues = cfg.validate();
    if let Some(first) = issues.first() {
        anyhow::bail!(
            "{}: {}: {}",
            args.student_config.display(),
            first.field,
            first.message
        );
    }
    Ok(finish(run(&cfg, &args.run.run_dir, &args.run.options())?))
}

pub(super) fn plot(args: &PlotArgs) -> anyhow::Result<ExitCode> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.run_dir.join("curves.png"));
    soundscribe_offline::train::plot::plot(&args.run_dir, &out)?;
    println!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}
