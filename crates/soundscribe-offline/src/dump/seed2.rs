//! The seed-2 authors' beam search (`CaptionModel.beam_search` in wsntxxn/AudioCaption)
//! over our KV-cached [`CaptionDecoder`], and `dump` for the seed-2 student: the
//! golden-file tensors `mel_db`, `attn_emb`, `fc_emb`, `attn_emb_len`, `logits` (for a
//! given `cap`), `stdnt_proj` and `beam3_seq`.
//!
//! Beam semantics, kept exactly: per clip, log-softmax applied twice (the second at
//! temperature 1), first step expands only row 0, a hypothesis ends when it emits `<end>`
//! or reaches `max_len`, its score is its log-probability ÷ its length, an ended row keeps
//! decoding with −1000 added, and the search stops when exactly `beam` hypotheses ended;
//! the best score wins (ties: the first ended).

use std::collections::HashMap;

use tch::{Device, Kind, Tensor};

use soundscribe::model::seed2::Seed2Student;
use soundscribe::model::traits::{AudioEncoder, CaptionDecoder, Memory};
use soundscribe::model::ModelError;

/// Beam size and length the authors' release decodes with.
pub const BEAM: i64 = 3;
/// Longest caption, tokens.
pub const MAX_LEN: i64 = 20;

/// Clip `i` of `memory`.
fn clip(memory: &Memory, i: i64) -> Memory {
    Memory {
        states: memory.states.narrow(0, i, 1),
        valid: memory.valid.narrow(0, i, 1),
        clip_embed: memory.clip_embed.as_ref().map(|e| e.narrow(0, i, 1)),
    }
}

/// The authors' beam search for every clip of `memory`: (B, max_len) ids, `<end>`-padded.
pub fn authors_beam_search<D: CaptionDecoder>(
    dec: &D,
    memory: &Memory,
    beam: i64,
    max_len: i64,
) -> Result<Tensor, ModelError> {
    let _guard = tch::no_grad_guard();
    let b = memory.states.size()[0];
    let rows: Result<Vec<Tensor>, ModelError> = (0..b)
        .map(|i| beam_one(dec, &clip(memory, i), beam, max_len))
        .collect();
    Ok(Tensor::stack(&rows?, 0))
}

fn beam_one<D: CaptionDecoder>(
    dec: &D,
    memory: &Memory,
    beam: i64,
    max_len: i64,
) -> Result<Tensor, ModelError> {
    let tokens = dec.special_tokens();
    let cpu = (Kind::Int64, Device::Cpu);
    let mut cache = dec.start(memory, beam, max_len)?;
    let mut feed = Tensor::full([beam], tokens.decoder_start, cpu);
    let mut logprob_sum = Tensor::zeros([beam], (Kind::Float, Device::Cpu));
    let mut seq = Tensor::zeros([beam, 0], cpu);
    let mut done: Vec<(Tensor, f64)> = Vec::new();
    for t in 0..max_len {
        let logit = dec.step(&mut cache, &feed)?.to_device(Device::Cpu);
        let vocab = logit.size()[1];
        let logprob = logit
            .log_softmax(1, Kind::Float)
            .log_softmax(1, Kind::Float);
        let logprob = logprob_sum.unsqueeze(1) + logprob;
        let (top, words) = if t == 0 {
            logprob.get(0).topk(beam, 0, true, true)
        } else {
            logprob.view([-1]).topk(beam, 0, true, true)
        };
        logprob_sum = top;
        let prev = words.divide_scalar_mode(vocab, "trunc");
        let next = words.remainder(vocab);
        seq = Tensor::cat(&[seq.index_select(0, &prev), next.unsqueeze(1)], 1);
        for r in 0..beam {
            if next.int64_value(&[r]) == tokens.eos || t == max_len - 1 {
                let score = logprob_sum.double_value(&[r]) / (t + 1) as f64;
                done.push((seq.get(r), score));
                let _ = logprob_sum.get(r).f_sub_(&Tensor::from(1000.0f32))?;
            }
        }
        dec.reorder(&mut cache, &prev);
        feed = next;
        if done.len() as i64 == beam {
            break;
        }
    }
    // Stable sort by descending score, as Python's `sorted(key=-score)`.
    done.sort_by(|a, b| b.1.total_cmp(&a.1));
    let best = &done[0].0;
    let out = Tensor::full([max_len], tokens.eos, cpu);
    out.narrow(0, 0, best.size()[0]).copy_(best);
    Ok(out)
}

/// Runs the student on `inputs` (`wave`, optional `cap` = `[1] + tokens + [2]`) and
/// returns the golden-file tensors, on the CPU.
pub fn dump_seed2(
    student: &Seed2Student,
    inputs: &HashMap<String, Tensor>,
) -> Result<Vec<(String, Tensor)>, ModelError> {
    let wave = inputs
        .get("wave")
        .ok_or_else(|| ModelError::Input("input has no `wave` tensor".into()))?;
    let trace = student.encode_trace(wave)?;
    let memory = student.encode(wave)?;
    let mut out = vec![
        ("mel_db".to_owned(), trace.mel_db),
        ("attn_emb".into(), trace.attn_emb),
        ("stdnt_proj".into(), student.stdnt_proj(&trace.fc_emb)),
        ("fc_emb".into(), trace.fc_emb),
        ("attn_emb_len".into(), trace.attn_emb_len),
    ];
    if let Some(cap) = inputs.get("cap") {
        let cap = cap.to_kind(Kind::Int64);
        let l = cap.size().get(1).copied().unwrap_or(0);
        if cap.dim() != 2 || l < 2 {
            return Err(ModelError::Input(format!(
                "cap must be (B, L ≥ 2), got {:?}",
                cap.size()
            )));
        }
        out.push((
            "logits".into(),
            student.logits(&memory, 1, &cap.narrow(1, 0, l - 1))?,
        ));
    }
    out.push((
        "beam3_seq".into(),
        authors_beam_search(student, &memory, BEAM, MAX_LEN)?,
    ));
    Ok(out
        .into_iter()
        .map(|(k, t)| (k, t.to_device(Device::Cpu).contiguous()))
        .collect())
}
