//! Captioning models in tch: one folder per architecture, one struct per block, named as
//! in the paper and the checkpoint.
//!
//! - [`teacher`]: the seed-1 captioner, `beats` → `conformer` → `bart`.
//! - [`student`]: ours, the aisfx CNN-8 → a small transformer `decoder`.
//! - [`seed2`]: the seed-2 authors' released EfficientNet-B2 (`effb2`) + transformer.
//! - [`text`]: sentence embedders for reranking and InfoNCE.
//! - [`layers`]: what the decoders share (attention, the KV cache).
//! - [`traits`]: the surface decoding is written against; [`checkpoint`]: `model.json`
//!   and safetensors I/O; [`load`]: [`AnyModel`], the one dispatch over model kinds.

pub mod checkpoint;
pub mod layers;
pub mod load;
pub mod seed2;
pub mod student;
pub mod teacher;
pub mod text;
pub mod traits;

pub use load::{AnyModel, ModelVisitor};

use std::path::PathBuf;

/// Errors from building, loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A checkpoint or model file is missing, unreadable or malformed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A configuration asks for something this implementation does not support.
    #[error("unsupported model configuration: {0}")]
    Unsupported(String),
    /// Model input that cannot be processed (e.g. a window longer than the model allows).
    #[error("invalid model input: {0}")]
    Input(String),
    /// The model computed NaN or infinite values (corrupt weights, wrong dtypes): nothing
    /// it outputs can be trusted.
    #[error("{0}")]
    NonFinite(String),
    /// An error raised by libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}
impl ModelError {
    /// A [`ModelError::File`] for `path`.
    pub fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        ModelError::File {
            path: path.into(),
            message: message.into(),
        }
    }
    /// Fails with every dimension in `dims` that is not positive or larger than any
    /// real model's (see [`max_dim`]), before anything is allocated: a hostile or broken
    /// `model.json` gets an error, not a multi-gigabyte allocation.
    pub fn require_positive(what: &str, dims: &[(&str, i64)]) -> Result<(), ModelError> {
        let mut bad: Vec<String> = dims
            .iter()
            .filter_map(|&(k, v)| {
                let max = max_dim(k);
                if v <= 0 {
                    Some(format!("{k} = {v} must be positive"))
                } else if v > max {
                    Some(format!("{k} = {v} is larger than {max}"))
                } else {
                    None
                }
            })
            .collect();
        let value = |name: &str| dims.iter().find(|(k, _)| *k == name).map(|&(_, v)| v);
        let width = ["d_model", "decoder_emb_dim", "embed_dim"]
            .iter()
            .find_map(|n| value(n));
        if let (Some(v), Some(d)) = (value("vocab_size"), width) {
            if v > 0 && d > 0 && v.saturating_mul(d) > MAX_EMBEDDING_PARAMS {
                bad.push(format!(
                    "vocab_size × width = {v} × {d} exceeds {MAX_EMBEDDING_PARAMS} parameters"
                ));
            }
        }
        Self::unsupported_if_any(what, &bad)
    }
    /// `Ok` when `problems` is empty, otherwise one [`ModelError::Unsupported`] listing them.
    pub fn unsupported_if_any(what: &str, problems: &[String]) -> Result<(), ModelError> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ModelError::Unsupported(format!(
                "{what}: {}",
                problems.join("; ")
            )))
        }
    }
}

/// The most parameters a token embedding may have (vocabulary × width): 1 GiB of float32.
pub const MAX_EMBEDDING_PARAMS: i64 = 1 << 28;

/// The largest value a model dimension named `name` may take: generous bounds over every
/// published captioner (BART-large, BEATs, EfficientNet, MiniLM/MPNet) that still keep a
/// single layer's weights within memory.
pub fn max_dim(name: &str) -> i64 {
    if name.contains("layer") {
        128
    } else if name.contains("heads") {
        256
    } else if name.contains("vocab") {
        1 << 20
    } else if name.contains("position") || name.contains("max_distance") {
        1 << 16
    } else if name.contains("window_samples") {
        48_000 * 600
    } else {
        16_384
    }
}
