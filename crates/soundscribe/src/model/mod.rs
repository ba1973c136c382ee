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
    /// Fails with every dimension in `dims` that is not positive (before any division).
    pub fn require_positive(what: &str, dims: &[(&str, i64)]) -> Result<(), ModelError> {
        let bad: Vec<String> = dims
            .iter()
            .filter(|(_, v)| *v <= 0)
            .map(|(k, v)| format!("{k} = {v} must be positive"))
            .collect();
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
