//! Decoding: candidate captions from a captioner's decoder, and the hybrid reranking that
//! picks one.
//!
//! Written once against [`StepModel`], which the teacher and the students implement over an
//! encoded batch, so greedy decoding, nucleus sampling, beam search and reranking treat
//! every model alike. Everything runs batched on the model's device: all hypotheses of all
//! clips advance together with the KV cache, and finished ones are dropped from the batch.

pub mod beam;
pub mod bound;
pub mod decide;
pub mod greedy;
pub mod processors;
pub mod recompute;
pub mod rerank;
pub mod sampling;
mod step_loop;

use tch::Tensor;

use crate::model::ModelError;

/// The decoder side of a captioner, bound to one encoded batch of clips.
///
/// Hypotheses are rows; each reads the encoder memory of one clip (`rows` in [`begin`]).
///
/// [`begin`]: StepModel::begin
pub trait StepModel {
    /// Per-hypothesis decoder state (KV cache and memory rows).
    type State;

    /// Token every sequence starts from.
    fn start_token(&self) -> i64;
    /// End-of-sequence token.
    fn eos_token(&self) -> i64;
    /// Padding token (for teacher-forced batches).
    fn pad_token(&self) -> i64;
    /// Number of clips in the encoded batch.
    fn num_clips(&self) -> i64;
    /// Device the model runs on.
    fn device(&self) -> tch::Device;

    /// A fresh state for hypotheses reading clips `rows` (one clip index per hypothesis).
    fn begin(&self, rows: &[usize]) -> Result<Self::State, ModelError>;
    /// Feeds one token per hypothesis ((N,) int64) and returns next-token logits (N, V).
    fn step(&self, state: &mut Self::State, tokens: &Tensor) -> Result<Tensor, ModelError>;
    /// Keeps hypotheses `keep` (indices into the current rows), in that order. Decoding only
    /// ever keeps hypotheses in clip order (it drops finished ones and, in beam search,
    /// continues beams of the same clip).
    fn select(&self, state: &mut Self::State, keep: &[usize]) -> Result<(), ModelError>;
    /// Teacher-forced logits (N, L, V) of `tokens` (N, L) for hypotheses reading clips `rows`.
    fn logits(&self, rows: &[usize], tokens: &Tensor) -> Result<Tensor, ModelError>;
}

/// One decoded token sequence (without the start token and without end-of-sequence).
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    /// Which clip of the batch it belongs to.
    pub clip: usize,
    /// Generated tokens.
    pub tokens: Vec<i64>,
    /// Whether it ended with end-of-sequence (rather than at `max_length`).
    pub finished: bool,
    /// Sum of the log-probabilities of its tokens (end-of-sequence included when finished)
    /// under the distribution it was drawn from.
    pub sum_logprob: f64,
}

/// Length limits and constraints shared by every decoding strategy (Hugging Face semantics:
/// lengths count the start token).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// End-of-sequence is forbidden while the sequence is shorter than this.
    pub min_length: usize,
    /// Sequences stop at this length.
    pub max_length: usize,
    /// Forbid repeating any n-gram of this size (0 disables).
    pub no_repeat_ngram_size: usize,
}

impl Limits {
    /// Limits from the `[decoding]` config.
    pub fn from_config(cfg: &crate::config::DecodingConfig) -> Self {
        Limits {
            min_length: cfg.min_length,
            max_length: cfg.max_length,
            no_repeat_ngram_size: cfg.no_repeat_ngram_size,
        }
    }
}

/// A 1-D tensor as a `Vec<i64>` on the host.
///
/// Panics only if `t` is not one-dimensional, which decoding never produces.
pub(crate) fn to_vec_i64(t: &Tensor) -> Vec<i64> {
    Vec::try_from(t.to_device(tch::Device::Cpu).to_kind(tch::Kind::Int64)).expect("1-D tensor")
}

/// A 1-D tensor as a `Vec<f64>` on the host.
///
/// Panics only if `t` is not one-dimensional, which decoding never produces.
pub(crate) fn to_vec_f64(t: &Tensor) -> Vec<f64> {
    Vec::try_from(t.to_device(tch::Device::Cpu).to_kind(tch::Kind::Double)).expect("1-D tensor")
}
