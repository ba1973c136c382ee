//! Mix-up augmentation (seed 1): two clips mixed at a random energy ratio, with a caption
//! for the mixture from pre-generated LLM mixes or a rule combiner.
//!
//! The shorter clip is scaled by `sqrt(P_long / (10^(r/10) · P_short))` (P: mean power)
//! and added into the longer at a random offset, so the longer part is r dB above the
//! shorter one, r ~ U(−5, 5).

use std::collections::HashMap;
use std::path::Path;

use rand_chacha::ChaCha8Rng;

use crate::augment::draw::{below, unit};
pub use crate::augment::mixes_file::MixLine;

/// Mean power of `x` (0 for silence or an empty clip).
pub fn mean_power(x: &[f32]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64
}

/// Mixes `a` and `b` so the longer is `ratio_db` above the shorter; the shorter starts at
/// `offset` (clamped so it fits). Returns the mixture (length of the longer) and the gain
/// applied to the shorter. A silent shorter clip is added unscaled.
pub fn mix(a: &[f32], b: &[f32], ratio_db: f64, offset: usize) -> (Vec<f32>, f64) {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let (p_long, p_short) = (mean_power(long), mean_power(short));
    let gain = if p_short > 0.0 {
        (p_long / (10f64.powf(ratio_db / 10.0) * p_short)).sqrt()
    } else {
        1.0
    };
    let offset = offset.min(long.len() - short.len());
    let mut out = long.to_vec();
    for (o, &s) in out[offset..].iter_mut().zip(short) {
        *o += (f64::from(s) * gain) as f32;
    }
    (out, gain)
}

/// Draws r ~ U(−max_db, max_db) and an offset, then mixes.
pub fn random_mix(a: &[f32], b: &[f32], max_db: f64, rng: &mut ChaCha8Rng) -> (Vec<f32>, f64) {
    let ratio = (2.0 * unit(rng) - 1.0) * max_db;
    let room = a.len().abs_diff(b.len());
    let offset = below(rng, room + 1);
    (mix(a, b, ratio, offset).0, ratio)
}

/// Captions for mixtures: pre-generated ones first, then an OpenAI-compatible endpoint
/// when one is configured, then rules.
#[derive(Debug, Default)]
pub struct MixCaptioner {
    pregenerated: HashMap<(String, String), Vec<String>>,
    endpoint: Option<std::sync::Arc<crate::augment::mix_llm::MixEndpoint>>,
}

fn key(a: &str, b: &str) -> (String, String) {
    let (a, b) = (a.trim().to_lowercase(), b.trim().to_lowercase());
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Why a mixes file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct MixFileError {
    /// The file.
    pub path: std::path::PathBuf,
    /// 1-based line (0 when the file could not be opened).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl MixCaptioner {
    /// Loads pre-generated mixes: JSONL lines `{"captions": [A, B], "mix": "..."}`.
    pub fn from_jsonl(path: &Path) -> Result<Self, MixFileError> {
        let text = std::fs::read_to_string(path).map_err(|e| MixFileError {
            path: path.to_owned(),
            line: 0,
            message: e.to_string(),
        })?;
        let mut pregenerated: HashMap<_, Vec<String>> = HashMap::new();
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let m: MixLine = serde_json::from_str(line).map_err(|e| MixFileError {
                path: path.to_owned(),
                line: i + 1,
                message: e.to_string(),
            })?;
            pregenerated
                .entry(key(&m.captions[0], &m.captions[1]))
                .or_default()
                .push(m.mix);
        }
        Ok(MixCaptioner {
            pregenerated,
            endpoint: None,
        })
    }

    /// Asks `endpoint` for pairs without a pre-generated mix (before falling back to rules).
    pub fn with_endpoint(
        mut self,
        endpoint: std::sync::Arc<crate::augment::mix_llm::MixEndpoint>,
    ) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// Pre-generated mixes known.
    pub fn len(&self) -> usize {
        self.pregenerated.values().map(Vec::len).sum()
    }

    /// Whether no pre-generated mixes are loaded.
    pub fn is_empty(&self) -> bool {
        self.pregenerated.is_empty()
    }

    /// A caption for the mixture of `long` (heard throughout) and `short` (overlapping part
    /// of it): a pre-generated mix if one exists, otherwise a rule. `fluent` may veto
    /// candidates; `None` when every candidate is rejected (the sample is then not mixed).
    pub fn caption(
        &self,
        long: &str,
        short: &str,
        rng: &mut ChaCha8Rng,
        fluent: Option<&dyn Fn(&str) -> bool>,
    ) -> Option<String> {
        let ok = |c: &str| fluent.is_none_or(|f| f(c));
        let mut candidates: Vec<String> = self
            .pregenerated
            .get(&key(long, short))
            .map(|v| v.to_vec())
            .unwrap_or_default();
        let first_rule = candidates.len();
        candidates.extend(rule_mixes(long, short));
        let pick = |range: std::ops::Range<usize>, rng: &mut ChaCha8Rng| -> Option<String> {
            let good: Vec<&String> = candidates[range].iter().filter(|c| ok(c)).collect();
            (!good.is_empty()).then(|| good[below(rng, good.len())].clone())
        };
        pick(0..first_rule, rng)
            .or_else(|| {
                let e = self.endpoint.as_ref()?;
                match e.mix(long, short) {
                    Ok(m) if ok(&m) => Some(m),
                    Ok(_) => None,
                    Err(why) => {
                        tracing::warn!(message = "Mix endpoint gave no caption; using the rules.", error = %why);
                        None
                    }
                }
            })
            .or_else(|| pick(first_rule..candidates.len(), rng))
    }
}

/// `caption` without a trailing full stop and surrounding space.
fn clause(c: &str) -> String {
    c.trim().trim_end_matches(['.', '!']).trim().to_owned()
}

/// `caption` as a continuation: first letter lower-cased unless it looks like an acronym.
fn continuation(c: &str) -> String {
    let c = clause(c);
    let mut chars = c.chars();
    match (chars.next(), chars.next()) {
        (Some(f), Some(s)) if f.is_uppercase() && !s.is_uppercase() => {
            f.to_lowercase().chain(c.chars().skip(1)).collect()
        }
        _ => c,
    }
}

/// Rule-based mixes of two captions ("A while B", ...), each a single sentence.
pub fn rule_mixes(long: &str, short: &str) -> Vec<String> {
    let (a, b) = (clause(long), continuation(short));
    if a.is_empty() || b.is_empty() {
        return vec![if a.is_empty() { clause(short) } else { a }];
    }
    vec![
        format!("{a} while {b}"),
        format!("{a} as {b}"),
        format!("{a}, and {b} at the same time"),
        format!("{a}; meanwhile {b}"),
    ]
}

#[cfg(test)]
mod tests {
    use rand_core::SeedableRng;

    use super::*;
    use rand_core::RngCore;

    fn tone(len: usize, freq: f32, amp: f32) -> Vec<f32> {
        (0..len)
            .map(|i| amp * (2.0 * std::f32::consts::PI * freq * i as f32 / 16_000.0).sin())
            .collect()
    }

    fn noise(len: usize, amp: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
        (0..len)
            .map(|_| amp * ((rng.next_u32() as f32 / u32::MAX as f32) * 2.0 - 1.0))
            .collect()
    }

    #[test]
    fn energy_ratio_of_the_parts_is_the_drawn_ratio_within_5_db() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for i in 0..200 {
            let a = tone(16_000 + 37 * i, 440.0, 0.3);
            let b = noise(8_000 + 11 * i, 0.05 + 0.001 * i as f32, &mut rng);
            let (mixed, ratio) = random_mix(&a, &b, 5.0, &mut rng);
            assert!((-5.0..=5.0).contains(&ratio));
            assert_eq!(mixed.len(), a.len());
            // Recover the short part as mixture − long part and measure the ratio.
            let short: Vec<f32> = mixed.iter().zip(&a).map(|(m, l)| m - l).collect();
            let nonzero: Vec<f32> = short.iter().copied().filter(|v| *v != 0.0).collect();
            let measured = 10.0 * (mean_power(&a) / mean_power(&nonzero)).log10();
            assert!(
                (measured - ratio).abs() < 0.05,
                "measured {measured} dB, drawn {ratio} dB"
            );
        }
    }

    #[test]
    fn silent_or_equal_length_clips_mix_without_nan() {
        let (m, g) = mix(&[0.1, 0.2], &[0.0, 0.0], 3.0, 0);
        assert_eq!((m, g), (vec![0.1, 0.2], 1.0));
        let (m, _) = mix(&[], &[], 0.0, 5);
        assert!(m.is_empty());
    }

    #[test]
    fn rule_captions_read_as_one_sentence() {
        let r = rule_mixes("A dog barks.", "Rain falls on a roof.");
        assert_eq!(r[0], "A dog barks while rain falls on a roof");
        assert_eq!(
            rule_mixes("Birds sing", "TV plays")[1],
            "Birds sing as TV plays"
        );
    }

    #[test]
    fn pregenerated_mixes_win_and_fluency_filter_can_veto() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mixes.jsonl");
        std::fs::write(&path, "{\"captions\": [\"a dog barks\", \"rain falls\"], \"mix\": \"a dog barks in the rain\"}\n\n").unwrap();
        let m = MixCaptioner::from_jsonl(&path).unwrap();
        assert_eq!(m.len(), 1);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(
            m.caption("Rain falls", "A dog barks", &mut rng, None)
                .unwrap(),
            "a dog barks in the rain"
        );
        let no_rain = |c: &str| !c.contains("in the rain");
        let c = m
            .caption("rain falls", "a dog barks", &mut rng, Some(&no_rain))
            .unwrap();
        assert!(c.starts_with("rain falls"), "{c}");
        let none = |_: &str| false;
        assert_eq!(
            m.caption("rain falls", "a dog barks", &mut rng, Some(&none)),
            None
        );
    }

    #[test]
    fn a_bad_mixes_file_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mixes.jsonl");
        std::fs::write(
            &path,
            "{\"captions\": [\"a\", \"b\"], \"mix\": \"c\"}\n{\"captions\": [\"a\"]}\n",
        )
        .unwrap();
        let e = MixCaptioner::from_jsonl(&path).unwrap_err().to_string();
        assert!(e.contains("mixes.jsonl:2:"), "{e}");
    }
}
