//! Beam search with Hugging Face `generate` semantics.
//!
//! Per step: log-softmax, processors (minimum length, no-repeat n-grams) on the
//! log-probabilities, add the running beam scores, take the top 2·beams over beams ×
//! vocabulary. End-of-sequence candidates ranked within the first `beams` become finished
//! hypotheses scored `sum_logprob / len^length_penalty` (len counts the start token and the
//! generated tokens before end-of-sequence); the best `beams` others continue. A clip is
//! done when `beams` hypotheses finished (early stopping) or, without early stopping, when
//! no running beam can beat the worst finished one. At `max_length` the running beams
//! are added as they are.

use tch::{Kind, Tensor};

use super::{processors, to_vec_f64, to_vec_i64, Limits, Sequence, StepModel};
use crate::model::ModelError;

/// Beam-search settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeamParams {
    /// Beams per clip.
    pub num_beams: usize,
    /// Exponent on the length in the final score.
    pub length_penalty: f64,
    /// Stop a clip as soon as `num_beams` hypotheses finished.
    pub early_stopping: bool,
}

impl BeamParams {
    /// Settings from the `[decoding]` config.
    pub fn from_config(cfg: &crate::config::DecodingConfig) -> Self {
        BeamParams {
            num_beams: cfg.num_beams,
            length_penalty: cfg.length_penalty,
            early_stopping: cfg.early_stopping,
        }
    }
}

/// A finished (or length-limited) hypothesis with its length-normalised score.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// The tokens and their summed log-probability.
    pub sequence: Sequence,
    /// `sum_logprob / len^length_penalty`.
    pub score: f64,
}

/// The best hypotheses of one clip, kept to `capacity`, best first.
struct Hypotheses {
    capacity: usize,
    length_penalty: f64,
    items: Vec<Scored>,
}

impl Hypotheses {
    fn add(&mut self, sequence: Sequence, len: usize) {
        let score = sequence.sum_logprob / (len as f64).powf(self.length_penalty);
        if self.items.len() < self.capacity || score > self.worst() {
            self.items.push(Scored { sequence, score });
            self.items.sort_by(|a, b| b.score.total_cmp(&a.score));
            self.items.truncate(self.capacity);
        }
    }

    fn worst(&self) -> f64 {
        self.items.last().map_or(f64::NEG_INFINITY, |s| s.score)
    }

    fn is_done(&self, early_stopping: bool, best_running: f64, cur_len: usize) -> bool {
        if self.items.len() < self.capacity {
            return false;
        }
        early_stopping || self.worst() >= best_running / (cur_len as f64).powf(self.length_penalty)
    }
}

/// One running beam.
#[derive(Clone)]
struct Beam {
    history: Vec<i64>,
    score: f64,
}

/// Beam search for every clip of the batch; returns each clip's hypotheses, best first.
pub fn beam_search<M: StepModel>(
    model: &M,
    limits: &Limits,
    params: &BeamParams,
) -> Result<Vec<Vec<Scored>>, ModelError> {
    let nb = params.num_beams.max(1);
    let clips = model.num_clips() as usize;
    let device = model.device();
    let (start, eos) = (model.start_token(), model.eos_token());
    let mut hyps: Vec<Hypotheses> = (0..clips)
        .map(|_| Hypotheses {
            capacity: nb,
            length_penalty: params.length_penalty,
            items: Vec::new(),
        })
        .collect();
    // Running beams of the live clips, clip-major; only the first beam starts at 0 so the
    // first step does not pick the same token `nb` times.
    let mut live: Vec<usize> = (0..clips).collect();
    let mut beams: Vec<Beam> = (0..clips * nb)
        .map(|i| Beam {
            history: vec![start],
            score: if i % nb == 0 { 0.0 } else { -1e9 },
        })
        .collect();
    let rows: Vec<usize> = (0..clips * nb).map(|i| i / nb).collect();
    let mut state = model.begin(&rows)?;
    let mut tokens = Tensor::full([(clips * nb) as i64], start, (Kind::Int64, device));
    let mut cur_len = 1;

    while cur_len < limits.max_length && !live.is_empty() {
        let mut logprobs = model
            .step(&mut state, &tokens)?
            .to_kind(Kind::Float)
            .log_softmax(-1, Kind::Float);
        let vocab = logprobs.size()[1];
        processors::min_length(&mut logprobs, cur_len, limits.min_length, eos);
        let histories: Vec<Vec<i64>> = beams.iter().map(|b| b.history.clone()).collect();
        processors::no_repeat_ngram(&mut logprobs, &histories, limits.no_repeat_ngram_size);
        let running = Tensor::from_slice(&beams.iter().map(|b| b.score as f32).collect::<Vec<_>>())
            .to_device(device);
        let total = (logprobs + running.unsqueeze(1)).view([live.len() as i64, nb as i64 * vocab]);
        let k = (2 * nb as i64).min(nb as i64 * vocab);
        let (top_scores, top_ids) = total.topk(k, -1, true, true);
        let top_scores = to_vec_f64(&top_scores.flatten(0, -1));
        let top_ids = to_vec_i64(&top_ids.flatten(0, -1));

        let mut next_live = Vec::new();
        let mut next_beams = Vec::new();
        let mut parents = Vec::new();
        for (li, &clip) in live.iter().enumerate() {
            let mut chosen = Vec::with_capacity(nb);
            for rank in 0..k as usize {
                let score = top_scores[li * k as usize + rank];
                let id = top_ids[li * k as usize + rank];
                let (beam, token) = ((id / vocab) as usize, id % vocab);
                let parent = li * nb + beam;
                if !score.is_finite() {
                    break;
                }
                if token == eos {
                    if rank < nb {
                        let history = &beams[parent].history;
                        let seq = Sequence {
                            clip,
                            tokens: history[1..].to_vec(),
                            finished: true,
                            sum_logprob: score,
                        };
                        hyps[clip].add(seq, history.len());
                    }
                } else {
                    chosen.push((parent, token, score));
                }
                if chosen.len() == nb {
                    break;
                }
            }
            let best_running = top_scores[li * k as usize];
            let done = chosen.is_empty()
                || hyps[clip].is_done(params.early_stopping, best_running, cur_len);
            if !done {
                // Fewer than nb continuations only when the vocabulary is tiny: pad with
                // copies of the worst one at −∞ so every clip keeps nb rows.
                while chosen.len() < nb {
                    let last = *chosen.last().expect("non-empty");
                    chosen.push((last.0, last.1, f64::NEG_INFINITY));
                }
                next_live.push(clip);
                for (parent, token, score) in chosen {
                    let mut history = beams[parent].history.clone();
                    history.push(token);
                    next_beams.push(Beam { history, score });
                    parents.push(parent);
                }
            }
        }
        cur_len += 1;
        live = next_live;
        beams = next_beams;
        if live.is_empty() {
            break;
        }
        model.select(&mut state, &parents)?;
        let next_tokens: Vec<i64> = beams
            .iter()
            .map(|b| *b.history.last().expect("history"))
            .collect();
        tokens = Tensor::from_slice(&next_tokens).to_device(device);
    }
    // Clips still running at max_length: their beams join as they are.
    for (li, &clip) in live.iter().enumerate() {
        for b in &beams[li * nb..(li + 1) * nb] {
            if b.score.is_finite() {
                let seq = Sequence {
                    clip,
                    tokens: b.history[1..].to_vec(),
                    finished: false,
                    sum_logprob: b.score,
                };
                hyps[clip].add(seq, b.history.len());
            }
        }
    }
    Ok(hyps.into_iter().map(|h| h.items).collect())
}
