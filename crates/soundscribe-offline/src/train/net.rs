//! The captioner being trained, seen the same way whatever its kind: per-clip encoder
//! features (what a frozen encoder can cache), batched decoder memory with padding
//! masks, teacher-forced logits with autograd, and the decoding traits for validation.
//!
//! Clips of different lengths are encoded one by one and their memories padded with
//! invalid steps, so no clip attends to another's padding (the models have no padding
//! masks inside the encoder).

use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

use crate::augment::specaugment::SpecAugment;
use soundscribe::model::layers::kv_cache::KvCache;
use soundscribe::model::student::Student;
use soundscribe::model::teacher::Teacher;
use soundscribe::model::traits::{AudioEncoder, CaptionDecoder, Memory, SpecialTokens};
use soundscribe::model::ModelError;

/// A trainable captioner.
#[allow(clippy::large_enum_variant)] // one per run; the teacher is boxed for its size
pub enum Net {
    /// Our aisfx student.
    Student(Student),
    /// The seed-1 teacher (BEATs frozen).
    Teacher(Box<Teacher>),
}

/// One clip's encoder output before batching.
#[derive(Debug)]
pub enum ClipFeatures {
    /// Student: aisfx CNN steps (S, 512) and their validity (S,). Cacheable when the CNN
    /// is frozen and no audio-side augmentation is on.
    Aisfx {
        /// (S, 512).
        steps: Tensor,
        /// (S,) bool.
        valid: Tensor,
    },
    /// Teacher: the finished memory of one clip.
    Encoded {
        /// (S, D).
        states: Tensor,
        /// (S,) bool.
        valid: Tensor,
        /// (E,), when the model has a clip embedding.
        clip_embed: Option<Tensor>,
    },
}

impl ClipFeatures {
    /// Memory steps.
    pub fn len(&self) -> i64 {
        match self {
            ClipFeatures::Aisfx { steps, .. } => steps.size()[0],
            ClipFeatures::Encoded { states, .. } => states.size()[0],
        }
    }

    /// Whether there are no steps.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Steps `start..start + len` (the student's crop of a cached clip).
    pub fn narrow(&self, start: i64, len: i64) -> ClipFeatures {
        match self {
            ClipFeatures::Aisfx { steps, valid } => ClipFeatures::Aisfx {
                steps: steps.narrow(0, start, len),
                valid: valid.narrow(0, start, len),
            },
            ClipFeatures::Encoded {
                states,
                valid,
                clip_embed,
            } => ClipFeatures::Encoded {
                states: states.narrow(0, start, len),
                valid: valid.narrow(0, start, len),
                clip_embed: clip_embed.as_ref().map(Tensor::shallow_clone),
            },
        }
    }

    /// The tensors to cache.
    pub fn tensors(&self) -> Vec<(&'static str, &Tensor)> {
        match self {
            ClipFeatures::Aisfx { steps, valid } => vec![("steps", steps), ("valid", valid)],
            ClipFeatures::Encoded { .. } => Vec::new(),
        }
    }

    /// Rebuilds cached student features.
    pub fn from_cached(t: &std::collections::BTreeMap<String, Tensor>) -> Option<ClipFeatures> {
        Some(ClipFeatures::Aisfx {
            steps: t.get("steps")?.shallow_clone(),
            valid: t.get("valid")?.to_kind(Kind::Bool),
        })
    }
}

/// Pads (S, ...) tensors along dim 0 to `len` with zeros.
fn pad_to(t: &Tensor, len: i64) -> Tensor {
    let s = t.size()[0];
    if s == len {
        return t.shallow_clone();
    }
    let mut shape = t.size();
    shape[0] = len - s;
    Tensor::cat(
        &[
            t.shallow_clone(),
            Tensor::zeros(&shape, (t.kind(), t.device())),
        ],
        0,
    )
}

impl Net {
    /// Input sample rate, Hz.
    pub fn sample_rate(&self) -> u32 {
        match self {
            Net::Student(m) => m.sample_rate() as u32,
            Net::Teacher(m) => m.sample_rate() as u32,
        }
    }

    /// Shortest and longest accepted clip, samples.
    pub fn window_limits(&self) -> (usize, usize) {
        let l = |e: &dyn AudioEncoder| {
            (
                e.min_window_samples() as usize,
                e.max_window_samples() as usize,
            )
        };
        match self {
            Net::Student(m) => l(m),
            Net::Teacher(m) => l(m.as_ref()),
        }
    }

    /// Memory steps of `seconds` of audio, for cropping cached student features (`None`
    /// for the teacher, whose clips are cropped as audio).
    pub fn steps_for(&self, seconds: f64) -> Option<i64> {
        match self {
            Net::Student(_) => {
                let per_step = (soundscribe::features::aisfx_mel::HOP_LENGTH
                    * soundscribe::model::student::FRAMES_PER_STEP)
                    as f64;
                Some(
                    (seconds * soundscribe::features::aisfx_mel::SAMPLE_RATE as f64 / per_step)
                        .ceil() as i64,
                )
            }
            Net::Teacher(_) => None,
        }
    }

    /// The device of the weights.
    pub fn device(&self) -> Device {
        match self {
            Net::Student(m) => m.device(),
            Net::Teacher(m) => m.device(),
        }
    }

    /// Encodes one clip (mono samples at [`Net::sample_rate`]); with `augment`, SpecAugment
    /// is applied to the student's log-mel first. The teacher's fbank SpecAugment is not
    /// wired (its features are internal to BEATs' front end): an error says so.
    pub fn clip_features(
        &self,
        wave: &[f32],
        augment: Option<(&SpecAugment, &mut ChaCha8Rng)>,
    ) -> Result<ClipFeatures, ModelError> {
        let device = self.device();
        let (lo, hi) = self.window_limits();
        if wave.len() < lo || wave.len() > hi {
            return Err(ModelError::Input(format!(
                "clip of {} samples is outside the model's {lo}..={hi}",
                wave.len()
            )));
        }
        let x = Tensor::from_slice(wave)
            .view([1, wave.len() as i64])
            .to_device(device);
        match self {
            Net::Student(m) => {
                let mut mel = m.mel(&x).squeeze_dim(0);
                if let Some((spec, rng)) = augment {
                    spec.apply(&mut mel, rng);
                }
                let (steps, valid) = m.aisfx_memory_from_mel(&mel.unsqueeze(0))?;
                Ok(ClipFeatures::Aisfx {
                    steps: steps.squeeze_dim(0),
                    valid: valid.squeeze_dim(0),
                })
            }
            Net::Teacher(m) => {
                if augment.is_some() {
                    return Err(ModelError::Unsupported(
                        "SpecAugment is not available for the teacher (its fbank is inside the encoder)".into(),
                    ));
                }
                let mem = m.encode_train(&x)?;
                Ok(ClipFeatures::Encoded {
                    states: mem.states.squeeze_dim(0),
                    valid: mem.valid.squeeze_dim(0),
                    clip_embed: mem.clip_embed.map(|e| e.squeeze_dim(0)),
                })
            }
        }
    }

    /// Decoder memory for a batch of clips, padded with invalid steps.
    pub fn memory(&self, clips: &[ClipFeatures]) -> Result<Memory, ModelError> {
        let longest = clips.iter().map(ClipFeatures::len).max().unwrap_or(0);
        if longest == 0 {
            return Err(ModelError::Input("a batch without memory steps".into()));
        }
        let device = self.device();
        let mut states = Vec::new();
        let mut valid = Vec::new();
        let mut embeds = Vec::new();
        for c in clips {
            match c {
                ClipFeatures::Aisfx { steps, valid: v }
                | ClipFeatures::Encoded {
                    states: steps,
                    valid: v,
                    ..
                } => {
                    states.push(pad_to(&steps.to_device(device), longest));
                    valid.push(pad_to(&v.to_device(device), longest));
                }
            }
            if let ClipFeatures::Encoded {
                clip_embed: Some(e),
                ..
            } = c
            {
                embeds.push(e.to_device(device));
            }
        }
        let states = Tensor::stack(&states, 0);
        let valid = Tensor::stack(&valid, 0);
        match self {
            Net::Student(m) => Ok(m.memory_from_aisfx(&states, &valid)),
            Net::Teacher(_) => Ok(Memory {
                states,
                valid,
                clip_embed: (embeds.len() == clips.len()).then(|| Tensor::stack(&embeds, 0)),
            }),
        }
    }

    /// Teacher-forced logits (B, L, V) with autograd.
    pub fn train_logits(&self, memory: &Memory, ids: &Tensor) -> Result<Tensor, ModelError> {
        let ids = ids.to_device(self.device());
        match self {
            Net::Student(m) => m.logits(memory, 1, &ids),
            Net::Teacher(m) => {
                let dec = m.decoder();
                let cross = dec.cross_kv(&memory.states, Some(&memory.valid));
                Ok(dec.forward(&ids, &cross))
            }
        }
    }
}

impl CaptionDecoder for Net {
    type Cache = KvCache;

    fn special_tokens(&self) -> SpecialTokens {
        match self {
            Net::Student(m) => m.special_tokens(),
            Net::Teacher(m) => m.special_tokens(),
        }
    }

    fn start(&self, memory: &Memory, per_clip: i64, max_len: i64) -> Result<KvCache, ModelError> {
        match self {
            Net::Student(m) => m.start(memory, per_clip, max_len),
            Net::Teacher(m) => m.start(memory, per_clip, max_len),
        }
    }

    fn step(&self, cache: &mut KvCache, tokens: &Tensor) -> Result<Tensor, ModelError> {
        match self {
            Net::Student(m) => m.step(cache, tokens),
            Net::Teacher(m) => m.step(cache, tokens),
        }
    }

    fn reorder(&self, cache: &mut KvCache, rows: &Tensor) {
        match self {
            Net::Student(m) => m.reorder(cache, rows),
            Net::Teacher(m) => m.reorder(cache, rows),
        }
    }

    fn regroup(&self, cache: &mut KvCache, rows: &Tensor, clips: &Tensor, per_clip: i64) {
        match self {
            Net::Student(m) => m.regroup(cache, rows, clips, per_clip),
            Net::Teacher(m) => m.regroup(cache, rows, clips, per_clip),
        }
    }

    fn logits(&self, memory: &Memory, per_clip: i64, ids: &Tensor) -> Result<Tensor, ModelError> {
        match self {
            Net::Student(m) => m.logits(memory, per_clip, ids),
            Net::Teacher(m) => m.logits(memory, per_clip, ids),
        }
    }
}
