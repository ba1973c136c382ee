//! `soundscribe baseline`: the nearest-neighbour retrieval baseline (aisfx embeddings),
//! printed as JSON lines `soundscribe eval` reads, plus the test references.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use soundscribe_offline::baseline::{nearest, AisfxEmbedder};
use soundscribe_offline::dataset::manifest::Dataset;

/// Arguments of `soundscribe baseline`.
#[derive(Debug, clap::Args)]
pub struct BaselineArgs {
    /// Converted aisfx encoder (`soundscribe convert aisfx`).
    #[arg(long)]
    aisfx: PathBuf,
    /// Training manifest (JSONL): the captions to retrieve.
    #[arg(long)]
    train: PathBuf,
    /// Test manifest (JSONL).
    #[arg(long)]
    test: PathBuf,
    /// Also write the test references as JSON (`[{"file_name", "captions"}]`), keyed by
    /// the same audio paths as the hypotheses.
    #[arg(long)]
    refs_out: Option<PathBuf>,
}

pub(super) fn run(args: &BaselineArgs) -> anyhow::Result<ExitCode> {
    let train = Dataset::jsonl(&args.train)?;
    let test = Dataset::jsonl(&args.test)?;
    train.check_missing(&args.train, 0.0)?;
    test.check_missing(&args.test, 0.0)?;
    let train: Vec<_> = train
        .items
        .into_iter()
        .filter(|i| !i.captions.is_empty())
        .collect();
    anyhow::ensure!(
        !train.is_empty(),
        "{}: no captioned clips",
        args.train.display()
    );
    let embedder = AisfxEmbedder::load(&args.aisfx)?;
    let a = embedder.embed_items(&train)?;
    let b = embedder.embed_items(&test.items)?;
    let pick = nearest(&a, &b);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (item, &j) in test.items.iter().zip(&pick) {
        let line = serde_json::json!({"file": item.audio.display().to_string(), "text": train[j].captions[0]});
        writeln!(out, "{line}")?;
    }
    if let Some(path) = &args.refs_out {
        let refs: Vec<_> = test
            .items
            .iter()
            .map(|i| serde_json::json!({"file_name": i.audio.display().to_string(), "captions": i.captions}))
            .collect();
        std::fs::write(path, serde_json::to_vec_pretty(&refs)?)
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
