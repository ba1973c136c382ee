//! Knowledge distillation (seed 2, Xu et al. 2024): the teacher's targets per clip —
//! its clip embedding (encoder-level KD) and its beam-search caption (sequence-level KD),
//! computed once and cached on disk — and the encoder-level losses with their
//! projection heads.
//!
//! Contrastive KD projects both clip embeddings to a shared width with linear heads,
//! L2-normalises them and takes the symmetric cross-entropy of the batch's similarity
//! matrix scaled by a learnable logit scale (initialised to log(1/0.07), as CLIP). MSE KD
//! projects the student's embedding to the teacher's width and regresses it: the teacher
//! side is not projected there, because two trainable heads could both collapse to zero.
//! The heads live under `kd.` in the trained variable store (checkpointed, not exported).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

use super::cache::{clip_key, tensor_text, text_tensor, TensorCache};
use super::config::{DistillSection, EncoderKd};
use super::loss::symmetric_diagonal_ce;
use super::model::Model;
use crate::dataset::clip::load_clip;
use crate::dataset::manifest::Item;
use soundscribe::config::{DecodingConfig, DecodingStrategy};
use soundscribe::engine::captioner::Captioner;
use soundscribe::model::checkpoint::{ModelKind, ModelSpec, MODEL_WEIGHTS};
use soundscribe::model::text::l2_normalize;

/// The teacher's outputs for every clip.
pub struct TeacherTargets {
    by_clip: HashMap<String, (Tensor, String)>,
    dim: usize,
}

impl TeacherTargets {
    /// The key of a clip (its file identity and segment).
    pub fn key(item: &Item) -> String {
        clip_key(&item.audio, item.start, item.end)
    }

    /// Runs (or reads from `cache_dir/teacher/`) the teacher on every clip of `items`.
    pub fn compute(
        d: &DistillSection,
        items: &[Item],
        device: Device,
        cache_dir: &Path,
        progress: bool,
    ) -> anyhow::Result<Self> {
        let decoding = DecodingConfig {
            strategy: DecodingStrategy::Beam,
            num_beams: d.beams,
            max_length: 30,
            ..DecodingConfig::default()
        };
        let spec = ModelSpec::read(&d.teacher)?;
        let has_text = match &spec.model {
            ModelKind::Seed2(_) => d
                .teacher
                .join(soundscribe::model::load::VOCAB_FILE)
                .is_file(),
            _ => d.teacher.join(&spec.tokenizer).is_file(),
        };
        if !has_text && d.w_seq > 0.0 {
            bail!(
                "{}: the teacher has no tokenizer, so its pseudo-captions would be token ids; set distill.w_seq = 0 or add its tokenizer",
                d.teacher.display()
            );
        }
        let teacher_id = format!(
            "{}\u{0}beam{}",
            clip_key(&d.teacher.join(MODEL_WEIGHTS), None, None),
            d.beams
        );
        let cache = TensorCache::new(cache_dir.join("teacher"));
        // Loaded at the first clip the cache does not hold.
        let mut teacher: Option<Captioner> = None;
        let mut by_clip = HashMap::new();
        let bar = progress.then(|| super::progress::bar(items.len() as u64, "teacher targets"));
        let mut computed = 0usize;
        for item in items {
            let key = Self::key(item);
            if by_clip.contains_key(&key) {
                continue;
            }
            let ck = format!("{teacher_id}\u{0}{key}");
            let hit = cache.get(&ck).and_then(|t| {
                Some((
                    t.get("embed")?.shallow_clone(),
                    tensor_text(t.get("caption")?)?,
                ))
            });
            let entry = match hit {
                Some(e) => e,
                None => {
                    let captioner = match &mut teacher {
                        Some(c) => c,
                        slot @ None => slot.insert(
                            Captioner::load(&d.teacher, device, &decoding, None).with_context(
                                || format!("distill.teacher {}", d.teacher.display()),
                            )?,
                        ),
                    };
                    let (lo, hi) = captioner.window_limits();
                    let mut wave =
                        load_clip(&item.audio, captioner.sample_rate(), item.start, item.end)?;
                    wave.truncate(hi);
                    if wave.len() < lo {
                        wave.resize(lo, 0.0);
                    }
                    let (decided, embed) = captioner.caption_and_embed(&[&wave], 0)?;
                    let embed = embed.map(|e| e.squeeze_dim(0)).ok_or_else(|| {
                        anyhow!(
                            "{}: the teacher has no clip embedding for encoder-level KD",
                            d.teacher.display()
                        )
                    })?;
                    let caption = decided
                        .first()
                        .and_then(|x| x.ranked.first())
                        .map(|r| r.text.clone())
                        .unwrap_or_default();
                    cache
                        .put(
                            &ck,
                            &[("embed", &embed), ("caption", &text_tensor(&caption))],
                        )
                        .with_context(|| {
                            format!("{}: cannot write the teacher cache", cache.dir().display())
                        })?;
                    computed += 1;
                    (embed, caption)
                }
            };
            by_clip.insert(key, entry);
            if let Some(b) = &bar {
                b.inc(1);
            }
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        let dim = by_clip
            .values()
            .next()
            .map_or(0, |(e, _)| e.size()[0] as usize);
        tracing::info!(message = "Teacher targets ready.", clips = by_clip.len(), computed, cache = %cache.dir().display());
        Ok(TeacherTargets { by_clip, dim })
    }

    /// Width of the teacher's clip embedding.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The teacher's caption of a clip.
    pub fn caption(&self, key: &str) -> Option<&str> {
        self.by_clip.get(key).map(|(_, c)| c.as_str())
    }

    /// Every pseudo-caption (for the student's tokenizer).
    pub fn pseudo_captions(&self) -> impl Iterator<Item = &str> {
        self.by_clip.values().map(|(_, c)| c.as_str())
    }

    /// (B, E) teacher embeddings of `keys`.
    pub fn embeddings(&self, keys: &[String]) -> anyhow::Result<Tensor> {
        let rows: Vec<Tensor> = keys
            .iter()
            .map(|k| {
                self.by_clip
                    .get(k)
                    .map(|(e, _)| e.to_kind(Kind::Float))
                    .ok_or_else(|| anyhow!("no teacher target for {k}"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Tensor::stack(&rows, 0))
    }
}

/// The encoder-level KD heads and loss.
pub struct Distiller {
    kind: EncoderKd,
    student_head: nn::Linear,
    teacher_head: Option<nn::Linear>,
    logit_scale: Tensor,
}

impl Distiller {
    /// Declares the heads under `kd.` in the model's variable store.
    pub fn new(model: &Model, d: &DistillSection, teacher_dim: usize) -> anyhow::Result<Self> {
        let student_dim = model.spec.model.clip_embed_dim();
        if student_dim <= 0 {
            bail!("the distilled model has no clip embedding");
        }
        let root = model.vs.root();
        let kd = &root / "kd";
        let t = teacher_dim as i64;
        let (student_head, teacher_head) = match d.encoder_loss {
            EncoderKd::Contrastive => (
                nn::linear(
                    &kd / "student_proj",
                    student_dim,
                    d.width,
                    Default::default(),
                ),
                Some(nn::linear(
                    &kd / "teacher_proj",
                    t,
                    d.width,
                    Default::default(),
                )),
            ),
            EncoderKd::Mse => (
                nn::linear(&kd / "student_proj", student_dim, t, Default::default()),
                None,
            ),
        };
        let logit_scale =
            (&kd / "logit_scale").var("value", &[], nn::Init::Const((1.0f64 / 0.07).ln()));
        Ok(Distiller {
            kind: d.encoder_loss,
            student_head,
            teacher_head,
            logit_scale,
        })
    }

    fn project(&self, student: &Tensor, teacher: &Tensor) -> (Tensor, Tensor) {
        let s = self.student_head.forward(student);
        let t = match &self.teacher_head {
            Some(h) => h.forward(teacher),
            None => teacher.shallow_clone(),
        };
        (s, t)
    }

    /// The encoder-level KD loss of a batch: (B, E_s) student vs (B, E_t) teacher.
    pub fn encoder_loss(&self, student: &Tensor, teacher: &Tensor) -> Tensor {
        let (s, t) = self.project(student, teacher);
        match self.kind {
            EncoderKd::Mse => s.mse_loss(&t, tch::Reduction::Mean),
            EncoderKd::Contrastive => {
                let (s, t) = (l2_normalize(&s), l2_normalize(&t));
                symmetric_diagonal_ce(
                    &(s.matmul(&t.tr()) * self.logit_scale.exp().clamp_max(100.0)),
                )
            }
        }
    }

    /// Mean cosine between the student's and the teacher's embeddings in the shared space.
    pub fn cosine(&self, student: &Tensor, teacher: &Tensor) -> f64 {
        let _g = tch::no_grad_guard();
        let (s, t) = self.project(student, teacher);
        let c = (l2_normalize(&s) * l2_normalize(&t)).sum_dim_intlist(1, false, Kind::Float);
        f64::try_from(c.mean(Kind::Float)).unwrap_or(f64::NAN)
    }
}
