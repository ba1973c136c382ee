//! `nn.MultiheadAttention` with a packed `in_proj_weight` (Q, K, V stacked), as the seed-2
//! student's `nn.TransformerDecoderLayer` stores it; the kernels are BART's
//! (`bart_attention::attend`, `attend_shared`).

use tch::nn::{self, Module};
use tch::Tensor;

/// One `nn.MultiheadAttention` (batch-first here; the checkpoint's layout is time-first,
/// which changes no weights).
#[derive(Debug)]
pub(crate) struct PackedAttention {
    in_proj_weight: Tensor,
    in_proj_bias: Tensor,
    out_proj: nn::Linear,
    num_heads: i64,
    head_dim: i64,
}

impl PackedAttention {
    pub(crate) fn new(vs: nn::Path, d: i64, num_heads: i64) -> Self {
        let init = nn::Init::Uniform {
            lo: -0.05,
            up: 0.05,
        };
        PackedAttention {
            in_proj_weight: vs.var("in_proj_weight", &[3 * d, d], init),
            in_proj_bias: vs.zeros("in_proj_bias", &[3 * d]),
            out_proj: nn::linear(&vs / "out_proj", d, d, Default::default()),
            num_heads,
            head_dim: d / num_heads,
        }
    }

    /// Projection `i` (0 = Q, 1 = K, 2 = V) of `x` (N, L, D), split into heads (N, H, L, dh).
    fn project(&self, x: &Tensor, i: i64) -> Tensor {
        let d = self.num_heads * self.head_dim;
        let w = self.in_proj_weight.narrow(0, i * d, d);
        let b = self.in_proj_bias.narrow(0, i * d, d);
        let (n, l, _) = x.size3().expect("attention input is (N, L, D)");
        x.linear(&w, Some(&b))
            .view([n, l, self.num_heads, self.head_dim])
            .transpose(1, 2)
    }

    /// Scaled query heads of `x`.
    pub(crate) fn query(&self, x: &Tensor) -> Tensor {
        self.project(x, 0) * (self.head_dim as f64).powf(-0.5)
    }

    /// Key and value heads of `x`: each (N, H, L, dh).
    pub(crate) fn key_value(&self, x: &Tensor) -> (Tensor, Tensor) {
        (self.project(x, 1), self.project(x, 2))
    }

    /// (N, H, L, dh) → (N, L, D) → out_proj.
    pub(crate) fn merge(&self, x: Tensor) -> Tensor {
        let (n, _, l, _) = x.size4().expect("attention output is (N, H, L, dh)");
        let x = x
            .transpose(1, 2)
            .reshape([n, l, self.num_heads * self.head_dim]);
        self.out_proj.forward(&x)
    }
}
