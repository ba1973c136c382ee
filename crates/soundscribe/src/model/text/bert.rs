//! BERT encoder as Hugging Face `BertModel` computes it (post-LN, GELU), for
//! sentence-transformers models such as all-MiniLM-L6-v2.
//!
//! Reference: transformers `models/bert/modeling_bert.py` (BertEmbeddings, BertSelfAttention,
//! BertSelfOutput, BertIntermediate, BertOutput, BertLayer). Dropout is absent: inference only.

use serde::Deserialize;
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

use super::layer::{additive_mask, layer_norm, AttentionNames, EncoderLayer, LayerDims};

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

const NAMES: AttentionNames = AttentionNames {
    q: "self.query",
    k: "self.key",
    v: "self.value",
    o: "output.dense",
    norm: "output.LayerNorm",
};

/// `BertModel` without the pooler: token ids → last hidden states.
pub struct BertModel {
    embeddings: BertEmbeddings,
    layers: Vec<EncoderLayer>,
}

impl BertModel {
    /// Builds the encoder under `vs` with checkpoint names (`embeddings.*`, `encoder.layer.N.*`).
    pub fn new(vs: nn::Path, cfg: &BertConfig) -> Self {
        let dims = LayerDims {
            hidden: cfg.hidden_size,
            intermediate: cfg.intermediate_size,
            heads: cfg.num_attention_heads,
            eps: cfg.layer_norm_eps,
        };
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| EncoderLayer::new(&vs / "encoder" / "layer" / i, &NAMES, &dims))
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
