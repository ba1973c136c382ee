//! BERT encoder as Hugging Face `BertModel` computes it (post-LN, GELU), for
//! sentence-transformers models such as all-MiniLM-L6-v2.
//!
//! Reference: transformers `models/bert/modeling_bert.py` (BertEmbeddings, BertSelfAttention,
//! BertSelfOutput, BertIntermediate, BertOutput, BertLayer). Dropout is absent: inference only.

use serde::Deserialize;
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// The fields of a BERT `config.json` the encoder needs.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
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
    /// Learned absolute positions.
    pub max_position_embeddings: i64,
    /// Segment vocabulary (always segment 0 here).
    pub type_vocab_size: i64,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Padding token id.
    #[serde(default)]
    pub pad_token_id: i64,
    /// Activation; only `gelu` (exact, erf) is supported.
    pub hidden_act: String,
}

fn layer_norm(vs: nn::Path, dim: i64, eps: f64) -> nn::LayerNorm {
    nn::layer_norm(
        vs,
        vec![dim],
        nn::LayerNormConfig {
            eps,
            ..Default::default()
        },
    )
}

/// Word + position + segment embeddings, then LayerNorm.
struct BertEmbeddings {
    word_embeddings: nn::Embedding,
    position_embeddings: nn::Embedding,
    token_type_embeddings: nn::Embedding,
    layer_norm: nn::LayerNorm,
}

impl BertEmbeddings {
    fn new(vs: nn::Path, cfg: &BertConfig) -> Self {
        let c = Default::default();
        BertEmbeddings {
            word_embeddings: nn::embedding(
                &vs / "word_embeddings",
                cfg.vocab_size,
                cfg.hidden_size,
                c,
            ),
            position_embeddings: nn::embedding(
                &vs / "position_embeddings",
                cfg.max_position_embeddings,
                cfg.hidden_size,
                c,
            ),
            token_type_embeddings: nn::embedding(
                &vs / "token_type_embeddings",
                cfg.type_vocab_size,
                cfg.hidden_size,
                c,
            ),
            layer_norm: layer_norm(&vs / "LayerNorm", cfg.hidden_size, cfg.layer_norm_eps),
        }
    }

    fn forward(&self, input_ids: &Tensor) -> Tensor {
        let len = input_ids.size()[1];
        let positions = Tensor::arange(len, (Kind::Int64, input_ids.device())).unsqueeze(0);
        let segments = input_ids.zeros_like();
        let x = self.word_embeddings.forward(input_ids)
            + self.position_embeddings.forward(&positions)
            + self.token_type_embeddings.forward(&segments);
        self.layer_norm.forward(&x)
    }
}

/// Multi-head self-attention with the residual + LayerNorm of `BertSelfOutput`.
struct BertAttention {
    query: nn::Linear,
    key: nn::Linear,
    value: nn::Linear,
    dense: nn::Linear,
    layer_norm: nn::LayerNorm,
    heads: i64,
}

impl BertAttention {
    fn new(vs: nn::Path, cfg: &BertConfig) -> Self {
        let d = cfg.hidden_size;
        let c = Default::default();
        BertAttention {
            query: nn::linear(&vs / "self" / "query", d, d, c),
            key: nn::linear(&vs / "self" / "key", d, d, c),
            value: nn::linear(&vs / "self" / "value", d, d, c),
            dense: nn::linear(&vs / "output" / "dense", d, d, c),
            layer_norm: layer_norm(&vs / "output" / "LayerNorm", d, cfg.layer_norm_eps),
            heads: cfg.num_attention_heads,
        }
    }

    /// `x`: (B, L, D); `bias`: additive mask broadcastable to (B, H, L, L).
    fn forward(&self, x: &Tensor, bias: &Tensor) -> Tensor {
        let (b, l, d) = x.size3().expect("BertAttention input is (B, L, D)");
        let dh = d / self.heads;
        let split = |t: Tensor| t.view([b, l, self.heads, dh]).transpose(1, 2);
        let q = split(self.query.forward(x));
        let k = split(self.key.forward(x));
        let v = split(self.value.forward(x));
        let scores = q.matmul(&k.transpose(-1, -2)) / (dh as f64).sqrt() + bias;
        let ctx = scores
            .softmax(-1, Kind::Float)
            .matmul(&v)
            .transpose(1, 2)
            .contiguous()
            .view([b, l, d]);
        self.layer_norm.forward(&(self.dense.forward(&ctx) + x))
    }
}

/// One post-LN transformer layer: attention, then GELU feed-forward with residual + LN.
struct BertLayer {
    attention: BertAttention,
    intermediate: nn::Linear,
    output: nn::Linear,
    layer_norm: nn::LayerNorm,
}

impl BertLayer {
    fn new(vs: nn::Path, cfg: &BertConfig) -> Self {
        let c = Default::default();
        BertLayer {
            attention: BertAttention::new(&vs / "attention", cfg),
            intermediate: nn::linear(
                &vs / "intermediate" / "dense",
                cfg.hidden_size,
                cfg.intermediate_size,
                c,
            ),
            output: nn::linear(
                &vs / "output" / "dense",
                cfg.intermediate_size,
                cfg.hidden_size,
                c,
            ),
            layer_norm: layer_norm(
                &vs / "output" / "LayerNorm",
                cfg.hidden_size,
                cfg.layer_norm_eps,
            ),
        }
    }

    fn forward(&self, x: &Tensor, bias: &Tensor) -> Tensor {
        let a = self.attention.forward(x, bias);
        let h = self.intermediate.forward(&a).gelu("none");
        self.layer_norm.forward(&(self.output.forward(&h) + a))
    }
}

/// `BertModel` without the pooler: token ids → last hidden states.
pub struct BertModel {
    embeddings: BertEmbeddings,
    layers: Vec<BertLayer>,
}

impl BertModel {
    /// Builds the encoder under `vs` with checkpoint names (`embeddings.*`, `encoder.layer.N.*`).
    pub fn new(vs: nn::Path, cfg: &BertConfig) -> Self {
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| BertLayer::new(&vs / "encoder" / "layer" / i, cfg))
            .collect();
        BertModel {
            embeddings: BertEmbeddings::new(&vs / "embeddings", cfg),
            layers,
        }
    }

    /// `input_ids`, `attention_mask`: (B, L) int64 → hidden states (B, L, D).
    pub fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor) -> Tensor {
        let bias = additive_mask(attention_mask);
        self.layers
            .iter()
            .fold(self.embeddings.forward(input_ids), |x, layer| {
                layer.forward(&x, &bias)
            })
    }
}

/// HF's extended attention mask: 0 where attended, the float minimum where padded;
/// shape (B, 1, 1, L).
pub fn additive_mask(attention_mask: &Tensor) -> Tensor {
    let m = attention_mask
        .to_kind(Kind::Float)
        .unsqueeze(1)
        .unsqueeze(1);
    (1.0 - m) * f64::from(f32::MIN)
}
