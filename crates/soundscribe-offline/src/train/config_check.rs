//! Loading a training config: parse the TOML, resolve its relative paths against the
//! file's folder, and check every setting (all problems at once, each naming its field).

use std::path::{Path, PathBuf};

use super::config::*;
use soundscribe::config::{ConfigError, ConfigIssue};
use soundscribe::model::student::StudentConfig;

impl TrainConfig {
    /// Reads, parses and validates the TOML file at `path`; relative paths in it are
    /// resolved against the file's folder.
    pub fn load(path: &Path) -> Result<TrainConfig, ConfigError> {
        let base = path.parent().unwrap_or(Path::new("."));
        soundscribe::config::load_toml(
            path,
            |c: &mut TrainConfig| c.resolve(base),
            |c| c.validate(),
        )
    }

    /// Makes every relative path absolute against `base`.
    fn resolve(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        let fix_opt = |p: &mut Option<PathBuf>| {
            if let Some(p) = p {
                fix(p);
            }
        };
        fix_opt(&mut self.model.init);
        fix_opt(&mut self.model.aisfx);
        fix_opt(&mut self.model.tokenizer);
        fix_opt(&mut self.data.cache_dir);
        fix_opt(&mut self.augment.mix_captions);
        fix_opt(&mut self.loss.text_embedder);
        fix_opt(&mut self.validate.decoding.rerank.embedder);
        for s in self.data.train.iter_mut().chain(self.data.val.iter_mut()) {
            match s {
                DataSource::Jsonl { path } | DataSource::Folder { path } => fix(path),
                DataSource::Clotho { csv, audio_dir }
                | DataSource::Audiocaps { csv, audio_dir } => {
                    fix(csv);
                    fix(audio_dir);
                }
            }
        }
        if let Some(d) = &mut self.distill {
            fix(&mut d.teacher);
        }
    }

    /// Checks what types alone cannot; returns every problem.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut bad = |f: &str, m: String| issues.push(ConfigIssue::new(f, m));
        let m = &self.model;
        match m.kind {
            TrainKind::Teacher if m.init.is_none() => bad(
                "model.init",
                "the teacher is trained from a model directory (convert one first)".into(),
            ),
            TrainKind::Student if m.init.is_none() && m.aisfx.is_none() => bad(
                "model.aisfx",
                "a new student needs the converted aisfx encoder (`soundscribe convert aisfx`)"
                    .into(),
            ),
            _ => {}
        }
        if m.bpe_vocab_size < 300 && m.tokenizer.is_none() && m.init.is_none() {
            bad(
                "model.bpe_vocab_size",
                format!(
                    "must be at least 300 (256 bytes + specials + merges), got {}",
                    m.bpe_vocab_size
                ),
            );
        }
        if self.data.train.is_empty() {
            bad("data.train", "at least one training set is required".into());
        }
        if !(0.0..=1.0).contains(&self.data.max_missing) {
            bad(
                "data.max_missing",
                format!("must be in [0, 1], got {}", self.data.max_missing),
            );
        }
        if !(self.data.max_window_s > 0.0 && self.data.max_window_s <= 60.0) {
            bad(
                "data.max_window_s",
                format!("must be in (0, 60], got {}", self.data.max_window_s),
            );
        }
        if self.data.workers == 0 {
            bad("data.workers", "must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.augment.mixup_prob) {
            bad(
                "augment.mixup_prob",
                format!("must be in [0, 1], got {}", self.augment.mixup_prob),
            );
        }
        let o = &self.optim;
        if !(o.lr > 0.0 && o.lr.is_finite()) {
            bad("optim.lr", format!("must be > 0, got {}", o.lr));
        }
        if o.batch_size < 2 && self.loss.infonce_weight > 0.0 {
            bad(
                "optim.batch_size",
                "InfoNCE needs at least 2 clips per batch".into(),
            );
        }
        if o.batch_size == 0 {
            bad("optim.batch_size", "must be at least 1".into());
        }
        if o.accumulation == 0 {
            bad("optim.accumulation", "must be at least 1".into());
        }
        if o.max_steps == 0 {
            bad("optim.max_steps", "must be at least 1".into());
        }
        let l = &self.loss;
        if !(0.0..1.0).contains(&l.label_smoothing) {
            bad(
                "loss.label_smoothing",
                format!("must be in [0, 1), got {}", l.label_smoothing),
            );
        }
        if l.infonce_weight > 0.0 && l.text_embedder.is_none() {
            bad(
                "loss.text_embedder",
                "InfoNCE (infonce_weight > 0) needs a text embedder".into(),
            );
        }
        if l.temperature.is_nan() || l.temperature <= 0.0 {
            bad(
                "loss.temperature",
                format!("must be > 0, got {}", l.temperature),
            );
        }
        if !["cider_d", "bleu_4", "rouge_l", "loss"].contains(&self.validate.metric.as_str()) {
            bad(
                "validate.metric",
                format!(
                    "must be cider_d, bleu_4, rouge_l or loss, got {:?}",
                    self.validate.metric
                ),
            );
        }
        if self.checkpoint.every_steps == 0 {
            bad("checkpoint.every_steps", "must be at least 1".into());
        }
        if self.checkpoint.log_every == 0 {
            bad("checkpoint.log_every", "must be at least 1".into());
        }
        if let Some(d) = &self.distill {
            if self.augment.mixup_prob > 0.0 {
                bad(
                    "augment.mixup_prob",
                    "mix-up is not available when distilling (the teacher targets are per clip)"
                        .into(),
                );
            }
            if d.width <= 0 {
                bad(
                    "distill.width",
                    format!("must be positive, got {}", d.width),
                );
            }
            if d.beams == 0 {
                bad("distill.beams", "must be at least 1".into());
            }
            for (f, w) in [("w_sup", d.w_sup), ("w_seq", d.w_seq), ("w_enc", d.w_enc)] {
                if !(w >= 0.0 && w.is_finite()) {
                    bad(&format!("distill.{f}"), format!("must be ≥ 0, got {w}"));
                }
            }
        }
        self.validate
            .decoding
            .validate_into("validate.decoding", &mut issues);
        issues
    }

    /// Student architecture with its defaults.
    pub fn student_arch(&self) -> StudentArch {
        self.model.student.clone().unwrap_or_default()
    }

    /// A full [`StudentConfig`] for `arch` and a vocabulary.
    pub fn student_config(
        arch: &StudentArch,
        vocab_size: i64,
        special: soundscribe::model::traits::SpecialTokens,
    ) -> StudentConfig {
        StudentConfig {
            encoder: Default::default(),
            decoder: soundscribe::model::student::decoder::StudentDecoderConfig {
                d_model: arch.d_model,
                layers: arch.layers,
                heads: arch.heads,
                ffn_dim: arch.ffn_dim,
                vocab_size,
                max_positions: arch.max_positions,
                decoder_start_token_id: special.decoder_start,
                eos_token_id: special.eos,
                pad_token_id: special.pad,
            },
            embed_dim: arch.embed_dim,
            max_window_samples: (arch.max_window_s
                * soundscribe::features::aisfx_mel::SAMPLE_RATE as f64)
                as i64,
        }
    }
}
