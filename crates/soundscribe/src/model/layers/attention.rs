//! BART attention (`BartAttention`) and the attention kernels the decoders use, including
//! cross-attention whose keys and values are shared by all candidates of a clip. The
//! student decoder reuses both.
//!
//! Reference: `BartAttention` in `transformers/models/bart/modeling_bart.py`
//! (<https://github.com/huggingface/transformers/blob/v4.46.0/src/transformers/models/bart/modeling_bart.py>).

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// `BartAttention` (used for both self- and cross-attention).
#[derive(Debug)]
pub(crate) struct BartAttention {
    q_proj: nn::Linear,
    k_proj: nn::Linear,
    v_proj: nn::Linear,
    out_proj: nn::Linear,
    num_heads: i64,
    head_dim: i64,
}

impl BartAttention {
    /// Declares q/k/v/out projections of width `d` split into `num_heads` heads.
    pub(crate) fn new(vs: nn::Path, d: i64, num_heads: i64) -> Self {
        let lin = |name: &str| nn::linear(&vs / name, d, d, Default::default());
        BartAttention {
            q_proj: lin("q_proj"),
            k_proj: lin("k_proj"),
            v_proj: lin("v_proj"),
            out_proj: lin("out_proj"),
            num_heads,
            head_dim: d / num_heads,
        }
    }

    /// (N, L, D) → (N, H, L, dh).
    fn heads(&self, x: Tensor) -> Tensor {
        let (n, l, _) = x.size3().expect("attention input is (N, L, D)");
        x.view([n, l, self.num_heads, self.head_dim])
            .transpose(1, 2)
    }

    /// (N, H, L, dh) → (N, L, D) → out_proj.
    pub(crate) fn merge(&self, x: Tensor) -> Tensor {
        let (n, _, l, _) = x.size4().expect("attention output is (N, H, L, dh)");
        let x = x
            .transpose(1, 2)
            .reshape([n, l, self.num_heads * self.head_dim]);
        self.out_proj.forward(&x)
    }

    pub(crate) fn query(&self, x: &Tensor) -> Tensor {
        self.heads(self.q_proj.forward(x) * (self.head_dim as f64).powf(-0.5))
    }

    /// Key and value heads of `x`: each (N, H, L, dh).
    pub(crate) fn key_value(&self, x: &Tensor) -> (Tensor, Tensor) {
        (
            self.heads(self.k_proj.forward(x)),
            self.heads(self.v_proj.forward(x)),
        )
    }
}

/// softmax(q·kᵀ + mask)·v for (N, H, Lq, dh) against (N, H, Lk, dh).
pub(crate) fn attend(q: &Tensor, k: &Tensor, v: &Tensor, mask: Option<&Tensor>) -> Tensor {
    let scores = q.matmul(&k.transpose(-1, -2));
    let scores = match mask {
        Some(m) => scores + m,
        None => scores,
    };
    scores.softmax(-1, Kind::Float).matmul(v)
}

/// Cross-attention where `q` has `per_clip` rows per clip of `k`/`v`:
/// q (B·k, H, Lq, dh), k/v (B, H, S, dh), mask (B, 1, 1, S).
pub(crate) fn attend_shared(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
    per_clip: i64,
) -> Tensor {
    if per_clip == 1 {
        return attend(q, k, v, mask);
    }
    let (n, h, lq, dh) = q.size4().expect("query is (N, H, L, dh)");
    let b = n / per_clip;
    let q = q
        .view([b, per_clip, h, lq, dh])
        .permute([0, 2, 1, 3, 4])
        .reshape([b, h, per_clip * lq, dh]);
    attend(&q, k, v, mask)
        .view([b, h, per_clip, lq, dh])
        .permute([0, 2, 1, 3, 4])
        .reshape([n, h, lq, dh])
}
