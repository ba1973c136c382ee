//! Decoding and reranking parameters (defaults are the seed-1 captioner's).

use serde::{Deserialize, Serialize};

use super::ConfigIssue;

/// How candidate captions are generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodingStrategy {
    /// Nucleus (top-p) sampling of `num_candidates` candidates, then hybrid reranking.
    Nucleus,
    /// Beam search with `num_beams` beams.
    Beam,
    /// Greedy decoding.
    Greedy,
}

/// Candidate generation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecodingConfig {
    /// Nucleus sampling, beam search or greedy.
    pub strategy: DecodingStrategy,
    /// Softmax temperature for sampling.
    pub temperature: f64,
    /// Nucleus probability mass.
    pub top_p: f64,
    /// Candidates sampled per window.
    pub num_candidates: usize,
    /// Beams for beam search.
    pub num_beams: usize,
    /// Beam-search length penalty (exponent on length).
    pub length_penalty: f64,
    /// Beam search stops a clip once `num_beams` hypotheses finished.
    pub early_stopping: bool,
    /// Minimum tokens before end-of-sequence is allowed.
    pub min_length: usize,
    /// Maximum generated tokens.
    pub max_length: usize,
    /// Forbid repeating any n-gram of this size (0 disables).
    pub no_repeat_ngram_size: usize,
    /// RNG seed; a fixed seed reproduces the same candidates.
    pub seed: u64,
    /// Hybrid reranking of candidates.
    pub rerank: RerankConfig,
}

/// Hybrid reranking: `llh_weight·(−NLL) + cosine_weight·cos(audio, text)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RerankConfig {
    /// Weight of the length-normalised log-likelihood.
    pub llh_weight: f64,
    /// Weight of the audio–text embedding cosine.
    pub cosine_weight: f64,
    /// Alternatives reported with each caption.
    pub alternatives: usize,
    /// Sentence-transformers directory for the cosine term (its width must match the
    /// model's audio embedding); without it the score is the log-likelihood term alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedder: Option<std::path::PathBuf>,
}

impl Default for DecodingConfig {
    fn default() -> Self {
        DecodingConfig {
            strategy: DecodingStrategy::Nucleus,
            temperature: 0.5,
            top_p: 0.95,
            num_candidates: 50,
            num_beams: 4,
            length_penalty: 1.0,
            early_stopping: true,
            min_length: 5,
            max_length: 30,
            no_repeat_ngram_size: 3,
            seed: 0,
            rerank: RerankConfig::default(),
        }
    }
}

impl Default for RerankConfig {
    fn default() -> Self {
        RerankConfig {
            llh_weight: 0.3,
            cosine_weight: 0.7,
            alternatives: 3,
            embedder: None,
        }
    }
}

impl DecodingConfig {
    /// Appends every problem of this section (fields prefixed with `at`) to `issues`.
    pub fn validate_into(&self, at: &str, issues: &mut Vec<ConfigIssue>) {
        let mut bad =
            |field: &str, msg: String| issues.push(ConfigIssue::new(format!("{at}.{field}"), msg));
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            bad(
                "temperature",
                format!("must be > 0, got {}", self.temperature),
            );
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            bad("top_p", format!("must be in (0, 1], got {}", self.top_p));
        }
        if self.num_candidates == 0 {
            bad("num_candidates", "must be at least 1".to_owned());
        }
        if self.num_beams == 0 {
            bad("num_beams", "must be at least 1".to_owned());
        }
        if self.max_length == 0 || self.max_length > 256 {
            bad(
                "max_length",
                format!("must be in [1, 256], got {}", self.max_length),
            );
        }
        if self.min_length > self.max_length {
            bad(
                "min_length",
                format!(
                    "must be ≤ max_length ({}), got {}",
                    self.max_length, self.min_length
                ),
            );
        }
        if !self.length_penalty.is_finite() {
            bad("length_penalty", "must be finite".to_owned());
        }
        let r = &self.rerank;
        if !(r.llh_weight >= 0.0 && r.cosine_weight >= 0.0 && r.llh_weight + r.cosine_weight > 0.0)
        {
            bad("rerank", "weights must be ≥ 0 and not both 0".to_owned());
        }
    }
}
