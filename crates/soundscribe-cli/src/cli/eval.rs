//! `soundscribe eval`: caption metrics of hypotheses against references.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use soundscribe_metrics::io::{pair, read_hypotheses, read_references};
use soundscribe_metrics::java::JavaAssets;
use soundscribe_metrics::{evaluate, EvalOptions};

/// Arguments of `soundscribe eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// References: Clotho-style CSV (`file_name,caption_1..caption_5`) or JSON.
    #[arg(long, value_name = "REFS")]
    refs: PathBuf,
    /// Hypotheses: CSV (`file_name,caption`), JSON or JSON lines.
    #[arg(long, value_name = "HYPS")]
    hyps: PathBuf,
    /// Write the full report (corpus and per-item scores) as JSON to OUT (`-`: stdout,
    /// instead of the table).
    #[arg(long, value_name = "OUT")]
    json: Option<PathBuf>,
    /// Directory with pycocoevalcap's jars (default: assets/pycocoevalcap-1.2, as
    /// unpacked by scripts/fetch-eval-assets.sh).
    #[arg(long, value_name = "DIR", env = "SOUNDSCRIBE_EVAL_ASSETS")]
    java_assets: Option<PathBuf>,
    /// Do not run the Java metrics (METEOR, SPICE); they are reported unavailable.
    #[arg(long)]
    no_java: bool,
}

pub(super) fn run(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let refs = read_references(&args.refs)?;
    let hyps = read_hypotheses(&args.hyps)?;
    let data = pair(&refs, &args.refs, &hyps, &args.hyps)?;
    let java_assets = if args.no_java {
        None
    } else {
        Some(
            args.java_assets
                .clone()
                .map_or_else(JavaAssets::locate, JavaAssets::at),
        )
    };
    let report = evaluate(
        &data,
        &EvalOptions {
            java_assets,
            ..EvalOptions::default()
        },
    );
    let json = serde_json::to_string_pretty(&report).context("serialising the report")?;
    match &args.json {
        Some(out) if out.as_os_str() == "-" => println!("{json}"),
        Some(out) => {
            std::fs::write(out, json + "\n")
                .with_context(|| format!("{}: cannot write the report", out.display()))?;
            print!("{}", report.table());
        }
        None => print!("{}", report.table()),
    }
    Ok(ExitCode::SUCCESS)
}
