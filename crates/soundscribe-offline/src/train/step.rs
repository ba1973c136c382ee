//! One update's work: encoder features for every clip of a plan (cached when the encoder
//! is frozen), their crops, and the loss of one micro-batch.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{anyhow, Context};
use tch::{Kind, Tensor};

use super::cache::{clip_key, TensorCache};
use super::config::TrainConfig;
use super::distill::{Distiller, TeacherTargets};
use super::loader::{Plan, Sample};
use super::loss::{info_nce, smoothed_cross_entropy};
use super::net::{ClipFeatures, Net};
use crate::dataset::manifest::Item;
use soundscribe::decode::decide::normalize_caption;

use super::model::{Model, TextTargets};

/// Encoder features of every item of `plan`, each clip cut to `limit` samples; with a
/// cache (and the encoder's identity for its keys) they are read from it or computed and
/// stored.
pub(super) fn clip_features_all(
    net: &Net,
    plan: &Plan,
    limit: usize,
    cache: Option<(&TensorCache, &str)>,
    progress: bool,
) -> anyhow::Result<Vec<ClipFeatures>> {
    let n = plan.items.len();
    let key = |encoder_id: &str, i: usize| {
        let it = &plan.items[i];
        format!(
            "{encoder_id}\u{0}{}\u{0}{}",
            clip_key(&it.audio, it.start, it.end),
            plan.rate
        )
    };
    let mut out: Vec<Option<ClipFeatures>> = (0..n)
        .map(|i| {
            let (c, id) = cache?;
            c.get(&key(id, i))
                .and_then(|t| ClipFeatures::from_cached(&t))
        })
        .collect();
    let todo: Vec<usize> = (0..n).filter(|&i| out[i].is_none()).collect();
    if let Some((c, _)) = cache {
        tracing::info!(message = "Encoder features.", clips = n, cached = n - todo.len(), computing = todo.len(), cache = %c.dir().display());
    }
    let bar = progress.then(|| super::progress::bar(todo.len() as u64, "encoding clips"));
    let _g = tch::no_grad_guard();
    for (i, r) in plan.load_all(todo) {
        let item = plan
            .items
            .get(i)
            .map_or(PathBuf::new(), |it| it.audio.clone());
        let wave = r.with_context(|| format!("{}", item.display()))?;
        let f = net
            .clip_features(&wave[..wave.len().min(limit)], None)
            .with_context(|| format!("{}", item.display()))?;
        if let Some((c, id)) = cache {
            c.put(&key(id, i), &f.tensors()).with_context(|| {
                format!("{}: cannot write the encoder cache", c.dir().display())
            })?;
        }
        out[i] = Some(f);
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    out.into_iter()
        .enumerate()
        .map(|(i, f)| f.ok_or_else(|| anyhow!("{}: no features", plan.items[i].audio.display())))
        .collect()
}

/// The samples of micro-batch `m` when features are cached (captions only, no audio).
pub(super) fn cached_samples(plan: &Plan, m: u64) -> Vec<Sample> {
    let (_, idx) = plan.batch_items(m);
    idx.into_iter()
        .enumerate()
        .map(|(slot, i)| {
            let mut rng = plan.slot_rng(m, slot);
            Sample {
                item: i,
                wave: Vec::new(),
                caption: plan.pick_caption(i, &mut rng),
                mixed: false,
            }
        })
        .collect()
}

/// A random crop of item `item`'s cached features to `max_s` seconds (in memory steps),
/// drawn from slot `slot` of micro-batch `m` after its caption, as with audio.
pub(super) fn crop_cached(
    f: &ClipFeatures,
    plan: &Plan,
    net: &Net,
    max_s: f64,
    (m, slot, item): (u64, usize, usize),
) -> ClipFeatures {
    let len = f.len();
    match net.steps_for(max_s) {
        Some(max) if len > max => {
            let mut rng = plan.slot_rng(m, slot);
            let _ = plan.pick_caption(item, &mut rng);
            let start = crate::augment::draw::below(&mut rng, (len - max + 1) as usize) as i64;
            f.narrow(start, max)
        }
        _ => f.narrow(0, len),
    }
}

/// The loss of one micro-batch; adds its parts (unweighted) to `parts`.
#[allow(clippy::too_many_arguments)]
pub(super) fn micro_batch_loss(
    model: &Model,
    feats: &[ClipFeatures],
    samples: &[Sample],
    items: &[Item],
    cfg: &TrainConfig,
    text: Option<&mut TextTargets>,
    distiller: Option<&Distiller>,
    targets: Option<&TeacherTargets>,
    parts: &mut BTreeMap<&'static str, f64>,
) -> anyhow::Result<Tensor> {
    let memory = model.net.memory(feats)?;
    let device = model.net.device();
    let with_caption: Vec<usize> = (0..samples.len())
        .filter(|&i| samples[i].caption.is_some())
        .collect();
    let mut total = Tensor::zeros([], (Kind::Float, device));
    let mut add = |name: &'static str, t: &Tensor, w: f64, total: &mut Tensor| {
        *parts.entry(name).or_default() += f64::try_from(t.detach()).unwrap_or(f64::NAN);
        *total = &*total + t * w;
    };
    let w_sup = cfg.distill.as_ref().map_or(1.0, |d| d.w_sup);
    if !with_caption.is_empty() && w_sup > 0.0 {
        let rows = Tensor::from_slice(&with_caption.iter().map(|&i| i as i64).collect::<Vec<_>>())
            .to_device(device);
        let sub = memory.index_select(&rows);
        let caps: Vec<&str> = with_caption
            .iter()
            .map(|&i| samples[i].caption.as_deref().unwrap_or(""))
            .collect();
        let (input, labels) = model.teacher_forcing(&caps)?;
        let logits = model.net.train_logits(&sub, &input)?;
        let ce =
            smoothed_cross_entropy(&logits, &labels.to_device(device), cfg.loss.label_smoothing);
        add("ce", &ce, w_sup, &mut total);
        if let (Some(text), Some(audio)) = (text, &sub.clip_embed) {
            if caps.len() >= 2 {
                let norm: Vec<String> = caps.iter().map(|c| normalize_caption(c)).collect();
                let refs: Vec<&str> = norm.iter().map(String::as_str).collect();
                let t = text.get(&refs)?.to_device(device);
                let nce = info_nce(audio, &t, cfg.loss.temperature);
                add("infonce", &nce, w_sup * cfg.loss.infonce_weight, &mut total);
            }
        }
    }
    if let (Some(d), Some(tg), Some(dcfg)) = (distiller, targets, &cfg.distill) {
        let keys: Vec<String> = samples
            .iter()
            .map(|s| TeacherTargets::key(&items[s.item]))
            .collect();
        if dcfg.w_seq > 0.0 {
            let caps: Vec<&str> = keys
                .iter()
                .map(|k| tg.caption(k))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| anyhow!("a clip has no teacher caption"))?;
            let (input, labels) = model.teacher_forcing(&caps)?;
            let logits = model.net.train_logits(&memory, &input)?;
            let ce = smoothed_cross_entropy(
                &logits,
                &labels.to_device(device),
                cfg.loss.label_smoothing,
            );
            add("seq_kd", &ce, dcfg.w_seq, &mut total);
        }
        if dcfg.w_enc > 0.0 {
            let student = memory
                .clip_embed
                .as_ref()
                .ok_or_else(|| anyhow!("the student has no clip embedding"))?;
            let teacher = tg.embeddings(&keys)?.to_device(device);
            let kd = d.encoder_loss(student, &teacher);
            add("enc_kd", &kd, dcfg.w_enc, &mut total);
        }
    }
    *parts.entry("loss").or_default() += f64::try_from(total.detach()).unwrap_or(f64::NAN);
    Ok(total)
}
