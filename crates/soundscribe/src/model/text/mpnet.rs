//! MPNet encoder as Hugging Face `MPNetModel` computes it, for all-mpnet-base-v2.
//!
//! Differs from BERT in three ways: positions count from `pad_token_id + 1` over non-pad
//! tokens, there are no segment embeddings, and every layer adds one shared T5-style
//! bucketed relative position bias (32 buckets, max distance 128) to its attention scores.
//! Reference: transformers `models/mpnet/modeling_mpnet.py`.

use serde::Deserialize;
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use super::layer::{additive_mask, layer_norm, AttentionNames, EncoderLayer, LayerDims};

/// The fields of an MPNet `config.json` the encoder needs.
#[derive(Debug, Clone, Deserialize)]
pub struct MpNetConfig {
    /// Vocabulary size.
    pub vocab_size: i64,
    /// Model width (d_model).
    pub hidden_size: i64,
    /// Number of layers.
    pub num_hidden_layers: i64,
    /// Attention heads per layer.
    pub num_attention_heads: i64,
    /// FFN width.
    pub intermediate_size: i64,
    /// Learned absolute positions (including the `pad_token_id + 1` offset).
    pub max_position_embeddings: i64,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Padding token id (also the position padding index).
    pub pad_token_id: i64,
    /// Relative position buckets.
    #[serde(default = "default_buckets")]
    pub relative_attention_num_buckets: i64,
    /// Activation; only `gelu` (exact, erf) is supported.
    pub hidden_act: String,
}

fn default_buckets() -> i64 {
    32
}

const MAX_DISTANCE: f64 = 128.0;

const NAMES: AttentionNames = AttentionNames {
    q: "attn.q",
    k: "attn.k",
    v: "attn.v",
    o: "attn.o",
    norm: "LayerNorm",
};

/// `MPNetModel` without the pooler: token ids → last hidden states.
pub struct MpNetModel {
    word_embeddings: nn::Embedding,
    position_embeddings: nn::Embedding,
    embeddings_norm: nn::LayerNorm,
    relative_attention_bias: nn::Embedding,
    layers: Vec<EncoderLayer>,
    pad_id: i64,
    buckets: i64,
}

impl MpNetModel {
    /// Builds the encoder under `vs` with checkpoint names (`embeddings.*`, `encoder.*`).
    pub fn new(vs: nn::Path, cfg: &MpNetConfig) -> Self {
        let c = Default::default();
        let dims = LayerDims {
            hidden: cfg.hidden_size,
            intermediate: cfg.intermediate_size,
            heads: cfg.num_attention_heads,
            eps: cfg.layer_norm_eps,
        };
        let emb = &vs / "embeddings";
        let enc = &vs / "encoder";
        MpNetModel {
            word_embeddings: nn::embedding(
                &emb / "word_embeddings",
                cfg.vocab_size,
                cfg.hidden_size,
                c,
            ),
            position_embeddings: nn::embedding(
                &emb / "position_embeddings",
                cfg.max_position_embeddings,
                cfg.hidden_size,
                c,
            ),
            embeddings_norm: layer_norm(&emb / "LayerNorm", cfg.hidden_size, cfg.layer_norm_eps),
            relative_attention_bias: nn::embedding(
                &enc / "relative_attention_bias",
                cfg.relative_attention_num_buckets,
                cfg.num_attention_heads,
                c,
            ),
            layers: (0..cfg.num_hidden_layers)
                .map(|i| EncoderLayer::new(&enc / "layer" / i, &NAMES, &dims))
                .collect(),
            pad_id: cfg.pad_token_id,
            buckets: cfg.relative_attention_num_buckets,
        }
    }

    /// `input_ids`, `attention_mask`: (B, L) int64 → hidden states (B, L, D).
    pub fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Tensor {
        // create_position_ids_from_input_ids: cumulative count of non-pad tokens + pad id.
        let not_pad = input_ids.ne(self.pad_id).to_kind(Kind::Int64);
        let positions = not_pad.cumsum(1, Kind::Int64) * &not_pad + self.pad_id;
        let x =
            self.word_embeddings.forward(input_ids) + self.position_embeddings.forward(&positions);
        let x = self.embeddings_norm.forward(&x);

        let len = input_ids.size()[1];
        let bucket = relative_position_bucket(len, self.buckets, input_ids.device());
        let position_bias = self
            .relative_attention_bias
            .forward(&bucket)
            .permute([2, 0, 1])
            .unsqueeze(0);
        let bias = position_bias + additive_mask(attention_mask);
        self.layers
            .iter()
            .fold(x, |x, layer| layer.forward(&x, &bias))
    }
}

/// MPNet's bidirectional bucketing of `memory − context` positions: (L, L) int64.
fn relative_position_bucket(len: i64, num_buckets: i64, device: tch::Device) -> Tensor {
    let pos = Tensor::arange(len, (Kind::Int64, device));
    let relative = pos.unsqueeze(0) - pos.unsqueeze(1); // memory - context
    let n = -relative;
    let half = num_buckets / 2;
    let ret = n.lt(0).to_kind(Kind::Int64) * half;
    let n = n.abs();
    let max_exact = half / 2;
    let is_small = n.lt(max_exact);
    let large = (n.to_kind(Kind::Float) / max_exact as f64).log()
        / (MAX_DISTANCE / max_exact as f64).ln()
        * (half - max_exact) as f64;
    let large = (large.to_kind(Kind::Int64) + max_exact).clamp_max(half - 1);
    ret + n.where_self(&is_small, &large)
}
