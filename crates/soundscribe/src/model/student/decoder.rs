//! The student's caption decoder: a small pre-LN transformer decoder (d_model 256,
//! 2 layers, 4 heads, FFN 1024 by default) with learned positions and token embeddings
//! tied to the output projection, plus an incremental KV cache.
//!
//! Layers: x + SelfAttn(LN(x)) (causal) → x + CrossAttn(LN(x), memory) → x + FFN(LN(x)),
//! a final LayerNorm, then logits = x · Eᵀ. Decoding uses the same [`KvCache`] as the
//! teacher's BART decoder (cross-attention K/V once per clip, shared by its rows).

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::model::layers::attention::{attend, attend_shared, BartAttention};
use crate::model::layers::kv_cache::{CrossKv, KvCache};
use crate::model::ModelError;

/// Decoder dimensions and special tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentDecoderConfig {
    /// Model dimension.
    #[serde(default = "d_model")]
    pub d_model: i64,
    /// Decoder layers.
    #[serde(default = "layers")]
    pub layers: i64,
    /// Attention heads.
    #[serde(default = "heads")]
    pub heads: i64,
    /// FFN hidden dimension.
    #[serde(default = "ffn_dim")]
    pub ffn_dim: i64,
    /// Vocabulary size (the tokenizer's).
    pub vocab_size: i64,
    /// Longest caption in tokens (rows of the learned position table).
    #[serde(default = "max_positions")]
    pub max_positions: i64,
    /// First decoder input token.
    pub decoder_start_token_id: i64,
    /// End-of-sequence token.
    pub eos_token_id: i64,
    /// Padding token.
    pub pad_token_id: i64,
}

fn d_model() -> i64 {
    256
}
fn layers() -> i64 {
    2
}
fn heads() -> i64 {
    4
}
fn ffn_dim() -> i64 {
    1024
}
fn max_positions() -> i64 {
    64
}

/// One pre-LN decoder layer.
#[derive(Debug)]
struct Layer {
    self_attn: BartAttention,
    self_ln: nn::LayerNorm,
    cross_attn: BartAttention,
    cross_ln: nn::LayerNorm,
    fc1: nn::Linear,
    fc2: nn::Linear,
    ffn_ln: nn::LayerNorm,
}

impl Layer {
    fn new(vs: nn::Path, cfg: &StudentDecoderConfig) -> Self {
        let d = cfg.d_model;
        let ln = |name: &str| nn::layer_norm(&vs / name, vec![d], Default::default());
        Layer {
            self_attn: BartAttention::new(&vs / "self_attn", d, cfg.heads),
            self_ln: ln("self_ln"),
            cross_attn: BartAttention::new(&vs / "cross_attn", d, cfg.heads),
            cross_ln: ln("cross_ln"),
            fc1: nn::linear(&vs / "fc1", d, cfg.ffn_dim, Default::default()),
            fc2: nn::linear(&vs / "fc2", cfg.ffn_dim, d, Default::default()),
            ffn_ln: ln("ffn_ln"),
        }
    }

    /// Cross-attention and FFN after the self-attention residual.
    fn finish(
        &self,
        x: Tensor,
        cross: (&Tensor, &Tensor),
        mask: Option<&Tensor>,
        per_clip: i64,
    ) -> Tensor {
        let q = self.cross_attn.query(&self.cross_ln.forward(&x));
        let c = attend_shared(&q, cross.0, cross.1, mask, per_clip);
        let x = x + self.cross_attn.merge(c);
        let h = self
            .fc2
            .forward(&self.fc1.forward(&self.ffn_ln.forward(&x)).gelu("none"));
        x + h
    }
}

/// The student decoder.
#[derive(Debug)]
pub struct StudentDecoder {
    cfg: StudentDecoderConfig,
    embed_tokens: Tensor,
    embed_positions: Tensor,
    layers: Vec<Layer>,
    final_ln: nn::LayerNorm,
}

impl StudentDecoder {
    /// Checks `cfg` (every dimension positive and within bounds, special tokens inside
    /// the vocabulary) before anything is allocated.
    pub fn check(cfg: &StudentDecoderConfig) -> Result<(), ModelError> {
        ModelError::require_positive(
            "student decoder",
            &[
                ("d_model", cfg.d_model),
                ("layers", cfg.layers),
                ("heads", cfg.heads),
                ("ffn_dim", cfg.ffn_dim),
                ("vocab_size", cfg.vocab_size),
                ("max_positions", cfg.max_positions),
            ],
        )?;
        let mut problems = Vec::new();
        if cfg.d_model % cfg.heads != 0 {
            problems.push("d_model is not divisible by heads".to_owned());
        }
        for (name, id) in [
            ("decoder_start_token_id", cfg.decoder_start_token_id),
            ("eos_token_id", cfg.eos_token_id),
            ("pad_token_id", cfg.pad_token_id),
        ] {
            if !(0..cfg.vocab_size).contains(&id) {
                problems.push(format!("{name} = {id} is outside the vocabulary"));
            }
        }
        ModelError::unsupported_if_any("student decoder", &problems)
    }

    /// Declares the decoder's variables under `vs`.
    pub fn new(vs: nn::Path, cfg: &StudentDecoderConfig) -> Result<Self, ModelError> {
        Self::check(cfg)?;
        let init = nn::Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        let d = cfg.d_model;
        Ok(StudentDecoder {
            cfg: cfg.clone(),
            embed_tokens: vs.var("embed_tokens", &[cfg.vocab_size, d], init),
            embed_positions: vs.var("embed_positions", &[cfg.max_positions, d], init),
            layers: (0..cfg.layers)
                .map(|i| Layer::new(&vs / "layers" / i, cfg))
                .collect(),
            final_ln: nn::layer_norm(&vs / "final_ln", vec![d], Default::default()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &StudentDecoderConfig {
        &self.cfg
    }

    fn embed(&self, ids: &Tensor, start: i64) -> Tensor {
        let l = ids.size()[1];
        let tokens = Tensor::embedding(&self.embed_tokens, ids, -1, false, false);
        let pos = Tensor::arange_start(start, start + l, (Kind::Int64, ids.device()));
        tokens + Tensor::embedding(&self.embed_positions, &pos, -1, false, false)
    }

    /// Tied output projection: LN(x) · Eᵀ.
    fn logits(&self, x: &Tensor) -> Tensor {
        self.final_ln
            .forward(x)
            .matmul(&self.embed_tokens.transpose(0, 1))
    }

    /// Cross-attention K/V of `memory` (B, S, D) with its `valid` (B, S) mask.
    pub fn cross_kv(&self, memory: &Tensor, valid: Option<&Tensor>) -> CrossKv {
        let kv = self
            .layers
            .iter()
            .map(|l| l.cross_attn.key_value(memory))
            .collect();
        CrossKv::new(kv, valid)
    }

    /// Teacher-forced logits (N, L, V) for `ids` (N, L) by full recomputation; N is a
    /// multiple of the clips in `cross` (clip-major candidates).
    pub fn forward(&self, ids: &Tensor, cross: &CrossKv) -> Result<Tensor, ModelError> {
        let (n, l) = ids.size2()?;
        if l > self.cfg.max_positions {
            return Err(ModelError::Input(format!(
                "{l} tokens exceed the decoder's {} positions",
                self.cfg.max_positions
            )));
        }
        let clips = cross.clips();
        if n % clips != 0 {
            return Err(ModelError::Input(format!("{n} rows for {clips} clips")));
        }
        let causal = Tensor::ones([l, l], (Kind::Bool, ids.device()))
            .triu(1)
            .to_kind(Kind::Float)
            * f64::from(f32::MIN);
        let mut x = self.embed(ids, 0);
        for (i, layer) in self.layers.iter().enumerate() {
            let h = layer.self_ln.forward(&x);
            let (k, v) = layer.self_attn.key_value(&h);
            let a = attend(&layer.self_attn.query(&h), &k, &v, Some(&causal));
            let x_attn = x + layer.self_attn.merge(a);
            x = layer.finish(x_attn, cross.layer(i), cross.mask(), n / clips);
        }
        Ok(self.logits(&x))
    }

    /// A cache for `per_clip` candidates per clip of `cross`, up to `max_len` tokens.
    pub fn start(
        &self,
        cross: CrossKv,
        per_clip: i64,
        max_len: i64,
    ) -> Result<KvCache, ModelError> {
        if max_len > self.cfg.max_positions || per_clip < 1 {
            return Err(ModelError::Input(format!(
                "max_len {max_len} must be ≤ {} positions and per_clip {per_clip} ≥ 1",
                self.cfg.max_positions
            )));
        }
        KvCache::new(cross, per_clip, max_len)
    }

    /// Feeds one token per row (`tokens`: (N,)) and returns next-token logits (N, V).
    pub fn step(&self, cache: &mut KvCache, tokens: &Tensor) -> Result<Tensor, ModelError> {
        let t = cache.next_position(tokens)?;
        let mut x = self.embed(&tokens.unsqueeze(1), t);
        for (i, layer) in self.layers.iter().enumerate() {
            let h = layer.self_ln.forward(&x);
            let (k, v) = layer.self_attn.key_value(&h);
            let (k, v) = cache.append(i, &k, &v);
            let a = attend(&layer.self_attn.query(&h), &k, &v, None);
            let x_attn = x + layer.self_attn.merge(a);
            let (per_clip, cross) = (cache.per_clip(), cache.cross());
            x = layer.finish(x_attn, cross.layer(i), cross.mask(), per_clip);
        }
        cache.advance();
        Ok(self.logits(&x).squeeze_dim(1))
    }
}
