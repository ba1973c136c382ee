//! Captioning models in tch: one file per architecture, one struct per block, named as in
//! the paper and the checkpoint. The seed-1 teacher is `beats` → `conformer` → `bart`,
//! assembled in `teacher`; `traits` is the surface decoding is written against; `text`
//! holds the sentence embedders used for reranking and InfoNCE. Students: `student` is ours
//! (issue 9: `aisfx` CNN-8 → `student_decoder`), `seed2` is the seed-2 authors' released
//! EfficientNet-B2 + transformer (`effb2` → `seed2_decoder`).

pub mod aisfx;
pub mod bart;
mod bart_attention;
pub mod beats;
pub mod checkpoint;
pub mod conformer;
pub mod convert_aisfx;
pub mod convert_seed2;
pub mod convert_teacher;
pub mod dump;
pub mod effb2;
pub mod kv_cache;
mod pickle;
mod pickle_numpy;
pub mod pickle_value;
pub mod seed2;
mod seed2_attention;
pub mod seed2_decoder;
pub mod seed2_dump;
pub mod student;
pub mod student_decoder;
pub mod student_tokenizer;
pub mod teacher;
pub mod teacher_config;
pub mod text;
pub mod torch_zip;
pub mod traits;

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
