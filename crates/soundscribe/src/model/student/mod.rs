//! The student captioner: the aisfx front end and CNN-8 as encoder, a linear bridge to
//! the small transformer decoder, and a clip-embedding head; it implements the same
//! [`AudioEncoder`] / [`CaptionDecoder`] traits as the teacher.
//!
//! Encoding: 44.1 kHz window → normalised log-mel → blocks of 100 frames (hop 100, last
//! zero-padded) → `conv_block4` averaged over frequency: 12 steps of 512 per block (one
//! per 8 frames, ~186 ms) → concatenated over blocks → `Linear(512 → d_model)` is the
//! decoder memory. A step is valid when its first frame is real audio. The clip
//! embedding is `Linear(512 → embed_dim)` of the maximum over valid steps (the package's
//! own embedding, extended from one block to the window).

pub mod aisfx;
pub mod decoder;
pub mod tokenizer;

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Device, Tensor};

use crate::features::aisfx_mel::{AisfxMel, HOP_LENGTH, SAMPLE_RATE};
use crate::model::layers::kv_cache::KvCache;
pub use crate::model::student::aisfx::FRAMES_PER_STEP;
use crate::model::student::aisfx::{max_over_valid, AisfxCnn, AisfxConfig};
use crate::model::student::decoder::{StudentDecoder, StudentDecoderConfig};
use crate::model::traits::{check_ids, AudioEncoder, CaptionDecoder, Memory, SpecialTokens};
use crate::model::ModelError;

/// Everything needed to build the student.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentConfig {
    /// The aisfx CNN.
    #[serde(default)]
    pub encoder: AisfxConfig,
    /// The caption decoder.
    pub decoder: StudentDecoderConfig,
    /// Width of the clip-embedding head (shared KD width with the teacher).
    #[serde(default = "embed_dim")]
    pub embed_dim: i64,
    /// Longest accepted window, samples at 44.1 kHz (named apart from `model.json`'s own
    /// `max_window_samples`, which the student's fields sit beside).
    #[serde(default = "max_window_samples", rename = "student_max_window_samples")]
    pub max_window_samples: i64,
}

fn embed_dim() -> i64 {
    1024
}
fn max_window_samples() -> i64 {
    30 * SAMPLE_RATE
}

/// The student model (variables: `encoder.cnn.*`, `encoder.proj`, `encoder.embed_head`,
/// `decoder.*`).
#[derive(Debug)]
pub struct Student {
    cfg: StudentConfig,
    mel: AisfxMel,
    cnn: AisfxCnn,
    proj: nn::Linear,
    embed_head: nn::Linear,
    decoder: StudentDecoder,
}

impl Student {
    /// Declares the student's variables under `vs`; the mel front end lives on `device`.
    pub fn new(vs: nn::Path, cfg: &StudentConfig, device: Device) -> Result<Self, ModelError> {
        ModelError::require_positive(
            "student",
            &[
                ("embed_dim", cfg.embed_dim),
                ("max_window_samples", cfg.max_window_samples),
            ],
        )?;
        StudentDecoder::check(&cfg.decoder)?;
        let enc = &vs / "encoder";
        let width = cfg.encoder.out_dim();
        Ok(Student {
            cfg: cfg.clone(),
            mel: AisfxMel::new(device),
            cnn: AisfxCnn::new(&enc / "cnn", &cfg.encoder)?,
            proj: nn::linear(
                &enc / "proj",
                width,
                cfg.decoder.d_model,
                Default::default(),
            ),
            embed_head: nn::linear(
                &enc / "embed_head",
                width,
                cfg.embed_dim,
                Default::default(),
            ),
            decoder: StudentDecoder::new(&vs / "decoder", &cfg.decoder)?,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &StudentConfig {
        &self.cfg
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.proj.ws.device()
    }

    /// The normalised log-mel of `waves` (B, N) at 44.1 kHz: (B, T, 96).
    pub fn mel(&self, waves: &Tensor) -> Tensor {
        self.mel.forward(waves)
    }

    /// The aisfx memory sequence of `waves` (B, N): (B, S, 512) and its (B, S) validity.
    pub fn aisfx_memory(&self, waves: &Tensor) -> Result<(Tensor, Tensor), ModelError> {
        self.aisfx_memory_from_mel(&self.mel.forward(waves))
    }

    /// The aisfx memory sequence of a log-mel (B, T, 96) (e.g. after SpecAugment).
    pub fn aisfx_memory_from_mel(&self, mel: &Tensor) -> Result<(Tensor, Tensor), ModelError> {
        self.cnn.clip_steps(mel)
    }

    /// Errs unless `waves` (B, N) is a batch of windows the student accepts.
    pub fn check_window(&self, waves: &Tensor) -> Result<(), ModelError> {
        let n = waves.size2()?.1;
        if n < self.min_window_samples() || n > self.max_window_samples() {
            return Err(ModelError::Input(format!(
                "window of {n} samples is outside the student's {}..={} at 44.1 kHz",
                self.min_window_samples(),
                self.max_window_samples()
            )));
        }
        Ok(())
    }

    /// Decoder [`Memory`] from aisfx steps (B, S, 512) and their (B, S) validity: the
    /// projection to `d_model` and the clip embedding (maximum over valid steps). Lets
    /// training pad clips of different lengths, or start from cached CNN outputs.
    pub fn memory_from_aisfx(&self, memory: &Tensor, valid: &Tensor) -> Memory {
        let pooled = max_over_valid(memory, valid);
        Memory {
            states: self.proj.forward(memory),
            valid: valid.shallow_clone(),
            clip_embed: Some(self.embed_head.forward(&pooled)),
        }
    }
}

impl AudioEncoder for Student {
    fn sample_rate(&self) -> i64 {
        SAMPLE_RATE
    }

    fn max_window_samples(&self) -> i64 {
        self.cfg.max_window_samples
    }

    fn min_window_samples(&self) -> i64 {
        HOP_LENGTH
    }

    fn encode(&self, waves: &Tensor) -> Result<Memory, ModelError> {
        self.check_window(waves)?;
        let (memory, valid) = self.aisfx_memory(waves)?;
        Ok(self.memory_from_aisfx(&memory, &valid))
    }
}

impl CaptionDecoder for Student {
    type Cache = KvCache;

    fn special_tokens(&self) -> SpecialTokens {
        let d = self.decoder.config();
        SpecialTokens {
            decoder_start: d.decoder_start_token_id,
            eos: d.eos_token_id,
            pad: d.pad_token_id,
        }
    }

    fn start(&self, memory: &Memory, per_clip: i64, max_len: i64) -> Result<KvCache, ModelError> {
        let cross = self.decoder.cross_kv(&memory.states, Some(&memory.valid));
        self.decoder.start(cross, per_clip, max_len)
    }

    fn step(&self, cache: &mut KvCache, tokens: &Tensor) -> Result<Tensor, ModelError> {
        self.decoder.step(cache, tokens)
    }

    fn reorder(&self, cache: &mut KvCache, rows: &Tensor) {
        cache.reorder(rows);
    }

    fn regroup(&self, cache: &mut KvCache, rows: &Tensor, clips: &Tensor, per_clip: i64) {
        cache.regroup(rows, clips, per_clip);
    }

    fn logits(&self, memory: &Memory, per_clip: i64, ids: &Tensor) -> Result<Tensor, ModelError> {
        check_ids(memory, per_clip, ids)?;
        let cross = self.decoder.cross_kv(&memory.states, Some(&memory.valid));
        self.decoder.forward(ids, &cross)
    }
}
