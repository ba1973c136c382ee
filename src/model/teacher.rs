//! The seed-1 captioner (Wu et al., DCASE 2023 task 6A): kaldi fbank → BEATs (up to
//! `encoder_repr_layer_idx`) → Conv1d downsampling → Conformer → + cross positions →
//! BART decoder, with the `encoder_embed_mlp` clip embedding for reranking.
//!
//! Reference: `BeatsConformerBartSeq2SeqForCaptioning` in
//! <https://github.com/slSeanWU/beats-conformer-bart-audio-captioner/blob/2f1e34e/model/modeling_beats_conformer_bart.py>.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module, ModuleT};
use tch::{Device, Kind, Tensor};

use super::bart::{BartDecoder, BartDecoderConfig, KvCache, POSITION_OFFSET};
use super::beats::{Beats, BeatsConfig};
use super::conformer::{ConformerConfig, ConformerEncoder};
use super::traits::{AudioEncoder, CaptionDecoder, Memory, SpecialTokens};
use super::ModelError;
use crate::features::kaldi_fbank::{self, KaldiFbank};

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

/// `TextEmbeddingPredictor` (`encoder_embed_mlp`): Linear → BatchNorm1d (eval) → GELU → Linear.
#[derive(Debug)]
struct EmbedMlp {
    fc1: nn::Linear,
    bn: nn::BatchNorm,
    fc2: nn::Linear,
}

impl EmbedMlp {
    fn new(vs: nn::Path, d: i64, ffn: i64, out: i64) -> Self {
        let no_bias = nn::LinearConfig {
            bias: false,
            ..Default::default()
        };
        EmbedMlp {
            fc1: nn::linear(&vs / "fc1", d, ffn, no_bias),
            bn: nn::batch_norm1d(&vs / "bn", ffn, Default::default()),
            fc2: nn::linear(&vs / "fc2", ffn, out, no_bias),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let x = self.bn.forward_t(&self.fc1.forward(x), false);
        self.fc2.forward(&x.gelu("none"))
    }
}

/// Every intermediate tensor of one encoder pass (what the golden file records).
#[derive(Debug)]
pub struct EncoderTrace {
    /// Normalised fbank (B, frames, 128).
    pub fbank: Tensor,
    /// BEATs hidden states 0..=repr layer, each (B, tokens, D).
    pub beats_layers: Vec<Tensor>,
    /// After the downsampling conv (B, S, D).
    pub downsampled: Tensor,
    /// Conformer output (B, S, D), before `cross_embed_positions`.
    pub encoder_out: Tensor,
    /// The decoder memory and clip embedding.
    pub memory: Memory,
}

/// The seed-1 teacher captioner.
#[derive(Debug)]
pub struct Teacher {
    cfg: TeacherConfig,
    fbank: KaldiFbank,
    encoder: Beats,
    downsample_conv: Option<nn::Conv1D>,
    postencoder: ConformerEncoder,
    enc_dec_proj: Option<nn::Linear>,
    cross_embed_positions: Tensor,
    encoder_embed_mlp: Option<EmbedMlp>,
    decoder: BartDecoder,
}

impl Teacher {
    /// Builds the model under `vs` with the checkpoint's key names (random weights until
    /// loaded, see `checkpoint::load_model_dir`).
    pub fn new(vs: nn::Path, cfg: &TeacherConfig) -> Result<Self, ModelError> {
        cfg.check_supported()?;
        let c = &cfg.captioner;
        let d_enc = cfg.conformer.hidden_size;
        let d = c.decoder.d_model;
        let downsample_conv = cfg.downsample().map(|(k, s)| {
            let conv = nn::ConvConfig {
                stride: s,
                ..Default::default()
            };
            nn::conv1d(&vs / "downsample_conv", d_enc, d_enc, k, conv)
        });
        let enc_dec_proj = (d != d_enc).then(|| {
            let no_bias = nn::LinearConfig {
                bias: false,
                ..Default::default()
            };
            nn::linear(&vs / "enc_dec_proj", d_enc, d, no_bias)
        });
        let encoder_embed_mlp = match (
            c.use_encoder_embed_mlp,
            c.embed_predictor_ffn_dim,
            c.embed_predictor_out_dim,
        ) {
            (true, Some(ffn), Some(out)) => {
                Some(EmbedMlp::new(&vs / "encoder_embed_mlp", d, ffn, out))
            }
            _ => None,
        };
        Ok(Teacher {
            cfg: cfg.clone(),
            fbank: KaldiFbank::new(vs.device()),
            encoder: Beats::new(&vs / "encoder", &cfg.beats, cfg.repr_layer())?,
            downsample_conv,
            postencoder: ConformerEncoder::new(&vs / "postencoder", &cfg.conformer)?,
            enc_dec_proj,
            cross_embed_positions: (&vs / "cross_embed_positions").var(
                "weight",
                &[c.max_cross_position_embeddings + POSITION_OFFSET, d],
                nn::Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
            ),
            encoder_embed_mlp,
            decoder: BartDecoder::new(vs, &c.decoder)?,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TeacherConfig {
        &self.cfg
    }

    /// The BART decoder.
    pub fn decoder(&self) -> &BartDecoder {
        &self.decoder
    }

    fn check_window(&self, waves: &Tensor) -> Result<(i64, i64), ModelError> {
        let (b, n) = waves.size2().map_err(|_| {
            ModelError::Input(format!("waveforms must be (B, N), got {:?}", waves.size()))
        })?;
        let (lo, hi) = (self.cfg.min_window_samples(), self.cfg.max_window_samples());
        if n < lo || n > hi {
            return Err(ModelError::Input(format!(
                "window of {n} samples ({:.2} s) is outside what the teacher accepts: {lo}..={hi} samples ({:.2}..={:.2} s at 16 kHz)",
                n as f64 / 16000.0,
                lo as f64 / 16000.0,
                hi as f64 / 16000.0
            )));
        }
        Ok((b, n))
    }

    /// Runs the encoder and keeps every intermediate tensor (for parity checks and `dump`).
    pub fn encode_trace(&self, waves: &Tensor) -> Result<EncoderTrace, ModelError> {
        self.check_window(waves)?;
        let _guard = tch::no_grad_guard();
        let fbank = self
            .fbank
            .forward(&waves.to_device(self.cross_embed_positions.device()));
        let beats_layers = self.encoder.forward(&fbank);
        let repr = beats_layers
            .last()
            .ok_or_else(|| ModelError::Unsupported("BEATs without layers".into()))?;
        let downsampled = match &self.downsample_conv {
            Some(conv) => conv.forward(&repr.transpose(1, 2)).transpose(1, 2),
            None => repr.shallow_clone(),
        };
        let encoder_out = self.postencoder.forward(&downsampled, None);
        let (b, s, _) = encoder_out.size3()?;
        let valid = Tensor::ones([b, s], (Kind::Bool, encoder_out.device()));
        let states = match &self.enc_dec_proj {
            Some(p) => p.forward(&encoder_out),
            None => encoder_out.shallow_clone(),
        };
        let clip_embed = self.encoder_embed_mlp.as_ref().map(|mlp| {
            let w = valid.to_kind(Kind::Float).unsqueeze(-1);
            let mean = (&states * &w).sum_dim_intlist(1, false, Kind::Float)
                / w.sum_dim_intlist(1, false, Kind::Float);
            mlp.forward(&mean)
        });
        let positions = self.cross_embed_positions.narrow(0, POSITION_OFFSET, s);
        let memory = Memory {
            states: &states + positions,
            valid,
            clip_embed,
        };
        Ok(EncoderTrace {
            fbank,
            beats_layers,
            downsampled,
            encoder_out,
            memory,
        })
    }

    /// Mean token cross-entropy over labels ≠ −100 (the seed's reranking score), (N,).
    pub fn nll(logits: &Tensor, labels: &Tensor) -> Tensor {
        let (n, l, v) = logits.size3().expect("logits are (N, L, V)");
        let ce = logits
            .view([n * l, v])
            .log_softmax(-1, Kind::Float)
            .nll_loss_nd::<Tensor>(&labels.view([n * l]), None, tch::Reduction::None, -100)
            .view([n, l]);
        let count = labels.ne(-100).sum_dim_intlist(1, false, Kind::Float);
        ce.sum_dim_intlist(1, false, Kind::Float) / count
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.cross_embed_positions.device()
    }
}

impl AudioEncoder for Teacher {
    fn sample_rate(&self) -> i64 {
        kaldi_fbank::SAMPLE_RATE
    }

    fn max_window_samples(&self) -> i64 {
        self.cfg.max_window_samples()
    }

    fn min_window_samples(&self) -> i64 {
        self.cfg.min_window_samples()
    }

    fn encode(&self, waves: &Tensor) -> Result<Memory, ModelError> {
        Ok(self.encode_trace(waves)?.memory)
    }
}

impl CaptionDecoder for Teacher {
    type Cache = KvCache;

    fn special_tokens(&self) -> SpecialTokens {
        let c = self.decoder.config();
        SpecialTokens {
            decoder_start: c.decoder_start_token_id,
            eos: c.eos_token_id,
            pad: c.pad_token_id,
        }
    }

    fn start(&self, memory: &Memory, per_clip: i64, max_len: i64) -> Result<KvCache, ModelError> {
        let _guard = tch::no_grad_guard();
        let cross = self.decoder.cross_kv(&memory.states, Some(&memory.valid));
        self.decoder.start(cross, per_clip, max_len)
    }

    fn step(&self, cache: &mut KvCache, tokens: &Tensor) -> Result<Tensor, ModelError> {
        let _guard = tch::no_grad_guard();
        self.decoder.step(cache, tokens)
    }

    fn reorder(&self, cache: &mut KvCache, rows: &Tensor) {
        let _guard = tch::no_grad_guard();
        cache.reorder(rows);
    }

    fn logits(&self, memory: &Memory, per_clip: i64, ids: &Tensor) -> Result<Tensor, ModelError> {
        let _guard = tch::no_grad_guard();
        let b = memory.states.size()[0];
        if ids.dim() != 2 || ids.size()[0] != b * per_clip {
            return Err(ModelError::Input(format!(
                "ids must be ({} , L) for {b} clips × {per_clip}, got {:?}",
                b * per_clip,
                ids.size()
            )));
        }
        let cross = self.decoder.cross_kv(&memory.states, Some(&memory.valid));
        Ok(self.decoder.forward(ids, &cross))
    }
}
