//! The shared token-by-token loop of greedy decoding and sampling: every live hypothesis
//! advances one token per step with the KV cache; finished ones leave the batch.

use tch::{Kind, Tensor};

use super::{processors, Limits, Sequence, StepModel};
use crate::model::ModelError;

/// Picks the next token of every live hypothesis from processed scores (A, V) — `live`
/// names the hypotheses of the rows — returning the tokens (A,) and the log-probabilities
/// (A,) of the distribution they came from.
pub(super) type Choose<'a> = dyn FnMut(&Tensor, &[usize]) -> (Tensor, Tensor) + 'a;

/// Runs hypotheses that read clips `clips` (one entry per hypothesis) to completion.
pub(super) fn run<M: StepModel>(
    model: &M,
    clips: &[usize],
    limits: &Limits,
    choose: &mut Choose<'_>,
) -> Result<Vec<Sequence>, ModelError> {
    let device = model.device();
    let start = model.start_token();
    let eos = model.eos_token();
    let mut state = model.begin(clips)?;
    let mut histories: Vec<Vec<i64>> = vec![vec![start]; clips.len()];
    let mut sums = vec![0.0f64; clips.len()];
    let mut live: Vec<usize> = (0..clips.len()).collect();
    let mut done: Vec<Option<bool>> = vec![None; clips.len()];
    let mut tokens = Tensor::full([clips.len() as i64], start, (Kind::Int64, device));
    let mut cur_len = 1;
    while cur_len < limits.max_length && !live.is_empty() {
        let mut scores = model.step(&mut state, &tokens)?.to_kind(Kind::Float);
        processors::min_length(&mut scores, cur_len, limits.min_length, eos);
        let live_histories: Vec<Vec<i64>> = live.iter().map(|&h| histories[h].clone()).collect();
        processors::no_repeat_ngram(&mut scores, &live_histories, limits.no_repeat_ngram_size);
        let (next, logprob) = choose(&scores, &live);
        let next_v = super::to_vec_i64(&next);
        let logprob_v = super::to_vec_f64(&logprob);
        let mut keep = Vec::with_capacity(live.len());
        for (i, &h) in live.iter().enumerate() {
            sums[h] += logprob_v[i];
            if next_v[i] == eos {
                done[h] = Some(true);
            } else {
                histories[h].push(next_v[i]);
                keep.push(i);
            }
        }
        cur_len += 1;
        if keep.len() < live.len() {
            live = keep.iter().map(|&i| live[i]).collect();
            if keep.is_empty() {
                break;
            }
            model.select(&mut state, &keep)?;
            let keep: Vec<i64> = keep.iter().map(|&i| i as i64).collect();
            tokens = next.index_select(0, &Tensor::from_slice(&keep).to_device(device));
        } else {
            tokens = next;
        }
    }
    Ok(histories
        .into_iter()
        .zip(sums)
        .zip(done)
        .enumerate()
        .map(|(h, ((hist, sum), done))| Sequence {
            clip: clips[h],
            tokens: hist[1..].to_vec(),
            finished: done.unwrap_or(false),
            sum_logprob: sum,
        })
        .collect())
}
