//! Configuration of the seed-1 teacher: the release's three configs (`config.json`,
//! `conformer_config.json`, BEATs' `cfg`), the window limits they imply, and the
//! full-size preset.

use serde::{Deserialize, Serialize};

use crate::features::kaldi_fbank::{self, KaldiFbank};
use crate::model::teacher::bart::BartDecoderConfig;
use crate::model::teacher::beats::BeatsConfig;
use crate::model::teacher::conformer::ConformerConfig;
use crate::model::ModelError;

/// The captioner's `config.json`: `BartConfig` plus the seed's extra fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptionerConfig {
    /// BART decoder dimensions and special tokens.
    #[serde(flatten)]
    pub decoder: BartDecoderConfig,
    /// BART encoder layers; the default for `encoder_repr_layer_idx`.
    #[serde(default = "bart_encoder_layers")]
    pub encoder_layers: i64,
    /// BEATs hidden state fed to the post-encoder (10 of 12 in the real model).
    pub encoder_repr_layer_idx: Option<i64>,
    /// Softmax-weighted sum of BEATs layers instead (not supported).
    #[serde(default)]
    pub use_weighted_encoder_repr: bool,
    /// Downsampling stride over BEATs tokens (3).
    pub encoder_downsample_rate: Option<i64>,
    /// Downsample with a Conv1d (kernel `round(rate · downsample_kernel_size)`).
    #[serde(default)]
    pub use_conv_downsample: bool,
    /// Kernel multiplier of the downsampling conv (1.5).
    #[serde(default = "default_kernel_mult")]
    pub downsample_kernel_size: f64,
    /// Whether the `encoder_embed_mlp` audio embedding head exists.
    #[serde(default)]
    pub use_encoder_embed_mlp: bool,
    /// Hidden size of `encoder_embed_mlp`.
    pub embed_predictor_ffn_dim: Option<i64>,
    /// Output size of `encoder_embed_mlp`.
    pub embed_predictor_out_dim: Option<i64>,
    /// Rows of `cross_embed_positions` (minus the offset): the longest memory.
    pub max_cross_position_embeddings: i64,
}

fn bart_encoder_layers() -> i64 {
    12 // BartConfig's default
}

fn default_kernel_mult() -> f64 {
    1.5
}

/// Everything needed to build the teacher: the three configs of the release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeacherConfig {
    /// `config.json`.
    pub captioner: CaptionerConfig,
    /// `conformer_config.json`.
    pub conformer: ConformerConfig,
    /// BEATs checkpoint's `cfg`.
    pub beats: BeatsConfig,
}

impl TeacherConfig {
    /// The released seed-1 configuration (`config/model_config.json` and
    /// `config/conformer_config.json` of the seed's repository, BEATs iter3+ AS2M `cfg`),
    /// for building the full-size model without its files (tests, benchmarks).
    pub fn release() -> Self {
        let value = serde_json::json!({
            "captioner": {
                "max_position_embeddings": 128, "max_cross_position_embeddings": 512,
                "encoder_layers": 12, "decoder_layers": 6, "decoder_ffn_dim": 3072,
                "d_model": 768, "vocab_size": 50265, "use_weighted_encoder_repr": false,
                "encoder_downsample_rate": 3, "use_conv_downsample": true,
                "use_encoder_embed_mlp": true, "embed_predictor_ffn_dim": 3072,
                "embed_predictor_out_dim": 768, "encoder_repr_layer_idx": 10,
                "decoder_start_token_id": 2, "pad_token_id": 1
            },
            "conformer": {
                "conv_depthwise_kernel_size": 31, "hidden_act": "swish", "hidden_size": 768,
                "intermediate_size": 1536, "layer_norm_eps": 1e-5, "num_attention_heads": 12,
                "num_hidden_layers": 2, "position_embeddings_type": "relative"
            },
            "beats": {
                "input_patch_size": 16, "embed_dim": 512, "conv_bias": false,
                "encoder_layers": 12, "encoder_embed_dim": 768, "encoder_ffn_embed_dim": 3072,
                "encoder_attention_heads": 12, "activation_fn": "gelu",
                "layer_norm_first": false, "deep_norm": true, "conv_pos": 128,
                "conv_pos_groups": 16, "relative_position_embedding": true, "num_buckets": 320,
                "max_distance": 800, "gru_rel_pos": true
            }
        });
        serde_json::from_value(value).expect("the release preset matches the config structs")
    }

    /// The BEATs layer read by the captioner.
    pub fn repr_layer(&self) -> i64 {
        self.captioner
            .encoder_repr_layer_idx
            .unwrap_or(self.captioner.encoder_layers)
    }

    /// (kernel, stride) of the downsampling conv, if any. Python's `round` rounds half to
    /// even, so 3 · 1.5 gives 4.
    pub fn downsample(&self) -> Option<(i64, i64)> {
        let c = &self.captioner;
        let rate = c.encoder_downsample_rate.unwrap_or(1);
        c.use_conv_downsample.then(|| {
            (
                (rate as f64 * c.downsample_kernel_size).round_ties_even() as i64,
                rate,
            )
        })
    }

    /// Decoder memory steps for a window of `samples` samples (0 if too short).
    pub fn memory_steps(&self, samples: i64) -> i64 {
        let p = self.beats.input_patch_size;
        let tokens = KaldiFbank::num_frames(samples) / p * (kaldi_fbank::NUM_MEL_BINS / p);
        match self.downsample() {
            Some((k, s)) if tokens >= k => (tokens - k) / s + 1,
            Some(_) => 0,
            None => tokens,
        }
    }

    /// Longest window (samples) whose memory fits `max_cross_position_embeddings`.
    pub fn max_window_samples(&self) -> i64 {
        let max = self.captioner.max_cross_position_embeddings;
        let p = self.beats.input_patch_size;
        let per_step = kaldi_fbank::NUM_MEL_BINS / p;
        let max_tokens = match self.downsample() {
            Some((k, s)) => (max - 1) * s + k + (s - 1),
            None => max,
        };
        let frames = max_tokens / per_step * p + (p - 1);
        (frames - 1) * kaldi_fbank::WINDOW_SHIFT
            + kaldi_fbank::WINDOW_SIZE
            + kaldi_fbank::WINDOW_SHIFT
            - 1
    }

    /// Shortest window (samples) that gives at least one memory step.
    pub fn min_window_samples(&self) -> i64 {
        let p = self.beats.input_patch_size;
        let per_step = kaldi_fbank::NUM_MEL_BINS / p;
        let tokens = self.downsample().map_or(1, |(k, _)| k);
        let frames = ((tokens + per_step - 1) / per_step) * p;
        (frames - 1) * kaldi_fbank::WINDOW_SHIFT + kaldi_fbank::WINDOW_SIZE
    }

    /// Rejects configurations this implementation does not cover.
    pub fn check_supported(&self) -> Result<(), ModelError> {
        let c = &self.captioner;
        ModelError::require_positive(
            "captioner",
            &[
                (
                    "encoder_downsample_rate",
                    c.encoder_downsample_rate.unwrap_or(1),
                ),
                ("downsample kernel", self.downsample().map_or(1, |(k, _)| k)),
                (
                    "max_cross_position_embeddings",
                    c.max_cross_position_embeddings,
                ),
                ("encoder_repr_layer_idx", self.repr_layer()),
                (
                    "embed_predictor_ffn_dim",
                    c.embed_predictor_ffn_dim.unwrap_or(1),
                ),
                (
                    "embed_predictor_out_dim",
                    c.embed_predictor_out_dim.unwrap_or(1),
                ),
            ],
        )?;
        self.beats.check_supported()?;
        if c.use_weighted_encoder_repr {
            return Err(ModelError::Unsupported(
                "use_weighted_encoder_repr = true".into(),
            ));
        }
        if !c.use_conv_downsample && c.encoder_downsample_rate.unwrap_or(1) > 1 {
            return Err(ModelError::Unsupported(
                "strided downsampling without use_conv_downsample (random offset)".into(),
            ));
        }
        if self.beats.encoder_embed_dim != self.conformer.hidden_size {
            return Err(ModelError::Unsupported(
                "BEATs encoder_embed_dim differs from the Conformer hidden_size".into(),
            ));
        }
        if c.use_encoder_embed_mlp
            && (c.embed_predictor_ffn_dim.is_none() || c.embed_predictor_out_dim.is_none())
        {
            return Err(ModelError::Unsupported(
                "use_encoder_embed_mlp without embed_predictor_ffn_dim/out_dim".into(),
            ));
        }
        Ok(())
    }
}
