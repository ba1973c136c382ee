//! The seed-2 student's caption decoder (`TransformerDecoder` of wsntxxn/AudioCaption):
//! word embedding × √d + sinusoidal positions (a stored `pe` table of 100 rows), PyTorch
//! `nn.TransformerDecoder` with post-LN layers (self-attention → cross-attention → ReLU
//! FFN, each followed by its LayerNorm), classifier tied to the word embedding. The memory
//! is projected by `attn_proj` = Linear(1408 → d) → ReLU → LayerNorm.
//!
//! The KV cache mirrors `bart::KvCache`: self-attention K/V preallocated for `max_len`
//! steps, cross-attention K/V computed once per clip and shared by its `per_clip` rows.
//! Padding tokens (id 0) are masked as keys, as the authors' `cap_padding_mask` does, in
//! both the full and the incremental path.
//!
//! Reference: `captioning/models/hf_wrapper.py` of wsntxxn/AudioCaption
//! (`TransformerDecoder`, `PositionalEncoding`), PyTorch `nn.TransformerDecoderLayer`.

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use crate::model::layers::attention::{attend, attend_shared};
use crate::model::seed2::attention::PackedAttention;
use crate::model::ModelError;

/// Rows of the sinusoidal position table (`max_len` of `PositionalEncoding`).
pub const MAX_POSITIONS: i64 = 100;
/// Padding id.
pub const PAD: i64 = 0;

/// Dimensions of the decoder (from `Effb2TrmConfig`).
#[derive(Debug, Clone, Copy)]
pub struct DecoderDims {
    /// Model width (256).
    pub d_model: i64,
    /// Layers (2).
    pub layers: i64,
    /// Vocabulary size.
    pub vocab: i64,
    /// Memory width before `attn_proj` (1408).
    pub memory_dim: i64,
    /// Classifier shares the word embedding.
    pub tie_weights: bool,
}

/// Cross-attention K/V of one clip batch.
#[derive(Debug)]
struct CrossKv {
    /// Per layer (K, V), each (B, H, S, dh).
    kv: Vec<(Tensor, Tensor)>,
    /// Additive mask (B, 1, 1, S) for padded memory steps.
    mask: Tensor,
}

/// Incremental decoding state for clip-major candidate rows.
#[derive(Debug)]
pub struct Seed2Cache {
    /// Per layer self-attention (K, V), preallocated (N, H, max_len, dh).
    self_kv: Vec<(Tensor, Tensor)>,
    /// Additive key mask (N, 1, 1, max_len): padding tokens fed so far.
    self_mask: Tensor,
    cross: CrossKv,
    per_clip: i64,
    len: i64,
    max_len: i64,
}

impl Seed2Cache {
    /// Tokens decoded so far.
    pub fn len(&self) -> i64 {
        self.len
    }

    /// True before the first step.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Candidate rows.
    pub fn rows(&self) -> i64 {
        self.self_mask.size()[0]
    }

    /// Forgets every step from `len` on (e.g. to decode again from a shared prefix).
    pub fn truncate(&mut self, len: i64) {
        self.len = self.len.min(len.max(0));
    }

    /// Reorders candidate rows (beam search) within their clips.
    pub fn reorder(&mut self, rows: &Tensor) {
        for (k, v) in &mut self.self_kv {
            *k = k.index_select(0, rows);
            *v = v.index_select(0, rows);
        }
        self.self_mask = self.self_mask.index_select(0, rows);
    }

    /// Keeps clips `clips` with `per_clip` rows each, row `r` continuing old row `rows[r]`.
    pub fn regroup(&mut self, rows: &Tensor, clips: &Tensor, per_clip: i64) {
        self.reorder(rows);
        for (k, v) in &mut self.cross.kv {
            *k = k.index_select(0, clips);
            *v = v.index_select(0, clips);
        }
        self.cross.mask = self.cross.mask.index_select(0, clips);
        self.per_clip = per_clip;
    }
}

/// `nn.TransformerDecoderLayer` (post-LN, ReLU).
#[derive(Debug)]
struct Layer {
    self_attn: PackedAttention,
    multihead_attn: PackedAttention,
    linear1: nn::Linear,
    linear2: nn::Linear,
    norm1: nn::LayerNorm,
    norm2: nn::LayerNorm,
    norm3: nn::LayerNorm,
}

impl Layer {
    fn new(vs: nn::Path, d: i64) -> Self {
        let heads = d / 64;
        let ln = |name: &str| nn::layer_norm(&vs / name, vec![d], Default::default());
        Layer {
            self_attn: PackedAttention::new(&vs / "self_attn", d, heads),
            multihead_attn: PackedAttention::new(&vs / "multihead_attn", d, heads),
            linear1: nn::linear(&vs / "linear1", d, 4 * d, Default::default()),
            linear2: nn::linear(&vs / "linear2", 4 * d, d, Default::default()),
            norm1: ln("norm1"),
            norm2: ln("norm2"),
            norm3: ln("norm3"),
        }
    }

    /// Everything after self-attention output `sa`.
    fn finish(
        &self,
        x: &Tensor,
        sa: Tensor,
        cross: (&Tensor, &Tensor),
        mask: &Tensor,
        per_clip: i64,
    ) -> Tensor {
        let x = self.norm1.forward(&(x + self.self_attn.merge(sa)));
        let q = self.multihead_attn.query(&x);
        let ca = attend_shared(&q, cross.0, cross.1, Some(mask), per_clip);
        let x = self.norm2.forward(&(&x + self.multihead_attn.merge(ca)));
        let ff = self.linear2.forward(&self.linear1.forward(&x).relu());
        self.norm3.forward(&(x + ff))
    }
}

/// The student decoder with its memory projection and tied classifier.
#[derive(Debug)]
pub struct Seed2Decoder {
    dims: DecoderDims,
    word_embedding: Tensor,
    pe: Tensor,
    layers: Vec<Layer>,
    classifier: Tensor,
    proj_linear: nn::Linear,
    proj_norm: nn::LayerNorm,
}

fn additive(invalid: &Tensor) -> Tensor {
    invalid.to_kind(Kind::Float) * f64::from(f32::MIN)
}

impl Seed2Decoder {
    /// Builds the decoder under `vs` (`word_embedding`, `pos_encoder.pe`, `model.layers.i`,
    /// `classifier` unless tied, `attn_proj.0` / `attn_proj.3`).
    pub fn new(vs: nn::Path, dims: DecoderDims) -> Result<Self, ModelError> {
        let d = dims.d_model;
        ModelError::require_positive(
            "seed-2 decoder",
            &[
                ("decoder_emb_dim", d),
                ("decoder_n_layers", dims.layers),
                ("vocab_size", dims.vocab),
                ("attn_emb_dim", dims.memory_dim),
            ],
        )?;
        if d % 64 != 0 {
            return Err(ModelError::Unsupported(format!(
                "seed-2 decoder: decoder_emb_dim {d} is not a multiple of 64 (nhead = d / 64)"
            )));
        }
        let init = nn::Init::Uniform {
            lo: -0.05,
            up: 0.05,
        };
        let word_embedding = (&vs / "word_embedding").var("weight", &[dims.vocab, d], init);
        let classifier = if dims.tie_weights {
            word_embedding.shallow_clone()
        } else {
            (&vs / "classifier").var("weight", &[dims.vocab, d], init)
        };
        Ok(Seed2Decoder {
            dims,
            pe: (&vs / "pos_encoder").zeros_no_train("pe", &[MAX_POSITIONS, 1, d]),
            layers: (0..dims.layers)
                .map(|i| Layer::new(&vs / "model" / "layers" / i, d))
                .collect(),
            word_embedding,
            classifier,
            proj_linear: nn::linear(
                &vs / "attn_proj" / 0,
                dims.memory_dim,
                d,
                Default::default(),
            ),
            proj_norm: nn::layer_norm(&vs / "attn_proj" / 3, vec![d], Default::default()),
        })
    }

    /// Token embedding × √d + positions from `start`, for `ids` (N, L).
    fn embed(&self, ids: &Tensor, start: i64) -> Tensor {
        let l = ids.size()[1];
        let tokens = Tensor::embedding(&self.word_embedding, ids, -1, false, false)
            * (self.dims.d_model as f64).sqrt();
        tokens + self.pe.narrow(0, start, l).squeeze_dim(1)
    }

    fn logits(&self, x: &Tensor) -> Tensor {
        x.matmul(&self.classifier.transpose(0, 1))
    }

    /// `attn_proj` of the encoder memory (B, S, 1408) → per-layer cross K/V, with the
    /// padding mask from `valid` (B, S).
    fn cross_kv(&self, memory: &Tensor, valid: &Tensor) -> CrossKv {
        let p = self
            .proj_norm
            .forward(&self.proj_linear.forward(memory).relu());
        CrossKv {
            kv: self
                .layers
                .iter()
                .map(|l| l.multihead_attn.key_value(&p))
                .collect(),
            mask: additive(&valid.logical_not()).unsqueeze(1).unsqueeze(1),
        }
    }

    fn check_len(&self, len: i64) -> Result<(), ModelError> {
        if len > MAX_POSITIONS {
            return Err(ModelError::Input(format!(
                "{len} tokens exceed the decoder's {MAX_POSITIONS} positions"
            )));
        }
        Ok(())
    }

    /// Teacher-forced logits (N, L, V) for `ids` (N, L) by full recomputation against
    /// `memory` (B, S, 1408) / `valid` (B, S), `per_clip` = N / B rows per clip.
    pub fn forward(
        &self,
        memory: &Tensor,
        valid: &Tensor,
        per_clip: i64,
        ids: &Tensor,
    ) -> Result<Tensor, ModelError> {
        let (_, l) = ids.size2()?;
        self.check_len(l)?;
        let cross = self.cross_kv(memory, valid);
        let causal = additive(&Tensor::ones([l, l], (Kind::Bool, ids.device())).triu(1));
        let pad = additive(&ids.eq(PAD)).unsqueeze(1).unsqueeze(1);
        let mask = causal + pad;
        let mut x = self.embed(ids, 0);
        for (layer, (ck, cv)) in self.layers.iter().zip(&cross.kv) {
            let (k, v) = layer.self_attn.key_value(&x);
            let sa = attend(&layer.self_attn.query(&x), &k, &v, Some(&mask));
            x = layer.finish(&x, sa, (ck, cv), &cross.mask, per_clip);
        }
        Ok(self.logits(&x))
    }

    /// A cache for `per_clip` candidates per clip of `memory`, up to `max_len` tokens.
    pub fn start(
        &self,
        memory: &Tensor,
        valid: &Tensor,
        per_clip: i64,
        max_len: i64,
    ) -> Result<Seed2Cache, ModelError> {
        self.check_len(max_len)?;
        let cross = self.cross_kv(memory, valid);
        let (b, h, _, dh) = cross.kv[0].0.size4()?;
        let n = b * per_clip;
        let opts = (cross.kv[0].0.kind(), cross.kv[0].0.device());
        let shape = [n, h, max_len, dh];
        Ok(Seed2Cache {
            self_kv: self
                .layers
                .iter()
                .map(|_| (Tensor::zeros(shape, opts), Tensor::zeros(shape, opts)))
                .collect(),
            self_mask: Tensor::zeros([n, 1, 1, max_len], opts),
            cross,
            per_clip,
            len: 0,
            max_len,
        })
    }

    /// Feeds one token per row (`tokens`: (N,)) and returns next-token logits (N, V).
    pub fn step(&self, cache: &mut Seed2Cache, tokens: &Tensor) -> Result<Tensor, ModelError> {
        let t = cache.len;
        if t >= cache.max_len {
            return Err(ModelError::Input(format!(
                "KV cache full at {} tokens",
                cache.max_len
            )));
        }
        if tokens.size() != [cache.rows()] {
            return Err(ModelError::Input(format!(
                "step expects {} tokens, got shape {:?}",
                cache.rows(),
                tokens.size()
            )));
        }
        cache
            .self_mask
            .narrow(3, t, 1)
            .copy_(&additive(&tokens.eq(PAD)).view([-1, 1, 1, 1]));
        let mask = cache.self_mask.narrow(3, 0, t + 1);
        let mut x = self.embed(&tokens.unsqueeze(1), t);
        for (i, layer) in self.layers.iter().enumerate() {
            let (k, v) = layer.self_attn.key_value(&x);
            let (ck, cv) = &mut cache.self_kv[i];
            ck.narrow(2, t, 1).copy_(&k);
            cv.narrow(2, t, 1).copy_(&v);
            let sa = attend(
                &layer.self_attn.query(&x),
                &ck.narrow(2, 0, t + 1),
                &cv.narrow(2, 0, t + 1),
                Some(&mask),
            );
            let (xk, xv) = &cache.cross.kv[i];
            x = layer.finish(&x, sa, (xk, xv), &cache.cross.mask, cache.per_clip);
        }
        cache.len += 1;
        Ok(self.logits(&x).squeeze_dim(1))
    }
}
