//! BEATs audio encoder (Chen et al. 2022), inference only, as used by the seed-1 teacher.
//!
//! Patch embedding over the kaldi fbank → LayerNorm → projection → convolutional position
//! embedding → post-LN DeepNorm transformer layers with gated T5-style relative position
//! bias. Only the layers up to the one the captioner reads are built and run.
//!
//! Reference: `model/BEATs.py` and `model/backbone.py` of
//! <https://github.com/slSeanWU/beats-conformer-bart-audio-captioner/tree/2f1e34e/model>
//! (Microsoft's `unilm/beats` with a `max_layer` early exit).

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::model::ModelError;

/// BEATs' `cfg` dict (stored in the `.pt` checkpoint), the fields inference needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BeatsConfig {
    /// Patch size of the patch embedding (16).
    pub input_patch_size: i64,
    /// Patch embedding dimension (512).
    pub embed_dim: i64,
    /// Whether the patch embedding has a bias.
    #[serde(default)]
    pub conv_bias: bool,
    /// Transformer layers in the checkpoint (12).
    pub encoder_layers: i64,
    /// Model dimension D (768).
    pub encoder_embed_dim: i64,
    /// FFN dimension (3072).
    pub encoder_ffn_embed_dim: i64,
    /// Attention heads (12).
    pub encoder_attention_heads: i64,
    /// FFN activation; only `gelu` is supported.
    #[serde(default = "default_gelu")]
    pub activation_fn: String,
    /// Pre-LN layers; BEATs checkpoints use post-LN (false).
    #[serde(default)]
    pub layer_norm_first: bool,
    /// DeepNorm residual scaling `(2·L)^¼`.
    #[serde(default)]
    pub deep_norm: bool,
    /// Kernel of the convolutional position embedding.
    pub conv_pos: i64,
    /// Groups of the convolutional position embedding.
    pub conv_pos_groups: i64,
    /// T5-style relative position bias.
    #[serde(default)]
    pub relative_position_embedding: bool,
    /// Relative position buckets (320).
    #[serde(default = "default_buckets")]
    pub num_buckets: i64,
    /// Largest distance with its own log bucket.
    #[serde(default = "default_max_distance")]
    pub max_distance: i64,
    /// Gated relative position bias.
    #[serde(default)]
    pub gru_rel_pos: bool,
}

fn default_gelu() -> String {
    "gelu".to_owned()
}
fn default_buckets() -> i64 {
    320
}
fn default_max_distance() -> i64 {
    1280
}

impl BeatsConfig {
    /// Rejects configurations this implementation does not cover.
    pub fn check_supported(&self) -> Result<(), ModelError> {
        ModelError::require_positive(
            "BEATs",
            &[
                ("input_patch_size", self.input_patch_size),
                ("embed_dim", self.embed_dim),
                ("encoder_layers", self.encoder_layers),
                ("encoder_embed_dim", self.encoder_embed_dim),
                ("encoder_ffn_embed_dim", self.encoder_ffn_embed_dim),
                ("encoder_attention_heads", self.encoder_attention_heads),
                ("conv_pos", self.conv_pos),
                ("conv_pos_groups", self.conv_pos_groups),
                ("num_buckets / 4", self.num_buckets / 4),
                ("max_distance", self.max_distance),
            ],
        )?;
        let mut problems = Vec::new();
        if self.encoder_embed_dim % self.conv_pos_groups != 0 {
            problems.push("encoder_embed_dim not divisible by conv_pos_groups".to_owned());
        }
        if self.input_patch_size > crate::features::kaldi_fbank::NUM_MEL_BINS {
            problems.push("input_patch_size larger than the 128 mel bins".to_owned());
        }
        if self.activation_fn != "gelu" {
            problems.push(format!(
                "activation_fn {:?} (only gelu)",
                self.activation_fn
            ));
        }
        if self.layer_norm_first {
            problems.push("layer_norm_first = true (only post-LN)".to_owned());
        }
        if !self.relative_position_embedding || !self.gru_rel_pos {
            problems.push("relative_position_embedding and gru_rel_pos must be true".to_owned());
        }
        if self.encoder_embed_dim % self.encoder_attention_heads != 0 {
            problems.push("encoder_embed_dim not divisible by heads".to_owned());
        }
        ModelError::unsupported_if_any("BEATs", &problems)
    }
}

/// The softmax-stability constant α of BEATs' attention.
const ALPHA: f64 = 32.0;

fn gelu(x: &Tensor) -> Tensor {
    x.gelu("none")
}

/// `MultiheadAttention` with gated relative position bias (backbone.py).
#[derive(Debug)]
struct MultiheadAttention {
    q_proj: nn::Linear,
    k_proj: nn::Linear,
    v_proj: nn::Linear,
    out_proj: nn::Linear,
    grep_linear: nn::Linear,
    grep_a: Tensor,
    num_heads: i64,
    head_dim: i64,
}

impl MultiheadAttention {
    fn new(vs: nn::Path, cfg: &BeatsConfig) -> Self {
        let d = cfg.encoder_embed_dim;
        let h = cfg.encoder_attention_heads;
        let lin = |name: &str| nn::linear(&vs / name, d, d, Default::default());
        MultiheadAttention {
            q_proj: lin("q_proj"),
            k_proj: lin("k_proj"),
            v_proj: lin("v_proj"),
            out_proj: lin("out_proj"),
            grep_linear: nn::linear(&vs / "grep_linear", d / h, 8, Default::default()),
            grep_a: vs.ones("grep_a", &[1, h, 1, 1]),
            num_heads: h,
            head_dim: d / h,
        }
    }

    /// `x`: (B, T, D); `position_bias`: (1, H, T, T).
    fn forward(&self, x: &Tensor, position_bias: &Tensor) -> Tensor {
        let (b, t, d) = x.size3().expect("BEATs attention input is (B, T, D)");
        let heads = |y: Tensor| {
            y.view([b, t, self.num_heads, self.head_dim])
                .transpose(1, 2)
        };
        let scaling = (self.head_dim as f64).powf(-0.5);
        let q = heads(self.q_proj.forward(x) * scaling * (1.0 / ALPHA));
        let k = heads(self.k_proj.forward(x));
        let v = heads(self.v_proj.forward(x));
        let attn = q.matmul(&k.transpose(-1, -2));
        let (max, _) = attn.max_dim(-1, true);
        let attn = (attn - max) * ALPHA;
        // Gate from the unscaled query: sigmoid of 2×4 grouped sums.
        let query_layer = &q * ALPHA / scaling;
        let gates = self
            .grep_linear
            .forward(&query_layer)
            .view([b, self.num_heads, t, 2, 4])
            .sum_dim_intlist(-1, false, Kind::Float)
            .sigmoid();
        let gate_a = gates.narrow(-1, 0, 1);
        let gate_b = gates.narrow(-1, 1, 1);
        let gate = gate_a * (gate_b * &self.grep_a - 1.0) + 2.0;
        let attn = attn + gate * position_bias;
        let probs = attn.softmax(-1, Kind::Float);
        let out = probs
            .matmul(&v)
            .transpose(1, 2)
            .contiguous()
            .view([b, t, d]);
        self.out_proj.forward(&out)
    }
}

/// `TransformerSentenceEncoderLayer`, post-LN with DeepNorm residual scaling.
#[derive(Debug)]
struct EncoderLayer {
    self_attn: MultiheadAttention,
    self_attn_layer_norm: nn::LayerNorm,
    fc1: nn::Linear,
    fc2: nn::Linear,
    final_layer_norm: nn::LayerNorm,
    deep_norm_alpha: f64,
}

impl EncoderLayer {
    fn new(vs: nn::Path, cfg: &BeatsConfig) -> Self {
        let d = cfg.encoder_embed_dim;
        let ln = |name: &str| nn::layer_norm(&vs / name, vec![d], Default::default());
        EncoderLayer {
            self_attn: MultiheadAttention::new(&vs / "self_attn", cfg),
            self_attn_layer_norm: ln("self_attn_layer_norm"),
            fc1: nn::linear(
                &vs / "fc1",
                d,
                cfg.encoder_ffn_embed_dim,
                Default::default(),
            ),
            fc2: nn::linear(
                &vs / "fc2",
                cfg.encoder_ffn_embed_dim,
                d,
                Default::default(),
            ),
            final_layer_norm: ln("final_layer_norm"),
            deep_norm_alpha: if cfg.deep_norm {
                (2.0 * cfg.encoder_layers as f64).powf(0.25)
            } else {
                1.0
            },
        }
    }

    fn forward(&self, x: &Tensor, position_bias: &Tensor) -> Tensor {
        let attn = self.self_attn.forward(x, position_bias);
        let x = self
            .self_attn_layer_norm
            .forward(&(x * self.deep_norm_alpha + attn));
        let ffn = self.fc2.forward(&gelu(&self.fc1.forward(&x)));
        self.final_layer_norm
            .forward(&(x * self.deep_norm_alpha + ffn))
    }
}

/// `TransformerEncoder`: conv position embedding, LayerNorm, the first `layers.len()` layers.
#[derive(Debug)]
struct TransformerEncoder {
    pos_conv: nn::Conv1D,
    conv_pos: i64,
    layer_norm: nn::LayerNorm,
    relative_attention_bias: Tensor,
    num_buckets: i64,
    max_distance: i64,
    layers: Vec<EncoderLayer>,
}

impl TransformerEncoder {
    fn new(vs: nn::Path, cfg: &BeatsConfig, num_layers: i64) -> Self {
        let d = cfg.encoder_embed_dim;
        let conv_cfg = nn::ConvConfig {
            padding: cfg.conv_pos / 2,
            groups: cfg.conv_pos_groups,
            ..Default::default()
        };
        // weight_norm (weight_g, weight_v) is folded into a plain weight at conversion.
        let pos_conv = nn::conv1d(&vs / "pos_conv" / 0, d, d, cfg.conv_pos, conv_cfg);
        let layers = (0..num_layers)
            .map(|i| EncoderLayer::new(&vs / "layers" / i, cfg))
            .collect();
        // One bias table shared by all layers (backbone.py re-points layers 1.. at layer 0's).
        let relative_attention_bias =
            (&vs / "layers" / 0 / "self_attn" / "relative_attention_bias").var(
                "weight",
                &[cfg.num_buckets, cfg.encoder_attention_heads],
                nn::Init::Randn {
                    mean: 0.0,
                    stdev: 1.0,
                },
            );
        TransformerEncoder {
            pos_conv,
            conv_pos: cfg.conv_pos,
            layer_norm: nn::layer_norm(&vs / "layer_norm", vec![d], Default::default()),
            relative_attention_bias,
            num_buckets: cfg.num_buckets,
            max_distance: cfg.max_distance,
            layers,
        }
    }

    /// `_relative_positions_bucket` (bidirectional), same float32 ops as the reference.
    fn relative_position_bucket(&self, relative: &Tensor) -> Tensor {
        let num_buckets = self.num_buckets / 2;
        let sign_bucket = relative.gt(0).to_kind(Kind::Int64) * num_buckets;
        let relative = relative.abs();
        let max_exact = num_buckets / 2;
        let is_small = relative.lt(max_exact);
        let large = (relative.to_kind(Kind::Float) / max_exact as f64).log()
            / (self.max_distance as f64 / max_exact as f64).ln()
            * (num_buckets - max_exact) as f64;
        let large = (large.to_kind(Kind::Int64) + max_exact).clamp_max(num_buckets - 1);
        sign_bucket + relative.where_self(&is_small, &large)
    }

    /// `compute_bias`: (1, H, T, T).
    fn position_bias(&self, t: i64) -> Tensor {
        let device = self.relative_attention_bias.device();
        let pos = Tensor::arange(t, (Kind::Int64, device));
        let relative = pos.unsqueeze(0) - pos.unsqueeze(1);
        let buckets = self.relative_position_bucket(&relative);
        Tensor::embedding(&self.relative_attention_bias, &buckets, -1, false, false)
            .permute([2, 0, 1])
            .unsqueeze(0)
    }

    /// Hidden states: index 0 is the input of layer 1, index i the output of layer i.
    fn forward(&self, x: &Tensor) -> Vec<Tensor> {
        let x_conv = self.pos_conv.forward(&x.transpose(1, 2));
        let x_conv = if self.conv_pos % 2 == 0 {
            x_conv.narrow(2, 0, x_conv.size()[2] - 1) // SamePad
        } else {
            x_conv
        };
        let x = x + gelu(&x_conv).transpose(1, 2);
        let mut x = self.layer_norm.forward(&x);
        let bias = self.position_bias(x.size()[1]);
        let mut hidden = vec![x.shallow_clone()];
        for layer in &self.layers {
            x = layer.forward(&x, &bias);
            hidden.push(x.shallow_clone());
        }
        hidden
    }
}

/// The BEATs model up to `num_layers` transformer layers.
#[derive(Debug)]
pub struct Beats {
    patch_embedding: nn::Conv2D,
    layer_norm: nn::LayerNorm,
    post_extract_proj: Option<nn::Linear>,
    encoder: TransformerEncoder,
}

impl Beats {
    /// Builds BEATs under `vs` with only the first `num_layers` layers (the captioner's
    /// `encoder_repr_layer_idx`).
    pub fn new(vs: nn::Path, cfg: &BeatsConfig, num_layers: i64) -> Result<Self, ModelError> {
        cfg.check_supported()?;
        if !(1..=cfg.encoder_layers).contains(&num_layers) {
            return Err(ModelError::Unsupported(format!(
                "BEATs layer {num_layers} requested, checkpoint has 1..={}",
                cfg.encoder_layers
            )));
        }
        let conv_cfg = nn::ConvConfig {
            stride: cfg.input_patch_size,
            bias: cfg.conv_bias,
            ..Default::default()
        };
        let post_extract_proj = (cfg.embed_dim != cfg.encoder_embed_dim).then(|| {
            let p = &vs / "post_extract_proj";
            nn::linear(p, cfg.embed_dim, cfg.encoder_embed_dim, Default::default())
        });
        Ok(Beats {
            patch_embedding: nn::conv2d(
                &vs / "patch_embedding",
                1,
                cfg.embed_dim,
                cfg.input_patch_size,
                conv_cfg,
            ),
            layer_norm: nn::layer_norm(&vs / "layer_norm", vec![cfg.embed_dim], Default::default()),
            post_extract_proj,
            encoder: TransformerEncoder::new(&vs / "encoder", cfg, num_layers),
        })
    }

    /// `fbank`: (B, frames, 128) normalised fbank → hidden states, each (B, tokens, D),
    /// with tokens = ⌊frames/16⌋ · 8 (time-major, 8 frequency patches per step).
    pub fn forward(&self, fbank: &Tensor) -> Vec<Tensor> {
        let features = self.patch_embedding.forward(&fbank.unsqueeze(1));
        let (b, e) = (features.size()[0], features.size()[1]);
        let features = features.reshape([b, e, -1]).transpose(1, 2);
        let features = self.layer_norm.forward(&features);
        let x = match &self.post_extract_proj {
            Some(p) => p.forward(&features),
            None => features,
        };
        self.encoder.forward(&x)
    }
}
