//! Learned caption metrics: FENSE and SPIDEr-FL, with pluggable models.
//!
//! Both need a fluency-error detector and FENSE also a sentence embedder. Published numbers
//! use specific checkpoints (Sentence-BERT `paraphrase-TinyBERT-L6-v2` and the
//! `echecker_clotho_audiocaps_base` fluency detector); with other models the numbers are
//! not comparable, so every result carries the names of the models that produced it and
//! nothing is computed unless models are plugged in.
//!
//! FENSE (Zhou et al., 2022): mean cosine similarity of the candidate's embedding with each
//! reference's, times 0.1 when the detector's error probability exceeds 0.9. SPIDEr-FL:
//! SPIDEr with the same penalty.

/// Error probability above which a caption counts as disfluent.
pub const ERROR_THRESHOLD: f64 = 0.9;
/// Fraction of the score removed from a disfluent caption.
pub const PENALTY: f64 = 0.9;

/// Detects fluency errors (repetitions, incomplete sentences, ...) in captions.
pub trait FluencyDetector {
    /// Model name and version, reported next to every number it influenced.
    fn name(&self) -> String;
    /// Probability in [0, 1] that each caption has a fluency error.
    fn error_probs(&self, captions: &[String]) -> Result<Vec<f64>, String>;
}

/// Embeds sentences into vectors compared by cosine similarity.
pub trait SentenceEmbedder {
    /// Model name and version, reported next to every number it influenced.
    fn name(&self) -> String;
    /// One embedding per sentence, all of the same dimension.
    fn embed(&self, sentences: &[String]) -> Result<Vec<Vec<f32>>, String>;
}

/// A learned metric's corpus and per-item scores with the models used.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnedScores {
    /// Mean of the per-item scores.
    pub corpus: f64,
    /// Per-item scores, in input order.
    pub per_item: Vec<f64>,
    /// Names of the models that produced the numbers.
    pub models: Vec<String>,
}

/// Multiplier for each caption: `1 - PENALTY` when disfluent, else 1.
fn fluency_factors(detector: &dyn FluencyDetector, cands: &[String]) -> Result<Vec<f64>, String> {
    let probs = detector.error_probs(cands)?;
    if probs.len() != cands.len() {
        return Err(format!(
            "fluency detector {} returned {} probabilities for {} captions",
            detector.name(),
            probs.len(),
            cands.len()
        ));
    }
    Ok(probs
        .iter()
        .map(|&p| {
            if p > ERROR_THRESHOLD {
                1.0 - PENALTY
            } else {
                1.0
            }
        })
        .collect())
}

/// SPIDEr-FL from per-item SPIDEr scores.
pub fn spider_fl(
    detector: &dyn FluencyDetector,
    cands: &[String],
    spider_per_item: &[f64],
) -> Result<LearnedScores, String> {
    let factors = fluency_factors(detector, cands)?;
    let per_item: Vec<f64> = spider_per_item
        .iter()
        .zip(&factors)
        .map(|(s, f)| s * f)
        .collect();
    Ok(LearnedScores {
        corpus: super::rouge::mean(&per_item),
        per_item,
        models: vec![detector.name()],
    })
}

/// FENSE: Sentence-BERT similarity with the fluency penalty.
pub fn fense(
    embedder: &dyn SentenceEmbedder,
    detector: &dyn FluencyDetector,
    cands: &[String],
    refs: &[Vec<String>],
) -> Result<LearnedScores, String> {
    let cand_emb = embedder.embed(cands)?;
    let factors = fluency_factors(detector, cands)?;
    let mut per_item = Vec::with_capacity(cands.len());
    for ((c, rs), f) in cand_emb.iter().zip(refs).zip(&factors) {
        let ref_emb = embedder.embed(rs)?;
        let sims: Vec<f64> = ref_emb.iter().map(|r| cosine(c, r)).collect();
        per_item.push(super::rouge::mean(&sims) * f);
    }
    Ok(LearnedScores {
        corpus: super::rouge::mean(&per_item),
        per_item,
        models: vec![embedder.name(), detector.name()],
    })
}

/// Cosine similarity; 0 when either vector is zero.
fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        ab / (aa.sqrt() * bb.sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixed numbers standing in for models, to check the arithmetic of the formulas only.
    struct Fixed;

    impl FluencyDetector for Fixed {
        fn name(&self) -> String {
            "fixed-probs".into()
        }
        fn error_probs(&self, captions: &[String]) -> Result<Vec<f64>, String> {
            Ok(captions
                .iter()
                .map(|c| if c.contains("and and") { 0.95 } else { 0.1 })
                .collect())
        }
    }

    impl SentenceEmbedder for Fixed {
        fn name(&self) -> String {
            "letter-counts".into()
        }
        fn embed(&self, sentences: &[String]) -> Result<Vec<Vec<f32>>, String> {
            Ok(sentences
                .iter()
                .map(|s| vec![s.matches('a').count() as f32, s.matches('o').count() as f32])
                .collect())
        }
    }

    #[test]
    fn penalty_applies_above_threshold_and_models_are_named() {
        let cands = vec!["a dog".to_string(), "a dog and and".to_string()];
        let fl = spider_fl(&Fixed, &cands, &[0.8, 0.8]).unwrap();
        assert_eq!(fl.per_item, vec![0.8, 0.8 * (1.0 - PENALTY)]);
        assert_eq!(fl.models, vec!["fixed-probs".to_string()]);

        let refs = vec![
            vec!["a dog".to_string(), "oo".to_string()],
            vec!["a dog".to_string()],
        ];
        let f = fense(&Fixed, &Fixed, &cands, &refs).unwrap();
        // "a dog" = (1, 1): cosine 1 with itself, 1/sqrt(2) with "oo" = (0, 2).
        let want0 = (1.0 + std::f64::consts::FRAC_1_SQRT_2) / 2.0;
        assert!((f.per_item[0] - want0).abs() < 1e-9);
        assert_eq!(
            f.models,
            vec!["letter-counts".to_string(), "fixed-probs".to_string()]
        );
        assert!(f.per_item[1] < 0.11); // disfluent: ×0.1
    }

    #[test]
    fn cosine_of_parallel_and_zero_vectors() {
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-12);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
