//! Validation: teacher-forced loss, decoded captions scored with the caption metrics
//! (BLEU-4, ROUGE-L, CIDEr-D on PTB-tokenised text, as `soundscribe eval`), and the
//! student–teacher embedding cosine when distilling.

use std::collections::BTreeMap;

use serde::Serialize;
use tch::Tensor;

use super::config::TrainConfig;
use super::distill::{Distiller, TeacherTargets};
use super::loss::smoothed_cross_entropy;
use super::model::{Model, TextTargets};
use super::net::ClipFeatures;
use crate::dataset::manifest::Item;
use soundscribe::decode::decide::decide;
use soundscribe::model::text::TextEmbedder;
use soundscribe_metrics::{bleu, cider, ptb, rouge};

/// Clips per validation batch.
const BATCH: usize = 16;

/// One validation.
#[derive(Debug, Clone, Serialize)]
pub struct ValResult {
    /// Updates completed when it ran.
    pub step: u64,
    /// `loss`, `bleu_4`, `rouge_l`, `cider_d`, and `kd_cosine` when distilling.
    pub metrics: BTreeMap<String, f64>,
    /// The first few clips: file, decoded caption, references.
    pub examples: Vec<(String, String, Vec<String>)>,
}

impl ValResult {
    /// Higher is better: the metric, or minus the loss.
    pub fn selection_score(&self, metric: &str) -> f64 {
        match metric {
            "loss" => -self.metrics.get("loss").copied().unwrap_or(f64::INFINITY),
            m => self.metrics.get(m).copied().unwrap_or(f64::NEG_INFINITY),
        }
    }
}

/// Validates `model` on `items` (their encoder features precomputed in `feats`).
#[allow(clippy::too_many_arguments)]
pub fn validate(
    model: &Model,
    items: &[Item],
    feats: &[ClipFeatures],
    cfg: &TrainConfig,
    text: Option<&mut TextTargets>,
    distiller: Option<&Distiller>,
    targets: Option<&TeacherTargets>,
    step: u64,
) -> anyhow::Result<ValResult> {
    let _g = tch::no_grad_guard();
    let n = cfg.validate.clips(items.len());
    let embedder: Option<&dyn TextEmbedder> = text.map(|t| t.embedder() as &dyn TextEmbedder);
    let detok = |t: &[i64]| model.detokenize(t);
    let mut loss_sum = 0.0;
    let mut loss_n = 0usize;
    let mut cos_sum = 0.0;
    let mut cos_n = 0usize;
    let mut hyps = Vec::new();
    for start in (0..n).step_by(BATCH) {
        let end = (start + BATCH).min(n);
        let memory = model.net.memory(&feats[start..end])?;
        let caps: Vec<(usize, &str)> = (start..end)
            .filter_map(|i| items[i].captions.first().map(|c| (i - start, c.as_str())))
            .collect();
        if !caps.is_empty() {
            let rows = Tensor::from_slice(&caps.iter().map(|(r, _)| *r as i64).collect::<Vec<_>>())
                .to_device(model.net.device());
            let sub = memory.index_select(&rows);
            let texts: Vec<&str> = caps.iter().map(|(_, c)| *c).collect();
            let (input, labels) = model.teacher_forcing(&texts)?;
            let logits = model.net.train_logits(&sub, &input)?;
            let ce = smoothed_cross_entropy(&logits, &labels.to_device(logits.device()), 0.0);
            loss_sum += f64::try_from(ce).unwrap_or(f64::NAN) * caps.len() as f64;
            loss_n += caps.len();
        }
        let (decided, _, _) = decide(
            &model.net,
            &memory,
            &cfg.validate.decoding,
            cfg.validate.decoding.seed,
            &detok,
            embedder,
        )?;
        hyps.extend(
            decided
                .into_iter()
                .map(|d| d.ranked.first().map(|r| r.text.clone()).unwrap_or_default()),
        );
        if let (Some(d), Some(t), Some(s)) = (distiller, targets, &memory.clip_embed) {
            let keys: Vec<String> = (start..end)
                .map(|i| TeacherTargets::key(&items[i]))
                .collect();
            let te = t.embeddings(&keys)?.to_device(s.device());
            cos_sum += d.cosine(s, &te) * keys.len() as f64;
            cos_n += keys.len();
        }
    }
    let mut metrics = BTreeMap::new();
    if loss_n > 0 {
        metrics.insert("loss".to_owned(), loss_sum / loss_n as f64);
    }
    if cos_n > 0 {
        metrics.insert("kd_cosine".to_owned(), cos_sum / cos_n as f64);
    }
    let scored: Vec<usize> = (0..n).filter(|&i| !items[i].captions.is_empty()).collect();
    if !scored.is_empty() {
        let h: Vec<String> = scored.iter().map(|&i| ptb::tokenize(&hyps[i])).collect();
        let r: Vec<Vec<String>> = scored
            .iter()
            .map(|&i| items[i].captions.iter().map(|c| ptb::tokenize(c)).collect())
            .collect();
        metrics.insert("bleu_4".to_owned(), bleu::score(&h, &r).corpus[3]);
        metrics.insert("rouge_l".to_owned(), rouge::score(&h, &r).corpus);
        metrics.insert("cider_d".to_owned(), cider::score(&h, &r).corpus);
    }
    let examples = (0..n.min(5))
        .map(|i| {
            (
                items[i].audio.display().to_string(),
                hyps[i].clone(),
                items[i].captions.clone(),
            )
        })
        .collect();
    Ok(ValResult {
        step,
        metrics,
        examples,
    })
}
