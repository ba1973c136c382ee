//! Shared vocabulary of the dataset builder: output rate and clip limits, split names,
//! the build error and the record of one written clip.

use std::path::{Path, PathBuf};

use crate::dataset::rules::RulesError;

/// Output sample rate (the aisfx encoder's).
pub const RATE: u32 = 44_100;
/// Longest clip in seconds.
pub const MAX_CLIP_S: f64 = 10.0;
/// Shortest clip in seconds.
pub const MIN_CLIP_S: f64 = 0.3;
/// Most clips cut from one long file.
pub const MAX_SEGMENTS: usize = 3;
/// Split names in manifest order.
pub const SPLITS: [&str; 3] = ["train", "val", "test"];

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The rule table is unusable.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// A file or folder could not be read or written.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// A [`BuildError::Io`] for `path`.
pub(super) fn io_err(path: &Path, message: impl std::fmt::Display) -> BuildError {
    BuildError::Io {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

/// One written clip.
#[derive(Debug, Clone)]
pub(super) struct Clip {
    /// Path relative to the output folder (`clips/<name>.wav`).
    pub(super) audio: String,
    /// Rule-table label indices (one per source).
    pub(super) labels: Vec<usize>,
    /// Package, or `a+b` for a mixture.
    pub(super) package: String,
    /// License, or `a | b` for a mixture.
    pub(super) license: String,
    /// `package/path` of the source file, or the mixed clips.
    pub(super) source: String,
    /// Split unit (empty for a mixture).
    pub(super) unit: String,
    /// Length in samples at [`RATE`].
    pub(super) frames: usize,
    /// Captions.
    pub(super) captions: Vec<String>,
    /// Mixing ratio in dB (mixtures only).
    pub(super) mix_db: Option<f64>,
}
