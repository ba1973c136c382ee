//! Errors of the sentence embedders, each naming the file at fault.

use std::path::{Path, PathBuf};

/// Why a sentence embedder could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum TextEmbedderError {
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A configuration file is malformed or describes an unsupported model.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The tokenizer could not be loaded or failed on the input.
    #[error("{path}: tokenizer: {message}")]
    Tokenizer {
        /// The tokenizer file (or model id when encoding failed).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The weights do not match the architecture.
    #[error("{path}: weights do not match the model:\n  {}", problems.join("\n  "))]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// Every missing or mis-shaped tensor.
        problems: Vec<String>,
    },
    /// libtorch failed.
    #[error("{path}: {source}")]
    Torch {
        /// The file being processed.
        path: PathBuf,
        /// The libtorch error.
        source: tch::TchError,
    },
}

impl TextEmbedderError {
    pub(super) fn io(path: &Path, source: std::io::Error) -> Self {
        TextEmbedderError::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub(super) fn config(path: &Path, message: impl Into<String>) -> Self {
        TextEmbedderError::Config {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    pub(super) fn tokenizer(path: &Path, message: impl Into<String>) -> Self {
        TextEmbedderError::Tokenizer {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}
