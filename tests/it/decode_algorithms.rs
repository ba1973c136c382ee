//! Decoding algorithms on a small model whose next-token distribution depends on the whole
//! prefix and the clip, so the search space can be enumerated exactly.

use std::collections::HashMap;

use soundscribe::decode::beam::{beam_search, BeamParams};
use soundscribe::decode::greedy::greedy;
use soundscribe::decode::recompute::Recompute;
use soundscribe::decode::rerank::{nll, rerank, RerankWeights};
use soundscribe::decode::sampling::{sample, SamplingParams};
use soundscribe::decode::{Limits, Sequence, StepModel};
use soundscribe::model::ModelError;
use tch::{Device, Tensor};

const PAD: i64 = 0;
const START: i64 = 1;
const EOS: i64 = 2;

/// Logits are a fixed pseudo-random function of (clip, prefix): a "language model" whose
/// state is its token history (standing in for a KV cache).
struct PrefixModel {
    vocab: i64,
    clips: i64,
    sharpness: f32,
}

struct History {
    rows: Vec<i64>,
    prefixes: Vec<Vec<i64>>,
}

impl PrefixModel {
    fn next_logits(&self, clip: i64, prefix: &[i64]) -> Vec<f32> {
        let mut h: u64 = 0x9E37_79B9_7F4A_7C15 ^ (clip as u64).wrapping_mul(0x100_0000_01B3);
        for &t in prefix {
            h = (h ^ t as u64).wrapping_mul(0x100_0000_01B3).rotate_left(17);
        }
        (0..self.vocab)
            .map(|v| {
                let mut x = h ^ (v as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93);
                x ^= x >> 33;
                x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
                x ^= x >> 33;
                let u = (x >> 11) as f32 / (1u64 << 53) as f32;
                if v == PAD || v == START {
                    -1e4
                } else {
                    self.sharpness * (u - 0.5)
                }
            })
            .collect()
    }
}

impl StepModel for PrefixModel {
    type State = History;
    fn start_token(&self) -> i64 {
        START
    }
    fn eos_token(&self) -> i64 {
        EOS
    }
    fn pad_token(&self) -> i64 {
        PAD
    }
    fn num_clips(&self) -> i64 {
        self.clips
    }
    fn device(&self) -> Device {
        Device::Cpu
    }
    fn begin(&self, rows: &[usize]) -> Result<History, ModelError> {
        Ok(History {
            prefixes: vec![Vec::new(); rows.len()],
            rows: rows.iter().map(|&r| r as i64).collect(),
        })
    }
    fn step(&self, s: &mut History, tokens: &Tensor) -> Result<Tensor, ModelError> {
        let tokens: Vec<i64> = Vec::try_from(tokens).unwrap();
        let mut out = Vec::new();
        for (i, t) in tokens.into_iter().enumerate() {
            s.prefixes[i].push(t);
            out.extend(self.next_logits(s.rows[i], &s.prefixes[i]));
        }
        Ok(Tensor::from_slice(&out).view([s.rows.len() as i64, self.vocab]))
    }
    fn select(&self, s: &mut History, keep: &[usize]) -> Result<(), ModelError> {
        s.rows = keep.iter().map(|&k| s.rows[k]).collect();
        s.prefixes = keep.iter().map(|&k| s.prefixes[k].clone()).collect();
        Ok(())
    }
    fn logits(&self, rows: &[usize], tokens: &Tensor) -> Result<Tensor, ModelError> {
        let (n, l) = tokens.size2().unwrap();
        let mut out = Vec::new();
        for (r, clip) in rows.iter().enumerate() {
            let toks: Vec<i64> = Vec::try_from(tokens.get(r as i64)).unwrap();
            for t in 0..l as usize {
                out.extend(self.next_logits(*clip as i64, &toks[..=t]));
            }
        }
        Ok(Tensor::from_slice(&out).view([n, l, self.vocab]))
    }
}

fn model(vocab: i64, clips: i64, sharpness: f32) -> PrefixModel {
    PrefixModel {
        vocab,
        clips,
        sharpness,
    }
}

fn limits(min_length: usize, max_length: usize, no_repeat_ngram_size: usize) -> Limits {
    Limits {
        min_length,
        max_length,
        no_repeat_ngram_size,
    }
}

fn log_softmax(v: &[f32]) -> Vec<f64> {
    let m = v.iter().cloned().fold(f32::MIN, f32::max) as f64;
    let z: f64 = v.iter().map(|&x| (x as f64 - m).exp()).sum::<f64>().ln() + m;
    v.iter().map(|&x| x as f64 - z).collect()
}

fn has_repeated_ngram(seq: &[i64], n: usize) -> bool {
    let mut seen = std::collections::HashSet::new();
    seq.windows(n).any(|w| !seen.insert(w.to_vec()))
}

/// Every admissible sequence with its length-normalised score, by exhaustive search.
fn brute_force(m: &PrefixModel, clip: i64, limits: &Limits, lp: f64) -> Vec<(Vec<i64>, f64)> {
    let mut out = Vec::new();
    let mut stack = vec![(vec![START], 0.0f64)];
    while let Some((prefix, sum)) = stack.pop() {
        let cur_len = prefix.len();
        if cur_len == limits.max_length {
            out.push((prefix[1..].to_vec(), sum / (cur_len as f64).powf(lp)));
            continue;
        }
        let lps = log_softmax(&m.next_logits(clip, &prefix));
        for tok in 0..m.vocab {
            if tok == PAD || tok == START {
                continue;
            }
            let mut next = prefix.clone();
            next.push(tok);
            if limits.no_repeat_ngram_size > 0
                && has_repeated_ngram(&next, limits.no_repeat_ngram_size)
            {
                continue;
            }
            if tok == EOS {
                if cur_len >= limits.min_length {
                    out.push((
                        prefix[1..].to_vec(),
                        (sum + lps[tok as usize]) / (cur_len as f64).powf(lp),
                    ));
                }
            } else {
                stack.push((next, sum + lps[tok as usize]));
            }
        }
    }
    out
}

#[test]
fn wide_beam_search_finds_the_exhaustive_optimum() {
    let m = model(6, 3, 6.0);
    for (min_length, no_repeat, lp) in [(1, 0, 1.0), (3, 2, 1.0), (2, 0, 0.0), (1, 2, 2.0)] {
        let limits = limits(min_length, 5, no_repeat);
        let params = BeamParams {
            num_beams: 300,
            length_penalty: lp,
            early_stopping: true,
        };
        let beams = beam_search(&m, &limits, &params).unwrap();
        for clip in 0..3 {
            let mut all = brute_force(&m, clip, &limits, lp);
            all.sort_by(|a, b| b.1.total_cmp(&a.1));
            let best = &beams[clip as usize][0];
            assert_eq!(
                best.sequence.tokens, all[0].0,
                "clip {clip} limits {limits:?} lp {lp}"
            );
            assert!(
                (best.score - all[0].1).abs() < 1e-4,
                "{} vs {}",
                best.score,
                all[0].1
            );
        }
    }
}

#[test]
fn narrow_beam_is_never_better_than_the_optimum_and_respects_constraints() {
    let m = model(9, 4, 4.0);
    let limits = limits(4, 7, 2);
    let beams = beam_search(
        &m,
        &limits,
        &BeamParams {
            num_beams: 3,
            length_penalty: 1.0,
            early_stopping: true,
        },
    )
    .unwrap();
    for (clip, hyps) in beams.iter().enumerate() {
        assert!(!hyps.is_empty() && hyps.len() <= 3);
        assert!(hyps.windows(2).all(|w| w[0].score >= w[1].score));
        let optimum = brute_force(&m, clip as i64, &limits, 1.0)
            .into_iter()
            .map(|x| x.1)
            .fold(f64::MIN, f64::max);
        for h in hyps {
            assert!(h.score <= optimum + 1e-6);
            let mut full = vec![START];
            full.extend(&h.sequence.tokens);
            assert!(!has_repeated_ngram(&full, 2));
            if h.sequence.finished {
                assert!(full.len() >= 4);
            }
        }
    }
}

#[test]
fn greedy_follows_the_argmax_and_stops_at_eos_or_max_length() {
    let m = model(7, 2, 5.0);
    let limits = limits(1, 8, 0);
    for seq in greedy(&m, &limits).unwrap() {
        let mut prefix = vec![START];
        for &t in &seq.tokens {
            let lp = log_softmax(&m.next_logits(seq.clip as i64, &prefix));
            let argmax = (0..7).max_by(|&a, &b| lp[a].total_cmp(&lp[b])).unwrap() as i64;
            assert_eq!(t, argmax);
            prefix.push(t);
        }
        assert!(seq.finished || prefix.len() == 8);
    }
}

fn params(seed: u64, k: usize) -> SamplingParams {
    SamplingParams {
        temperature: 0.5,
        top_p: 0.95,
        num_candidates: k,
        seed,
    }
}

#[test]
fn sampling_with_the_same_seed_reproduces_the_candidates() {
    let m = model(12, 3, 3.0);
    let limits = limits(3, 10, 3);
    let a = sample(&m, &limits, &params(7, 20)).unwrap();
    let b = sample(&m, &limits, &params(7, 20)).unwrap();
    let c = sample(&m, &limits, &params(8, 20)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.len(), 60);
    // Candidates come out grouped by clip, in order.
    assert!(a.iter().enumerate().all(|(i, s)| s.clip == i / 20));
    for s in &a {
        let mut full = vec![START];
        full.extend(&s.tokens);
        assert!(!has_repeated_ngram(&full, 3), "{s:?}");
        assert!(!s.finished || full.len() >= 3, "{s:?}");
        assert!(s.finished || full.len() == 10);
    }
}

#[test]
fn cached_sampling_equals_recomputation_with_the_same_seed() {
    let m = model(12, 2, 3.0);
    let limits = limits(2, 9, 3);
    let cached = sample(&m, &limits, &params(3, 16)).unwrap();
    let recomputed = sample(&Recompute(&m), &limits, &params(3, 16)).unwrap();
    assert_eq!(cached, recomputed);
    let b1 = beam_search(
        &m,
        &limits,
        &BeamParams {
            num_beams: 4,
            length_penalty: 1.0,
            early_stopping: false,
        },
    )
    .unwrap();
    let b2 = beam_search(
        &Recompute(&m),
        &limits,
        &BeamParams {
            num_beams: 4,
            length_penalty: 1.0,
            early_stopping: false,
        },
    )
    .unwrap();
    assert_eq!(b1, b2);
}

#[test]
fn a_tiny_nucleus_is_greedy() {
    let m = model(10, 2, 4.0);
    let limits = limits(1, 8, 0);
    let p = SamplingParams {
        temperature: 1.0,
        top_p: 1e-6,
        num_candidates: 5,
        seed: 1,
    };
    let greedy = greedy(&m, &limits).unwrap();
    for s in sample(&m, &limits, &p).unwrap() {
        assert_eq!(s.tokens, greedy[s.clip].tokens);
    }
}

#[test]
fn first_tokens_follow_the_model_distribution() {
    // Temperature 1 and top-p 1: the empirical first-token frequencies match softmax(logits).
    let m = model(6, 1, 3.0);
    let limits = limits(1, 2, 0);
    let n = 20_000;
    let seqs = sample(
        &m,
        &limits,
        &SamplingParams {
            temperature: 1.0,
            top_p: 1.0,
            num_candidates: n,
            seed: 5,
        },
    )
    .unwrap();
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for s in &seqs {
        *counts
            .entry(s.tokens.first().copied().unwrap_or(EOS))
            .or_default() += 1;
    }
    let p = log_softmax(&m.next_logits(0, &[START]));
    for tok in 2..6 {
        let expected = p[tok as usize].exp();
        let observed = counts.get(&tok).copied().unwrap_or(0) as f64 / n as f64;
        // 5 standard deviations of a binomial proportion.
        let sd = (expected * (1.0 - expected) / n as f64).sqrt();
        assert!(
            (observed - expected).abs() < 5.0 * sd + 1e-3,
            "token {tok}: {observed} vs {expected}"
        );
    }
}

#[test]
fn nll_is_the_mean_token_cross_entropy_including_eos() {
    let m = model(8, 2, 4.0);
    let cands: Vec<(usize, Vec<i64>)> = vec![
        (0, vec![3, 4, 5]),
        (1, vec![6]),
        (0, vec![]),
        (1, vec![7, 3, 3, 4, 5, 6]),
    ];
    let pairs: Vec<(usize, &[i64])> = cands.iter().map(|(c, t)| (*c, t.as_slice())).collect();
    let got = nll(&m, &pairs).unwrap();
    for ((clip, toks), got) in cands.iter().zip(got) {
        let mut prefix = vec![START];
        let mut total = 0.0;
        for &t in toks.iter().chain([EOS].iter()) {
            total -= log_softmax(&m.next_logits(*clip as i64, &prefix))[t as usize];
            prefix.push(t);
        }
        let expected = total / (toks.len() + 1) as f64;
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
    }
}

fn detok(tokens: &[i64]) -> String {
    // Tokens 3 and 4 spell the same word, to exercise deduplication by text.
    tokens
        .iter()
        .map(|t| {
            if *t == 4 {
                "w3".to_owned()
            } else {
                format!("w{t}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn rerank_dedupes_by_text_and_orders_by_score() {
    let m = model(8, 2, 4.0);
    let seq = |clip, tokens: Vec<i64>| Sequence {
        clip,
        tokens,
        finished: true,
        sum_logprob: 0.0,
    };
    let cands = vec![
        seq(0, vec![3, 5]),
        seq(0, vec![4, 5]),
        seq(0, vec![6]),
        seq(1, vec![7]),
        seq(1, vec![5, 6]),
    ];
    let w = RerankWeights {
        llh: 1.0,
        cosine: 0.0,
    };
    let out = rerank(&m, &cands, &detok, None, w, None).unwrap();
    assert_eq!(out[0].ranked.len(), 2, "w3 w5 appears twice");
    assert_eq!(
        out[0].ranked[0].tokens.len() + out[0].ranked[1].tokens.len(),
        3
    );
    for r in &out {
        assert!(r.ranked.windows(2).all(|p| p[0].score >= p[1].score));
        assert!(r
            .ranked
            .iter()
            .all(|c| (c.score + c.nll).abs() < 1e-12 && c.cosine.is_none()));
        assert!(!r.fluency_fallback);
    }
}

#[test]
fn fluency_filter_prefers_fluent_and_falls_back_when_all_fail() {
    let m = model(8, 1, 4.0);
    let seq = |tokens: Vec<i64>| Sequence {
        clip: 0,
        tokens,
        finished: true,
        sum_logprob: 0.0,
    };
    let cands = vec![seq(vec![3, 5]), seq(vec![6]), seq(vec![7, 5])];
    let w = RerankWeights {
        llh: 1.0,
        cosine: 0.0,
    };
    let only_w6 = |t: &str| t == "w6";
    let out = rerank(&m, &cands, &detok, None, w, Some(&only_w6)).unwrap();
    assert_eq!(out[0].ranked[0].text, "w6");
    assert!(!out[0].fluency_fallback);
    let nothing = |_: &str| false;
    let out = rerank(&m, &cands, &detok, None, w, Some(&nothing)).unwrap();
    assert!(out[0].fluency_fallback);
    let best = out[0]
        .ranked
        .iter()
        .map(|r| r.score)
        .fold(f64::MIN, f64::max);
    assert_eq!(out[0].ranked[0].score, best);
}

#[test]
fn empty_candidate_lists_rerank_to_nothing() {
    let m = model(8, 2, 4.0);
    let out = rerank(
        &m,
        &[],
        &detok,
        None,
        RerankWeights {
            llh: 0.3,
            cosine: 0.7,
        },
        None,
    )
    .unwrap();
    assert_eq!(out.len(), 2);
    assert!(out
        .iter()
        .all(|r| r.ranked.is_empty() && !r.fluency_fallback));
}

#[test]
fn cosine_term_uses_the_real_sentence_embedder() {
    use soundscribe::model::text::{SentenceEmbedder, TextEmbedder};
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("assets/text/all-MiniLM-L6-v2");
    assert!(
        dir.exists(),
        "{} missing: run scripts/fetch-text-embedders.sh",
        dir.display()
    );
    let embedder = SentenceEmbedder::load(&dir, Device::Cpu).unwrap();
    let phrase = |tokens: &[i64]| match tokens {
        [3] => "a dog barks loudly".to_owned(),
        [5] => "heavy rain falls on a roof".to_owned(),
        _ => "a piano plays a slow melody".to_owned(),
    };
    let m = model(8, 2, 4.0);
    // Pretend clip 0 sounds like a dog and clip 1 like rain.
    let audio = embedder
        .embed(&["a dog is barking", "rain is falling"])
        .unwrap();
    let seq = |clip, t: i64| Sequence {
        clip,
        tokens: vec![t],
        finished: true,
        sum_logprob: 0.0,
    };
    let cands = vec![
        seq(0, 5),
        seq(0, 3),
        seq(0, 6),
        seq(1, 3),
        seq(1, 6),
        seq(1, 5),
    ];
    let w = RerankWeights {
        llh: 0.0,
        cosine: 1.0,
    };
    let out = rerank(&m, &cands, &phrase, Some((&audio, &embedder)), w, None).unwrap();
    assert_eq!(out[0].ranked[0].text, "a dog barks loudly");
    assert_eq!(out[1].ranked[0].text, "heavy rain falls on a roof");
    // The hybrid score is exactly the weighted sum of its parts.
    let w = RerankWeights {
        llh: 0.3,
        cosine: 0.7,
    };
    for r in &rerank(&m, &cands, &phrase, Some((&audio, &embedder)), w, None).unwrap() {
        for c in &r.ranked {
            assert!((c.score - (0.3 * -c.nll + 0.7 * c.cosine.unwrap())).abs() < 1e-9);
        }
    }
    // A width mismatch is an error, not a panic.
    let narrow = Tensor::zeros([2, 16], (tch::Kind::Float, Device::Cpu));
    let err = rerank(&m, &cands, &phrase, Some((&narrow, &embedder)), w, None).unwrap_err();
    assert!(err.to_string().contains("16-d"), "{err}");
}
