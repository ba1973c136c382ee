//! BART decoder (Hugging Face `BartDecoder`) with `lm_head` and `final_logits_bias`, plus an
//! incremental KV cache for decoding.
//!
//! Post-LN layers: causal self-attention → cross-attention → GELU FFN, each followed by its
//! LayerNorm; learned positions with offset 2 and `layernorm_embedding` at the input.
//! The cache preallocates self-attention K/V for `max_len` steps and writes each step in
//! place; cross-attention K/V are computed once per clip and shared by every candidate of
//! that clip (candidates are laid out clip-major, `per_clip` rows per clip).
//!
//! Reference: `transformers/models/bart/modeling_bart.py`
//! (<https://github.com/huggingface/transformers/blob/v4.46.0/src/transformers/models/bart/modeling_bart.py>).

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::model::layers::attention::{attend, attend_shared, BartAttention};
pub use crate::model::layers::kv_cache::{CrossKv, KvCache};
use crate::model::ModelError;

/// Offset of BART's learned position embeddings (rows 0 and 1 are never used).
pub const POSITION_OFFSET: i64 = 2;

/// The decoder part of `BartConfig` (the checkpoint's `config.json`); absent keys take
/// `BartConfig`'s defaults, as in transformers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BartDecoderConfig {
    /// Model dimension (768).
    #[serde(default = "bart_d_model")]
    pub d_model: i64,
    /// Decoder layers (6).
    #[serde(default = "bart_decoder_layers")]
    pub decoder_layers: i64,
    /// Decoder attention heads (16 in the seed's model).
    #[serde(default = "bart_heads")]
    pub decoder_attention_heads: i64,
    /// Decoder FFN dimension (3072).
    #[serde(default = "bart_ffn")]
    pub decoder_ffn_dim: i64,
    /// Vocabulary size (50265).
    #[serde(default = "bart_vocab")]
    pub vocab_size: i64,
    /// Learned decoder positions (1024); the table has 2 more rows.
    #[serde(default = "bart_positions")]
    pub max_position_embeddings: i64,
    /// Padding token id (1).
    #[serde(default = "one")]
    pub pad_token_id: i64,
    /// End-of-sequence token id (2).
    #[serde(default = "two")]
    pub eos_token_id: i64,
    /// First decoder input token (2).
    #[serde(default = "two")]
    pub decoder_start_token_id: i64,
    /// Multiply token embeddings by √d_model.
    #[serde(default)]
    pub scale_embedding: bool,
    /// FFN activation; `gelu` (exact) or `relu`.
    #[serde(default = "gelu_name")]
    pub activation_function: String,
}

// Defaults of `transformers.BartConfig`, for keys a config.json leaves out.
fn bart_d_model() -> i64 {
    1024
}

fn bart_decoder_layers() -> i64 {
    12
}

fn bart_heads() -> i64 {
    16
}

fn bart_ffn() -> i64 {
    4096
}

fn bart_vocab() -> i64 {
    50265
}

fn bart_positions() -> i64 {
    1024
}

fn one() -> i64 {
    1
}
fn two() -> i64 {
    2
}
fn gelu_name() -> String {
    "gelu".to_owned()
}

fn act(name: &str, x: &Tensor) -> Tensor {
    match name {
        "relu" => x.relu(),
        "gelu_new" => x.gelu("tanh"),
        _ => x.gelu("none"),
    }
}

/// `BartDecoderLayer`.
#[derive(Debug)]
struct DecoderLayer {
    self_attn: BartAttention,
    self_attn_layer_norm: nn::LayerNorm,
    encoder_attn: BartAttention,
    encoder_attn_layer_norm: nn::LayerNorm,
    fc1: nn::Linear,
    fc2: nn::Linear,
    final_layer_norm: nn::LayerNorm,
}

impl DecoderLayer {
    fn new(vs: nn::Path, cfg: &BartDecoderConfig) -> Self {
        let d = cfg.d_model;
        let ln = |name: &str| nn::layer_norm(&vs / name, vec![d], Default::default());
        DecoderLayer {
            self_attn: BartAttention::new(&vs / "self_attn", d, cfg.decoder_attention_heads),
            self_attn_layer_norm: ln("self_attn_layer_norm"),
            encoder_attn: BartAttention::new(&vs / "encoder_attn", d, cfg.decoder_attention_heads),
            encoder_attn_layer_norm: ln("encoder_attn_layer_norm"),
            fc1: nn::linear(&vs / "fc1", d, cfg.decoder_ffn_dim, Default::default()),
            fc2: nn::linear(&vs / "fc2", cfg.decoder_ffn_dim, d, Default::default()),
            final_layer_norm: ln("final_layer_norm"),
        }
    }

    /// Cross-attention, FFN and their LayerNorms after self-attention output `attn`.
    fn finish(
        &self,
        x: &Tensor,
        attn: Tensor,
        cross: (&Tensor, &Tensor),
        mask: Option<&Tensor>,
        per_clip: i64,
        cfg: &BartDecoderConfig,
    ) -> Tensor {
        let x = self.self_attn_layer_norm.forward(&(x + attn));
        let q = self.encoder_attn.query(&x);
        let c = attend_shared(&q, cross.0, cross.1, mask, per_clip);
        let x = self
            .encoder_attn_layer_norm
            .forward(&(&x + self.encoder_attn.merge(c)));
        let ffn = self
            .fc2
            .forward(&act(&cfg.activation_function, &self.fc1.forward(&x)));
        self.final_layer_norm.forward(&(x + ffn))
    }
}

/// `BartDecoder` + `lm_head` + `final_logits_bias`.
#[derive(Debug)]
pub struct BartDecoder {
    cfg: BartDecoderConfig,
    embed_tokens: Tensor,
    embed_positions: Tensor,
    layernorm_embedding: nn::LayerNorm,
    layers: Vec<DecoderLayer>,
    lm_head: Tensor,
    final_logits_bias: Tensor,
}

impl BartDecoder {
    /// Builds the decoder under `vs / "decoder"` and the head under `vs` (checkpoint layout).
    pub fn new(vs: nn::Path, cfg: &BartDecoderConfig) -> Result<Self, ModelError> {
        ModelError::require_positive(
            "BART",
            &[
                ("d_model", cfg.d_model),
                ("decoder_layers", cfg.decoder_layers),
                ("decoder_attention_heads", cfg.decoder_attention_heads),
                ("decoder_ffn_dim", cfg.decoder_ffn_dim),
                ("vocab_size", cfg.vocab_size),
                ("max_position_embeddings", cfg.max_position_embeddings),
            ],
        )?;
        if cfg.d_model % cfg.decoder_attention_heads != 0 {
            return Err(ModelError::Unsupported(
                "BART: d_model not divisible by decoder_attention_heads".into(),
            ));
        }
        let dec = &vs / "decoder";
        let init = nn::Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        let (d, v) = (cfg.d_model, cfg.vocab_size);
        Ok(BartDecoder {
            cfg: cfg.clone(),
            embed_tokens: (&dec / "embed_tokens").var("weight", &[v, d], init),
            embed_positions: (&dec / "embed_positions").var(
                "weight",
                &[cfg.max_position_embeddings + POSITION_OFFSET, d],
                init,
            ),
            layernorm_embedding: nn::layer_norm(
                &dec / "layernorm_embedding",
                vec![d],
                Default::default(),
            ),
            layers: (0..cfg.decoder_layers)
                .map(|i| DecoderLayer::new(&dec / "layers" / i, cfg))
                .collect(),
            lm_head: (&vs / "lm_head").var("weight", &[v, d], init),
            final_logits_bias: vs.zeros("final_logits_bias", &[1, v]),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &BartDecoderConfig {
        &self.cfg
    }

    /// Token + position embeddings → `layernorm_embedding`, positions from `start`.
    fn embed(&self, ids: &Tensor, start: i64) -> Tensor {
        let l = ids.size()[1];
        let scale = if self.cfg.scale_embedding {
            (self.cfg.d_model as f64).sqrt()
        } else {
            1.0
        };
        let tokens = Tensor::embedding(&self.embed_tokens, ids, -1, false, false) * scale;
        let pos = Tensor::arange_start(
            start + POSITION_OFFSET,
            start + l + POSITION_OFFSET,
            (Kind::Int64, ids.device()),
        );
        let positions = Tensor::embedding(&self.embed_positions, &pos, -1, false, false);
        self.layernorm_embedding.forward(&(tokens + positions))
    }

    fn logits(&self, x: &Tensor) -> Tensor {
        x.matmul(&self.lm_head.transpose(0, 1)) + &self.final_logits_bias
    }

    /// Cross-attention K/V of `memory` (B, S, D) with optional `valid` (B, S) mask.
    pub fn cross_kv(&self, memory: &Tensor, valid: Option<&Tensor>) -> CrossKv {
        let kv = self
            .layers
            .iter()
            .map(|l| l.encoder_attn.key_value(memory))
            .collect();
        CrossKv::new(kv, valid)
    }

    /// Teacher-forced logits (N, L, V) for `ids` (N, L) by full recomputation; N must be a
    /// multiple of the clips in `cross` (clip-major candidates).
    pub fn forward(&self, ids: &Tensor, cross: &CrossKv) -> Tensor {
        let (n, l) = ids.size2().expect("decoder ids are (N, L)");
        let per_clip = n / cross.clips();
        let causal = Tensor::ones([l, l], (Kind::Bool, ids.device()))
            .triu(1)
            .to_kind(Kind::Float)
            * f64::from(f32::MIN);
        let mut x = self.embed(ids, 0);
        for (i, layer) in self.layers.iter().enumerate() {
            let q = layer.self_attn.query(&x);
            let (k, v) = layer.self_attn.key_value(&x);
            let attn = layer.self_attn.merge(attend(&q, &k, &v, Some(&causal)));
            x = layer.finish(&x, attn, cross.layer(i), cross.mask(), per_clip, &self.cfg);
        }
        self.logits(&x)
    }

    /// A cache for `per_clip` candidates per clip of `cross`, up to `max_len` tokens.
    pub fn start(
        &self,
        cross: CrossKv,
        per_clip: i64,
        max_len: i64,
    ) -> Result<KvCache, ModelError> {
        if max_len > self.cfg.max_position_embeddings {
            return Err(ModelError::Input(format!(
                "max_len {max_len} exceeds the decoder's {} positions",
                self.cfg.max_position_embeddings
            )));
        }
        KvCache::new(cross, per_clip, max_len)
    }

    /// Feeds one token per row (`tokens`: (N,)) and returns next-token logits (N, V).
    pub fn step(&self, cache: &mut KvCache, tokens: &Tensor) -> Result<Tensor, ModelError> {
        let t = cache.next_position(tokens)?;
        let mut x = self.embed(&tokens.unsqueeze(1), t);
        for (i, layer) in self.layers.iter().enumerate() {
            let q = layer.self_attn.query(&x);
            let (k, v) = layer.self_attn.key_value(&x);
            let (k, v) = cache.append(i, &k, &v);
            let attn = layer.self_attn.merge(attend(&q, &k, &v, None));
            let (per_clip, cross) = (cache.per_clip(), cache.cross());
            x = layer.finish(&x, attn, cross.layer(i), cross.mask(), per_clip, &self.cfg);
        }
        cache.advance();
        Ok(self.logits(&x).squeeze_dim(1))
    }
}
