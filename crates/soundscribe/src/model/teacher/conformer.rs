//! Conformer post-encoder: Hugging Face `Wav2Vec2ConformerEncoder` with ESPnet-style
//! relative positional self-attention, inference only.
//!
//! Per layer: ½·FFN → rel-pos MHSA → convolution module (pointwise GLU, depthwise,
//! BatchNorm, swish, pointwise) → ½·FFN → LayerNorm; then a final LayerNorm. The encoder's
//! `pos_conv_embed` is not used by its forward pass and is not built.
//!
//! Reference: `transformers/models/wav2vec2_conformer/modeling_wav2vec2_conformer.py`
//! (<https://github.com/huggingface/transformers/blob/v4.46.0/src/transformers/models/wav2vec2_conformer/modeling_wav2vec2_conformer.py>).

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module, ModuleT};
use tch::{Kind, Tensor};

use crate::model::ModelError;

/// `Wav2Vec2ConformerConfig` (the checkpoint's `conformer_config.json`), fields in use;
/// absent keys take transformers' defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformerConfig {
    /// Model dimension (768).
    #[serde(default = "w2v_hidden")]
    pub hidden_size: i64,
    /// Conformer layers.
    #[serde(default = "w2v_layers")]
    pub num_hidden_layers: i64,
    /// Attention heads.
    #[serde(default = "w2v_heads")]
    pub num_attention_heads: i64,
    /// FFN dimension.
    #[serde(default = "w2v_ffn")]
    pub intermediate_size: i64,
    /// FFN / conv module activation (`swish` = SiLU, or `gelu`, `relu`).
    #[serde(default = "w2v_act")]
    pub hidden_act: String,
    /// Depthwise convolution kernel (31).
    #[serde(default = "w2v_kernel")]
    pub conv_depthwise_kernel_size: i64,
    /// LayerNorm epsilon of the final encoder LayerNorm.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Only `relative` is supported.
    #[serde(default = "w2v_pos")]
    pub position_embeddings_type: Option<String>,
}

// Defaults of `transformers.Wav2Vec2ConformerConfig`, for keys a config leaves out.
fn w2v_hidden() -> i64 {
    768
}

fn w2v_layers() -> i64 {
    12
}

fn w2v_heads() -> i64 {
    12
}

fn w2v_ffn() -> i64 {
    3072
}

fn w2v_act() -> String {
    "gelu".to_owned()
}

fn w2v_kernel() -> i64 {
    31
}

fn w2v_pos() -> Option<String> {
    Some("relative".to_owned())
}

fn default_eps() -> f64 {
    1e-5
}

impl ConformerConfig {
    /// Rejects configurations this implementation does not cover.
    pub fn check_supported(&self) -> Result<(), ModelError> {
        ModelError::require_positive(
            "Conformer",
            &[
                ("hidden_size", self.hidden_size),
                ("num_attention_heads", self.num_attention_heads),
                ("intermediate_size", self.intermediate_size),
                (
                    "conv_depthwise_kernel_size",
                    self.conv_depthwise_kernel_size,
                ),
                ("num_hidden_layers + 1", self.num_hidden_layers + 1),
            ],
        )?;
        let mut problems = Vec::new();
        if self.position_embeddings_type.as_deref() != Some("relative") {
            problems.push(format!(
                "position_embeddings_type {:?} (only \"relative\")",
                self.position_embeddings_type
            ));
        }
        if !matches!(self.hidden_act.as_str(), "swish" | "silu" | "gelu" | "relu") {
            problems.push(format!("hidden_act {:?}", self.hidden_act));
        }
        if (self.conv_depthwise_kernel_size - 1) % 2 == 1 {
            problems.push("conv_depthwise_kernel_size must be odd".to_owned());
        }
        if self.hidden_size % self.num_attention_heads != 0 {
            problems.push("hidden_size not divisible by num_attention_heads".to_owned());
        }
        ModelError::unsupported_if_any("Conformer", &problems)
    }

    fn act(&self, x: &Tensor) -> Tensor {
        match self.hidden_act.as_str() {
            "gelu" => x.gelu("none"),
            "relu" => x.relu(),
            _ => x.silu(),
        }
    }
}

/// `Wav2Vec2ConformerRelPositionalEmbedding`: sinusoids for offsets T−1 … −(T−1), (1, 2T−1, D).
fn relative_position_embeddings(t: i64, d: i64, device: tch::Device) -> Tensor {
    let position = Tensor::arange(t, (Kind::Int64, device))
        .to_kind(Kind::Float)
        .unsqueeze(1);
    let div_term = (Tensor::arange_start_step(0, d, 2, (Kind::Int64, device)).to_kind(Kind::Float)
        * -(10000f64.ln() / d as f64))
        .exp();
    let interleave = |sin: Tensor, cos: Tensor| Tensor::stack(&[sin, cos], 2).view([t, d]);
    let arg = &position * &div_term;
    let positive = interleave(arg.sin(), arg.cos()).flip([0]);
    let neg_arg = (&position * -1) * &div_term;
    let negative = interleave(neg_arg.sin(), neg_arg.cos()).narrow(0, 1, t - 1);
    Tensor::cat(&[positive, negative], 0).unsqueeze(0)
}

/// `Wav2Vec2ConformerFeedForward`.
#[derive(Debug)]
struct FeedForward {
    intermediate_dense: nn::Linear,
    output_dense: nn::Linear,
}

impl FeedForward {
    fn new(vs: nn::Path, cfg: &ConformerConfig) -> Self {
        let (d, f) = (cfg.hidden_size, cfg.intermediate_size);
        FeedForward {
            intermediate_dense: nn::linear(&vs / "intermediate_dense", d, f, Default::default()),
            output_dense: nn::linear(&vs / "output_dense", f, d, Default::default()),
        }
    }

    fn forward(&self, x: &Tensor, cfg: &ConformerConfig) -> Tensor {
        self.output_dense
            .forward(&cfg.act(&self.intermediate_dense.forward(x)))
    }
}

/// `Wav2Vec2ConformerConvolutionModule`.
#[derive(Debug)]
struct ConvolutionModule {
    layer_norm: nn::LayerNorm,
    pointwise_conv1: nn::Conv1D,
    depthwise_conv: nn::Conv1D,
    batch_norm: nn::BatchNorm,
    pointwise_conv2: nn::Conv1D,
}

impl ConvolutionModule {
    fn new(vs: nn::Path, cfg: &ConformerConfig) -> Self {
        let d = cfg.hidden_size;
        let k = cfg.conv_depthwise_kernel_size;
        let depthwise = nn::ConvConfig {
            padding: (k - 1) / 2,
            groups: d,
            bias: false,
            ..Default::default()
        };
        ConvolutionModule {
            layer_norm: nn::layer_norm(&vs / "layer_norm", vec![d], Default::default()),
            pointwise_conv1: nn::conv1d(&vs / "pointwise_conv1", d, 2 * d, 1, nn::no_bias()),
            depthwise_conv: nn::conv1d(&vs / "depthwise_conv", d, d, k, depthwise),
            batch_norm: nn::batch_norm1d(&vs / "batch_norm", d, Default::default()),
            pointwise_conv2: nn::conv1d(&vs / "pointwise_conv2", d, d, 1, nn::no_bias()),
        }
    }

    fn forward(&self, x: &Tensor, cfg: &ConformerConfig) -> Tensor {
        let x = self.layer_norm.forward(x).transpose(1, 2);
        let x = self.pointwise_conv1.forward(&x).glu(1);
        let x = self.depthwise_conv.forward(&x);
        let x = self.batch_norm.forward_t(&x, false);
        let x = self.pointwise_conv2.forward(&cfg.act(&x));
        x.transpose(1, 2)
    }
}

/// `Wav2Vec2ConformerSelfAttention` with `position_embeddings_type = "relative"`.
#[derive(Debug)]
struct SelfAttention {
    linear_q: nn::Linear,
    linear_k: nn::Linear,
    linear_v: nn::Linear,
    linear_out: nn::Linear,
    linear_pos: nn::Linear,
    pos_bias_u: Tensor,
    pos_bias_v: Tensor,
    num_heads: i64,
    head_size: i64,
}

impl SelfAttention {
    fn new(vs: nn::Path, cfg: &ConformerConfig) -> Self {
        let d = cfg.hidden_size;
        let h = cfg.num_attention_heads;
        let lin = |name: &str| nn::linear(&vs / name, d, d, Default::default());
        let no_bias = nn::LinearConfig {
            bias: false,
            ..Default::default()
        };
        SelfAttention {
            linear_q: lin("linear_q"),
            linear_k: lin("linear_k"),
            linear_v: lin("linear_v"),
            linear_out: lin("linear_out"),
            linear_pos: nn::linear(&vs / "linear_pos", d, d, no_bias),
            pos_bias_u: vs.zeros("pos_bias_u", &[h, d / h]),
            pos_bias_v: vs.zeros("pos_bias_v", &[h, d / h]),
            num_heads: h,
            head_size: d / h,
        }
    }

    /// `x`: (B, T, D); `rel_pos`: (1, 2T−1, D); `mask`: additive (B, 1, 1, T) or None.
    fn forward(&self, x: &Tensor, rel_pos: &Tensor, mask: Option<&Tensor>) -> Tensor {
        let (b, t, d) = x.size3().expect("Conformer attention input is (B, T, D)");
        let (h, dk) = (self.num_heads, self.head_size);
        let split = |y: Tensor| y.view([b, -1, h, dk]);
        let query = split(self.linear_q.forward(x)); // (B, T, H, dk)
        let key = split(self.linear_k.forward(x)).transpose(1, 2);
        let value = split(self.linear_v.forward(x)).transpose(1, 2);
        // _apply_relative_embeddings
        let p = self
            .linear_pos
            .forward(rel_pos)
            .view([rel_pos.size()[0], -1, h, dk])
            .transpose(1, 2); // (1, H, 2T−1, dk)
        let q_u = (&query + &self.pos_bias_u).transpose(1, 2);
        let q_v = (&query + &self.pos_bias_v).transpose(1, 2);
        let scores_ac = q_u.matmul(&key.transpose(-2, -1));
        let scores_bd = q_v.matmul(&p.permute([0, 1, 3, 2])); // (B, H, T, 2T−1)
                                                              // Relative shift.
        let n = scores_bd.size()[3];
        let padded = Tensor::cat(&[scores_bd.zeros_like().narrow(3, 0, 1), scores_bd], 3);
        let shifted = padded
            .view([b, h, n + 1, t])
            .narrow(2, 1, n)
            .reshape([b, h, t, n])
            .narrow(3, 0, n / 2 + 1);
        let mut scores = (scores_ac + shifted) / (dk as f64).sqrt();
        if let Some(mask) = mask {
            scores += mask;
        }
        let probs = scores.softmax(-1, Kind::Float);
        let out = probs.matmul(&value).transpose(1, 2).reshape([b, -1, d]);
        self.linear_out.forward(&out)
    }
}

/// `Wav2Vec2ConformerEncoderLayer`.
#[derive(Debug)]
struct ConformerLayer {
    ffn1_layer_norm: nn::LayerNorm,
    ffn1: FeedForward,
    self_attn_layer_norm: nn::LayerNorm,
    self_attn: SelfAttention,
    conv_module: ConvolutionModule,
    ffn2_layer_norm: nn::LayerNorm,
    ffn2: FeedForward,
    final_layer_norm: nn::LayerNorm,
}

impl ConformerLayer {
    fn new(vs: nn::Path, cfg: &ConformerConfig) -> Self {
        let ln = |name: &str| nn::layer_norm(&vs / name, vec![cfg.hidden_size], Default::default());
        ConformerLayer {
            ffn1_layer_norm: ln("ffn1_layer_norm"),
            ffn1: FeedForward::new(&vs / "ffn1", cfg),
            self_attn_layer_norm: ln("self_attn_layer_norm"),
            self_attn: SelfAttention::new(&vs / "self_attn", cfg),
            conv_module: ConvolutionModule::new(&vs / "conv_module", cfg),
            ffn2_layer_norm: ln("ffn2_layer_norm"),
            ffn2: FeedForward::new(&vs / "ffn2", cfg),
            final_layer_norm: ln("final_layer_norm"),
        }
    }

    fn forward(
        &self,
        x: &Tensor,
        rel_pos: &Tensor,
        mask: Option<&Tensor>,
        cfg: &ConformerConfig,
    ) -> Tensor {
        let ffn1 = self.ffn1.forward(&self.ffn1_layer_norm.forward(x), cfg);
        let x = ffn1 * 0.5 + x;
        let attn = self
            .self_attn
            .forward(&self.self_attn_layer_norm.forward(&x), rel_pos, mask);
        let x = attn + &x;
        let x = &x + self.conv_module.forward(&x, cfg);
        let ffn2 = self.ffn2.forward(&self.ffn2_layer_norm.forward(&x), cfg);
        let x = ffn2 * 0.5 + &x;
        self.final_layer_norm.forward(&x)
    }
}

/// `Wav2Vec2ConformerEncoder` (relative positions).
#[derive(Debug)]
pub struct ConformerEncoder {
    cfg: ConformerConfig,
    layers: Vec<ConformerLayer>,
    layer_norm: nn::LayerNorm,
}

impl ConformerEncoder {
    /// Builds the encoder under `vs` (the checkpoint's `postencoder`).
    pub fn new(vs: nn::Path, cfg: &ConformerConfig) -> Result<Self, ModelError> {
        cfg.check_supported()?;
        let ln_cfg = nn::LayerNormConfig {
            eps: cfg.layer_norm_eps,
            ..Default::default()
        };
        Ok(ConformerEncoder {
            cfg: cfg.clone(),
            layers: (0..cfg.num_hidden_layers)
                .map(|i| ConformerLayer::new(&vs / "layers" / i, cfg))
                .collect(),
            layer_norm: nn::layer_norm(&vs / "layer_norm", vec![cfg.hidden_size], ln_cfg),
        })
    }

    /// `x`: (B, T, D); `valid`: optional (B, T) bool, true where a step is real.
    pub fn forward(&self, x: &Tensor, valid: Option<&Tensor>) -> Tensor {
        let (_, t, d) = x.size3().expect("Conformer input is (B, T, D)");
        let (mut x, mask) = match valid {
            Some(valid) => {
                let x = x * valid.unsqueeze(-1).to_kind(x.kind());
                let invalid = valid.logical_not().to_kind(Kind::Float);
                let mask = (invalid * f64::from(f32::MIN)).view([valid.size()[0], 1, 1, t]);
                (x, Some(mask))
            }
            None => (x.shallow_clone(), None),
        };
        let rel_pos = relative_position_embeddings(t, d, x.device());
        for layer in &self.layers {
            x = layer.forward(&x, &rel_pos, mask.as_ref(), &self.cfg);
        }
        self.layer_norm.forward(&x)
    }
}
