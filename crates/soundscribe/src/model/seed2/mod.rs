//! The seed-2 student `Effb2TrmCaptioningModel` (wsntxxn/AudioCaption `hf_wrapper.py`):
//! log-mel (`features::mel`) → EfficientNet-B2 averaged over frequency (`effb2`) →
//! 2-layer transformer decoder (`seed2_decoder`), plus the KD projection `stdnt_proj` of
//! the clip embedding. Variable names follow the release's `state_dict`
//! (`model.model.encoder.backbone.eff_net.*`, `model.model.decoder.*`, `model.stdnt_proj.*`).
//!
//! Memory for decoding is the encoder output `attn_emb` (B, T/32, 1408) with
//! `attn_emb_len = ((samples // 160) + 1) // 32` valid steps; `clip_embed` is `fc_emb`,
//! the length-masked mean of `attn_emb`.

mod attention;
pub mod decoder;
pub mod effb2;

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

use crate::features::mel::{LogMel, HOP, SAMPLE_RATE};
use crate::model::seed2::decoder::{DecoderDims, Seed2Cache, Seed2Decoder, PAD};
use crate::model::seed2::effb2::{EfficientNetB2, DOWNSAMPLE, OUT_CHANNELS};
use crate::model::traits::{check_ids, AudioEncoder, CaptionDecoder, Memory, SpecialTokens};
use crate::model::ModelError;

/// Start token id of the authors' vocabulary (`<start>`).
pub const START: i64 = 1;
/// End token id (`<end>`).
pub const END: i64 = 2;
/// Longest window the student accepts: 30 s (Clotho's longest clips).
pub const MAX_WINDOW_SAMPLES: i64 = 30 * SAMPLE_RATE;

/// `Effb2TrmConfig` (the release's `config.json`); absent keys take its defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Seed2Config {
    /// Input sample rate (16000; the front end supports only this). Not written to
    /// `model.json`, which has its own top-level `sample_rate`.
    #[serde(skip_serializing)]
    pub sample_rate: i64,
    /// Teacher embedding width of the KD head (768; `tchr_proj`, training only).
    pub tchr_dim: i64,
    /// KD projection width (1024).
    pub shared_dim: i64,
    /// Clip embedding width (1408).
    pub fc_emb_dim: i64,
    /// Memory width (1408).
    pub attn_emb_dim: i64,
    /// Decoder layers (2).
    pub decoder_n_layers: i64,
    /// Classifier shares the word embedding.
    pub decoder_we_tie_weights: bool,
    /// Decoder width (256).
    pub decoder_emb_dim: i64,
    /// Dropout (training only).
    pub decoder_dropout: f64,
    /// Vocabulary size (4981).
    pub vocab_size: i64,
}

impl Default for Seed2Config {
    fn default() -> Self {
        Seed2Config {
            sample_rate: 16_000,
            tchr_dim: 768,
            shared_dim: 1024,
            fc_emb_dim: 1408,
            attn_emb_dim: 1408,
            decoder_n_layers: 2,
            decoder_we_tie_weights: true,
            decoder_emb_dim: 256,
            decoder_dropout: 0.2,
            vocab_size: 4981,
        }
    }
}

impl Seed2Config {
    /// Every setting this implementation cannot build, listed at once.
    pub fn validate(&self) -> Result<(), ModelError> {
        let mut bad = Vec::new();
        if self.sample_rate != SAMPLE_RATE {
            bad.push(format!(
                "sample_rate {} (the front end is fixed at {SAMPLE_RATE})",
                self.sample_rate
            ));
        }
        for (name, v) in [
            ("fc_emb_dim", self.fc_emb_dim),
            ("attn_emb_dim", self.attn_emb_dim),
        ] {
            if v != OUT_CHANNELS {
                bad.push(format!("{name} {v} (EfficientNet-B2 gives {OUT_CHANNELS})"));
            }
        }
        if self.shared_dim <= 0 {
            bad.push(format!("shared_dim {} must be positive", self.shared_dim));
        }
        ModelError::unsupported_if_any("seed-2 student", &bad)
    }

    /// Shortest window: one valid memory step, `((n // 160) + 1) // 32 ≥ 1`.
    pub fn min_window_samples(&self) -> i64 {
        (DOWNSAMPLE - 1) * HOP
    }
}

/// Intermediate tensors of one encoder pass (for parity tests and `dump`).
#[derive(Debug)]
pub struct Seed2Trace {
    /// Log-mel in dB (B, 64, frames).
    pub mel_db: Tensor,
    /// Encoder output (B, T/32, 1408).
    pub attn_emb: Tensor,
    /// Length-masked mean of `attn_emb` (B, 1408).
    pub fc_emb: Tensor,
    /// Valid memory steps per clip (B,) int64.
    pub attn_emb_len: Tensor,
}

/// The seed-2 student.
#[derive(Debug)]
pub struct Seed2Student {
    cfg: Seed2Config,
    mel: LogMel,
    encoder: EfficientNetB2,
    decoder: Seed2Decoder,
    stdnt_proj: nn::Linear,
}

impl Seed2Student {
    /// Builds the model under `vs` with the release's variable names.
    pub fn new(vs: nn::Path, cfg: &Seed2Config) -> Result<Self, ModelError> {
        cfg.validate()?;
        let inner = &vs / "model" / "model";
        let dims = DecoderDims {
            d_model: cfg.decoder_emb_dim,
            layers: cfg.decoder_n_layers,
            vocab: cfg.vocab_size,
            memory_dim: cfg.attn_emb_dim,
            tie_weights: cfg.decoder_we_tie_weights,
        };
        Ok(Seed2Student {
            cfg: cfg.clone(),
            mel: LogMel::new(vs.device()),
            encoder: EfficientNetB2::new(&inner / "encoder" / "backbone" / "eff_net"),
            decoder: Seed2Decoder::new(&inner / "decoder", dims)?,
            stdnt_proj: nn::linear(
                &vs / "model" / "stdnt_proj",
                cfg.fc_emb_dim,
                cfg.shared_dim,
                Default::default(),
            ),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Seed2Config {
        &self.cfg
    }

    /// Device of the weights.
    pub fn device(&self) -> Device {
        self.stdnt_proj.ws.device()
    }

    /// Front end and encoder on `waves` (B, N), keeping every intermediate.
    pub fn encode_trace(&self, waves: &Tensor) -> Result<Seed2Trace, ModelError> {
        let _guard = tch::no_grad_guard();
        let (b, n) = waves.size2().map_err(|_| {
            ModelError::Input(format!("waves must be (B, N), got {:?}", waves.size()))
        })?;
        if n < self.cfg.min_window_samples() || n > MAX_WINDOW_SAMPLES {
            return Err(ModelError::Input(format!(
                "window of {n} samples outside the student's [{}, {MAX_WINDOW_SAMPLES}]",
                self.cfg.min_window_samples()
            )));
        }
        let mel_db = self
            .mel
            .forward(&waves.to_device(self.device()).to_kind(Kind::Float));
        let attn_emb = self.encoder.forward(&mel_db);
        let len = (n / HOP + 1) / DOWNSAMPLE;
        let attn_emb_len = Tensor::full([b], len, (Kind::Int64, self.device()));
        let valid = valid_mask(&attn_emb, len);
        let fc_emb =
            (&attn_emb * valid.unsqueeze(-1)).sum_dim_intlist(1, false, Kind::Float) / len as f64;
        Ok(Seed2Trace {
            mel_db,
            attn_emb,
            fc_emb,
            attn_emb_len,
        })
    }

    /// The KD projection `stdnt_proj` of a clip embedding `fc_emb` (B, 1408): (B, shared_dim).
    pub fn stdnt_proj(&self, fc_emb: &Tensor) -> Tensor {
        let _guard = tch::no_grad_guard();
        self.stdnt_proj.forward(fc_emb)
    }
}

/// (B, S) bool: the first `len` steps of `attn_emb` (B, S, D) are real audio.
fn valid_mask(attn_emb: &Tensor, len: i64) -> Tensor {
    let (b, s, _) = attn_emb.size3().expect("attn_emb is (B, S, D)");
    Tensor::arange(s, (Kind::Int64, attn_emb.device()))
        .lt(len)
        .unsqueeze(0)
        .expand([b, s], true)
}

impl AudioEncoder for Seed2Student {
    fn sample_rate(&self) -> i64 {
        SAMPLE_RATE
    }

    fn max_window_samples(&self) -> i64 {
        MAX_WINDOW_SAMPLES
    }

    fn min_window_samples(&self) -> i64 {
        self.cfg.min_window_samples()
    }

    fn encode(&self, waves: &Tensor) -> Result<Memory, ModelError> {
        let t = self.encode_trace(waves)?;
        let len = t.attn_emb_len.int64_value(&[0]);
        Ok(Memory {
            valid: valid_mask(&t.attn_emb, len),
            states: t.attn_emb,
            clip_embed: Some(t.fc_emb),
        })
    }
}

impl CaptionDecoder for Seed2Student {
    type Cache = Seed2Cache;

    fn special_tokens(&self) -> SpecialTokens {
        SpecialTokens {
            decoder_start: START,
            eos: END,
            pad: PAD,
        }
    }

    fn start(
        &self,
        memory: &Memory,
        per_clip: i64,
        max_len: i64,
    ) -> Result<Seed2Cache, ModelError> {
        let _guard = tch::no_grad_guard();
        self.decoder
            .start(&memory.states, &memory.valid, per_clip, max_len)
    }

    fn step(&self, cache: &mut Seed2Cache, tokens: &Tensor) -> Result<Tensor, ModelError> {
        let _guard = tch::no_grad_guard();
        self.decoder.step(cache, &tokens.to_device(self.device()))
    }

    fn reorder(&self, cache: &mut Seed2Cache, rows: &Tensor) {
        let _guard = tch::no_grad_guard();
        cache.reorder(&rows.to_device(self.device()));
    }

    fn regroup(&self, cache: &mut Seed2Cache, rows: &Tensor, clips: &Tensor, per_clip: i64) {
        let _guard = tch::no_grad_guard();
        let device = self.device();
        cache.regroup(&rows.to_device(device), &clips.to_device(device), per_clip);
    }

    fn logits(&self, memory: &Memory, per_clip: i64, ids: &Tensor) -> Result<Tensor, ModelError> {
        let _guard = tch::no_grad_guard();
        check_ids(memory, per_clip, ids)?;
        self.decoder.forward(
            &memory.states,
            &memory.valid,
            per_clip,
            &ids.to_device(self.device()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_size_and_window_limits() {
        let vs = nn::VarStore::new(Device::Cpu);
        let s = Seed2Student::new(vs.root(), &Seed2Config::default()).unwrap();
        let n: i64 = vs.variables().values().map(|t| t.numel() as i64).sum();
        // The release's tensors minus tchr_proj / logit_scale / mel buffers / counters.
        assert_eq!(n, 12_979_634);
        let short = Tensor::zeros([1, 4959], (Kind::Float, Device::Cpu));
        let err = s.encode(&short).unwrap_err().to_string();
        assert!(err.contains("4959 samples"), "{err}");
        let memory = s
            .encode(&Tensor::zeros([2, 4960], (Kind::Float, Device::Cpu)))
            .unwrap();
        assert_eq!(memory.states.size(), [2, 1, OUT_CHANNELS]);
        let bad = Seed2Config {
            attn_emb_dim: 1280,
            ..Seed2Config::default()
        };
        let err = Seed2Student::new(nn::VarStore::new(Device::Cpu).root(), &bad).unwrap_err();
        assert!(err.to_string().contains("attn_emb_dim 1280"), "{err}");
    }
}
