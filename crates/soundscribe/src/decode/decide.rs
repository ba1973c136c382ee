//! Deciding a window's caption: candidates by the configured strategy (nucleus sampling,
//! beam search or greedy), then the hybrid rerank. Shared by the engine and training's
//! validation, with the seed's caption normalisation.

use std::time::Instant;

use crate::config::{DecodingConfig, DecodingStrategy};
use crate::decode::beam::{beam_search, BeamParams};
use crate::decode::bound::Bound;
use crate::decode::greedy::greedy;
use crate::decode::rerank::{rerank, RerankError, RerankWeights, Reranked};
use crate::decode::sampling::{sample, SamplingParams};
use crate::decode::{Limits, Sequence};
use crate::model::text::TextEmbedder;
use crate::model::traits::{CaptionDecoder, Memory};
use crate::model::ModelError;

/// Why deciding failed.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// The model failed while generating candidates.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Reranking failed.
    #[error(transparent)]
    Rerank(#[from] RerankError),
}

/// The seed's output normalisation: lower-case, ASCII punctuation removed, single spaces.
pub fn normalize_caption(text: &str) -> String {
    let lowered: String = text
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_ascii_punctuation())
        .collect();
    lowered.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Candidates for every clip of `memory` by `decoding`'s strategy, reranked (cosine term
/// when `embedder` is given and the memory has clip embeddings); returns the decided
/// captions and the seconds spent decoding and reranking.
pub fn decide<M: CaptionDecoder>(
    model: &M,
    memory: &Memory,
    decoding: &DecodingConfig,
    seed: u64,
    detok: &dyn Fn(&[i64]) -> String,
    embedder: Option<&dyn TextEmbedder>,
) -> Result<(Vec<Reranked>, f64, f64), DecideError> {
    let d = decoding;
    let limits = Limits::from_config(d);
    let bound = Bound::new(model, memory, d.max_length);
    let t1 = Instant::now();
    let candidates: Vec<Sequence> = match d.strategy {
        DecodingStrategy::Nucleus => {
            let params = SamplingParams {
                seed,
                ..SamplingParams::from_config(d)
            };
            sample(&bound, &limits, &params)?
        }
        DecodingStrategy::Beam => beam_search(&bound, &limits, &BeamParams::from_config(d))?
            .into_iter()
            .flat_map(|h| h.into_iter().map(|s| s.sequence))
            .collect(),
        DecodingStrategy::Greedy => greedy(&bound, &limits)?,
    };
    let decode = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let audio = match (embedder, &memory.clip_embed) {
        (Some(e), Some(a)) => Some((a, e)),
        _ => None,
    };
    let weights = RerankWeights::from_config(&d.rerank);
    let reranked = rerank(&bound, &candidates, detok, audio, weights, None)?;
    Ok((reranked, decode, t2.elapsed().as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::normalize_caption;

    #[test]
    fn captions_are_lower_cased_without_punctuation() {
        assert_eq!(
            normalize_caption(" A dog barks, then a CAR passes. "),
            "a dog barks then a car passes"
        );
        assert_eq!(normalize_caption("Rain -- heavy!"), "rain heavy");
        assert_eq!(normalize_caption("Ünïcode stays"), "ünïcode stays");
        assert_eq!(normalize_caption(""), "");
    }
}
