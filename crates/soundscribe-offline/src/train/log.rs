//! Run logging: every logged step and validation as one JSON line in `RUN/log.jsonl`
//! (appended, so a resumed run continues the file), a tracing line, and an indicatif
//! progress bar with loss, throughput and ETA.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::ProgressBar;
use serde_json::json;

use super::progress::style;
use super::validate::ValResult;

/// The JSONL log of a run.
pub const LOG_FILE: &str = "log.jsonl";

/// Where a run's progress goes.
pub struct RunLog {
    path: PathBuf,
    file: File,
    bar: Option<ProgressBar>,
}

impl RunLog {
    /// Opens (appends to) `run_dir/log.jsonl`; a bar over `total` updates from `start`.
    pub fn open(run_dir: &Path, progress: bool, total: u64, start: u64) -> anyhow::Result<Self> {
        let path = run_dir.join(LOG_FILE);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("{}: cannot open", path.display()))?;
        let bar = progress.then(|| {
            let b = ProgressBar::new(total);
            b.set_style(style(
                "train [{bar:30}] {pos}/{len} {msg} {per_sec} ETA {eta}",
            ));
            b.set_position(start);
            b
        });
        Ok(RunLog { path, file, bar })
    }

    fn write(&mut self, v: serde_json::Value) -> anyhow::Result<()> {
        writeln!(self.file, "{v}").with_context(|| format!("{}: cannot write", self.path.display()))
    }

    /// A free-form note (run set-up).
    pub fn note(&mut self, text: &str) {
        tracing::info!(message = text);
    }

    /// One logged training step.
    pub fn train(
        &mut self,
        step: u64,
        epoch: u64,
        lr: f64,
        grad_norm: f64,
        parts: &BTreeMap<&'static str, f64>,
        clips_per_s: f64,
    ) -> anyhow::Result<()> {
        let time = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let mut v = json!({"kind": "train", "step": step, "epoch": epoch, "lr": lr, "clips_per_s": clips_per_s, "time": time});
        if grad_norm.is_finite() {
            v["grad_norm"] = json!(grad_norm);
        }
        for (k, x) in parts {
            v[*k] = json!(x);
        }
        tracing::debug!(
            message = "train",
            step,
            loss = parts.get("loss").copied().unwrap_or(f64::NAN)
        );
        self.write(v)
    }

    /// Advances the bar.
    pub fn tick(&mut self, step: u64, loss: f64) {
        if let Some(b) = &self.bar {
            b.set_position(step);
            b.set_message(format!("loss {loss:.3}"));
        }
    }

    /// One validation.
    pub fn val(&mut self, v: &ValResult) -> anyhow::Result<()> {
        let line =
            json!({"kind": "val", "step": v.step, "metrics": v.metrics, "examples": v.examples});
        let summary: Vec<String> = v
            .metrics
            .iter()
            .map(|(k, x)| format!("{k} {x:.4}"))
            .collect();
        match &self.bar {
            Some(b) => b.println(format!(
                "validation at step {}: {}",
                v.step,
                summary.join(", ")
            )),
            None => {
                tracing::info!(message = "Validation.", step = v.step, metrics = %summary.join(", "))
            }
        }
        self.write(line)
    }

    /// Clears the bar.
    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        let _ = self.file.flush();
    }
}
