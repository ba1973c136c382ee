//! The post-LN transformer encoder layer shared by BERT and MPNet.
//!
//! Both compute `LN(x + O·softmax(QKᵀ/√d + bias)·V)` then `LN(a + W₂·gelu(W₁·a))`; they
//! differ only in the checkpoint names of the attention weights and in the additive
//! `bias` (padding mask, plus MPNet's relative position bias).

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// Checkpoint names of one architecture's attention block, relative to `attention`.
pub(super) struct AttentionNames {
    pub q: &'static str,
    pub k: &'static str,
    pub v: &'static str,
    pub o: &'static str,
    pub norm: &'static str,
}

/// Sizes of one encoder layer.
pub(super) struct LayerDims {
    pub hidden: i64,
    pub intermediate: i64,
    pub heads: i64,
    pub eps: f64,
}

/// `nn::LayerNorm` over the last dimension with the checkpoint's epsilon.
pub(super) fn layer_norm(vs: nn::Path, dim: i64, eps: f64) -> nn::LayerNorm {
    nn::layer_norm(
        vs,
        vec![dim],
        nn::LayerNormConfig {
            eps,
            ..Default::default()
        },
    )
}

/// Resolves a dotted checkpoint name under `vs`.
fn sub<'a>(vs: &nn::Path<'a>, dotted: &str) -> nn::Path<'a> {
    dotted.split('.').fold(vs.clone(), |p, part| &p / part)
}

/// Self-attention + feed-forward, each with residual and LayerNorm after it.
pub(super) struct EncoderLayer {
    q: nn::Linear,
    k: nn::Linear,
    v: nn::Linear,
    o: nn::Linear,
    attention_norm: nn::LayerNorm,
    intermediate: nn::Linear,
    output: nn::Linear,
    output_norm: nn::LayerNorm,
    heads: i64,
}

impl EncoderLayer {
    /// Builds the layer at `vs` (`encoder.layer.N`) with the architecture's attention names.
    pub fn new(vs: nn::Path, names: &AttentionNames, dims: &LayerDims) -> Self {
        let att = &vs / "attention";
        let (d, c) = (dims.hidden, Default::default());
        EncoderLayer {
            q: nn::linear(sub(&att, names.q), d, d, c),
            k: nn::linear(sub(&att, names.k), d, d, c),
            v: nn::linear(sub(&att, names.v), d, d, c),
            o: nn::linear(sub(&att, names.o), d, d, c),
            attention_norm: layer_norm(sub(&att, names.norm), d, dims.eps),
            intermediate: nn::linear(&vs / "intermediate" / "dense", d, dims.intermediate, c),
            output: nn::linear(&vs / "output" / "dense", dims.intermediate, d, c),
            output_norm: layer_norm(&vs / "output" / "LayerNorm", d, dims.eps),
            heads: dims.heads,
        }
    }

    /// `x`: (B, L, D); `bias`: additive scores, broadcastable to (B, H, L, L).
    pub fn forward(&self, x: &Tensor, bias: &Tensor) -> Tensor {
        let (b, l, d) = x.size3().expect("encoder layer input is (B, L, D)");
        let dh = d / self.heads;
        let split = |t: Tensor| t.view([b, l, self.heads, dh]).transpose(1, 2);
        let q = split(self.q.forward(x));
        let k = split(self.k.forward(x));
        let v = split(self.v.forward(x));
        let scores = q.matmul(&k.transpose(-1, -2)) / (dh as f64).sqrt() + bias;
        let ctx = scores
            .softmax(-1, Kind::Float)
            .matmul(&v)
            .transpose(1, 2)
            .contiguous()
            .view([b, l, d]);
        let a = self.attention_norm.forward(&(self.o.forward(&ctx) + x));
        let h = self.intermediate.forward(&a).gelu("none");
        self.output_norm.forward(&(self.output.forward(&h) + a))
    }
}

/// HF's extended attention mask: 0 where attended, the float minimum where padded;
/// shape (B, 1, 1, L).
pub(super) fn additive_mask(attention_mask: &Tensor) -> Tensor {
    let m = attention_mask
        .to_kind(Kind::Float)
        .unsqueeze(1)
        .unsqueeze(1);
    (1.0 - m) * f64::from(f32::MIN)
}
