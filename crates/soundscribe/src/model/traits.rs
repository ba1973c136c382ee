//! The small surface decoding and reranking are written against, so teacher and students
//! are interchangeable: an [`AudioEncoder`] turns windows into decoder [`Memory`], a
//! [`CaptionDecoder`] steps candidate sequences with a KV cache.

use tch::Tensor;

use crate::model::ModelError;

/// Encoded audio for a batch of B windows.
#[derive(Debug)]
pub struct Memory {
    /// Decoder memory (B, S, D), ready for cross-attention.
    pub states: Tensor,
    /// (B, S) bool, true where a memory step is real audio.
    pub valid: Tensor,
    /// Clip-level audio embedding (B, E) for reranking, if the model has one.
    pub clip_embed: Option<Tensor>,
}

impl Memory {
    /// The clips `rows` ((K,) int64 on the memory's device) of this batch, in that order.
    pub fn index_select(&self, rows: &Tensor) -> Memory {
        Memory {
            states: self.states.index_select(0, rows),
            valid: self.valid.index_select(0, rows),
            clip_embed: self.clip_embed.as_ref().map(|e| e.index_select(0, rows)),
        }
    }
}

/// Special token ids of a decoder's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialTokens {
    /// First decoder input.
    pub decoder_start: i64,
    /// End of sequence.
    pub eos: i64,
    /// Padding.
    pub pad: i64,
}

/// Waveform windows → decoder memory.
pub trait AudioEncoder {
    /// Sample rate the model expects, Hz.
    fn sample_rate(&self) -> i64;
    /// Longest window (samples) the model accepts.
    fn max_window_samples(&self) -> i64;
    /// Shortest window (samples) the model accepts.
    fn min_window_samples(&self) -> i64;
    /// Encodes `waves` (B, N) float in [-1, 1], all windows the same length.
    fn encode(&self, waves: &Tensor) -> Result<Memory, ModelError>;
}

/// Autoregressive caption decoder over [`Memory`].
pub trait CaptionDecoder {
    /// Incremental decoding state.
    type Cache;
    /// Special token ids.
    fn special_tokens(&self) -> SpecialTokens;
    /// Starts decoding `per_clip` candidates per clip (rows clip-major), up to `max_len`
    /// tokens; computes what depends only on the memory (cross-attention K/V) once.
    fn start(
        &self,
        memory: &Memory,
        per_clip: i64,
        max_len: i64,
    ) -> Result<Self::Cache, ModelError>;
    /// Feeds one token per row, (N,) int64, and returns next-token logits (N, V).
    fn step(&self, cache: &mut Self::Cache, tokens: &Tensor) -> Result<Tensor, ModelError>;
    /// Reorders rows (beam search); each row must stay within its clip.
    fn reorder(&self, cache: &mut Self::Cache, rows: &Tensor);
    /// Re-lays the cache out as `per_clip` rows for each clip in `clips` (indices into the
    /// cache's current clips, in order): new row `r` continues old row `rows[r]`, which
    /// must belong to clip `clips[r / per_clip]`. Lets decoding drop finished hypotheses
    /// and finished clips so they stop costing compute.
    fn regroup(&self, cache: &mut Self::Cache, rows: &Tensor, clips: &Tensor, per_clip: i64);
    /// Teacher-forced logits (N, L, V) for `ids` (N, L), `per_clip` rows per clip.
    fn logits(&self, memory: &Memory, per_clip: i64, ids: &Tensor) -> Result<Tensor, ModelError>;
}

/// Checks that teacher-forced `ids` are (clips × `per_clip`, L) for `memory`, as every
/// [`CaptionDecoder::logits`] requires.
pub fn check_ids(memory: &Memory, per_clip: i64, ids: &Tensor) -> Result<(), ModelError> {
    let b = memory.states.size()[0];
    if ids.dim() != 2 || ids.size()[0] != b * per_clip {
        return Err(ModelError::Input(format!(
            "ids must be ({}, L) for {b} clips × {per_clip}, got {:?}",
            b * per_clip,
            ids.size()
        )));
    }
    Ok(())
}
