//! The builder's output folder: clearing an earlier build, then writing one JSONL manifest
//! per split (counting it into the report) and `summary.txt`.

use std::path::Path;

use crate::dataset::build_common::{io_err, BuildError, Clip, RATE, SPLITS};
use crate::dataset::build_report::BuildReport;
use crate::dataset::rules::Rules;

/// Clears an earlier build's output; refuses a folder that has `clips/` but no summary.
pub(super) fn prepare_out(out: &Path) -> Result<(), BuildError> {
    let clips = out.join("clips");
    if clips.exists() {
        if !out.join("summary.txt").exists() {
            return Err(io_err(
                out,
                "has clips/ but no summary.txt: not a dataset folder this command wrote",
            ));
        }
        std::fs::remove_dir_all(&clips).map_err(|e| io_err(&clips, e))?;
        for f in ["train.jsonl", "val.jsonl", "test.jsonl", "summary.txt"] {
            let p = out.join(f);
            if p.exists() {
                std::fs::remove_file(&p).map_err(|e| io_err(&p, e))?;
            }
        }
    }
    std::fs::create_dir_all(&clips).map_err(|e| io_err(&clips, e))
}

/// Writes `<split>.jsonl` under `out` for each split, counting its clips into
/// `report.splits`, then the report as `summary.txt`.
pub(super) fn write_manifests(
    rules: &Rules,
    splits: &[Vec<Clip>; 3],
    out: &Path,
    report: &mut BuildReport,
) -> Result<(), BuildError> {
    for (s, clips) in splits.iter().enumerate() {
        let path = out.join(format!("{}.jsonl", SPLITS[s]));
        let mut text = String::new();
        let r = &mut report.splits[s];
        for c in clips {
            let labels: Vec<&str> = c
                .labels
                .iter()
                .map(|&l| rules.labels[l].name.as_str())
                .collect();
            let mut meta = serde_json::json!({
                "labels": labels,
                "package": c.package,
                "license": c.license,
                "source": c.source,
            });
            if let Some(db) = c.mix_db {
                meta["mix_db"] = serde_json::json!(db);
            }
            let line = serde_json::json!({"audio": c.audio, "captions": c.captions, "meta": meta});
            text.push_str(&line.to_string());
            text.push('\n');
            if c.labels.len() > 1 {
                r.mixed += 1;
            } else {
                r.single += 1;
                r.units.insert(c.unit.clone());
            }
            r.seconds += c.frames as f64 / f64::from(RATE);
            for l in labels {
                *r.labels.entry(l.to_owned()).or_default() += 1;
            }
        }
        std::fs::write(&path, text).map_err(|e| io_err(&path, e))?;
    }
    let summary = out.join("summary.txt");
    std::fs::write(&summary, report.to_string()).map_err(|e| io_err(&summary, e))?;
    Ok(())
}
