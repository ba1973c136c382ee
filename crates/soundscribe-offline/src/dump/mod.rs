//! `soundscribe dump`: every intermediate tensor of the teacher for given inputs, named as
//! in the golden files (`../shared/golden/README.md`), so anyone can check a conversion
//! against the reference implementation. [`seed2`] and [`student`] do the same for the
//! students.

pub mod seed2;
pub mod student;

pub use seed2::dump_seed2;
pub use student::dump_student;

use std::collections::HashMap;

use tch::{Device, Kind, Tensor};

use soundscribe::model::teacher::Teacher;
use soundscribe::model::traits::{CaptionDecoder, Memory};
use soundscribe::model::ModelError;

/// Greedy steps recorded by [`dump_teacher`] (as in the golden files).
pub const GREEDY_STEPS: i64 = 20;

/// Plain greedy decoding from the start token with the KV cache, no constraints:
/// (B, steps + 1) ids. Only for checks; real decoding lives in `decode`.
pub fn greedy_ids<D: CaptionDecoder>(
    dec: &D,
    memory: &Memory,
    steps: i64,
) -> Result<Tensor, ModelError> {
    let b = memory.states.size()[0];
    let mut cache = dec.start(memory, 1, steps)?;
    let start = dec.special_tokens().decoder_start;
    let mut tokens = Tensor::full([b], start, (Kind::Int64, memory.states.device()));
    let mut out = vec![tokens.shallow_clone()];
    for _ in 0..steps {
        tokens = dec.step(&mut cache, &tokens)?.argmax(-1, false);
        out.push(tokens.shallow_clone());
    }
    Ok(Tensor::stack(&out, 1))
}

/// Runs the teacher on `inputs` (`wave`, optional `dec_input_ids` and `labels`) and returns
/// the golden-file tensors, on the CPU.
pub fn dump_teacher(
    teacher: &Teacher,
    inputs: &HashMap<String, Tensor>,
) -> Result<Vec<(String, Tensor)>, ModelError> {
    let wave = inputs
        .get("wave")
        .ok_or_else(|| ModelError::Input("input has no `wave` tensor".into()))?;
    let trace = teacher.encode_trace(wave)?;
    let mut out = vec![("fbank".to_owned(), trace.fbank.shallow_clone())];
    for (i, h) in trace.beats_layers.iter().enumerate() {
        out.push((format!("beats_layer_{i}"), h.shallow_clone()));
    }
    out.push(("downsampled".into(), trace.downsampled.shallow_clone()));
    out.push(("encoder_out".into(), trace.encoder_out.shallow_clone()));
    if let Some(e) = &trace.memory.clip_embed {
        out.push(("audio_embed".into(), e.shallow_clone()));
    }
    let memory = trace.memory;
    if let Some(ids) = inputs.get("dec_input_ids") {
        let logits = teacher.logits(
            &memory,
            1,
            &ids.to_kind(Kind::Int64).to_device(teacher.device()),
        )?;
        if let Some(labels) = inputs.get("labels") {
            let labels = labels.to_kind(Kind::Int64).to_device(teacher.device());
            if labels.size() != logits.size()[..2] {
                return Err(ModelError::Input(format!(
                    "labels {:?} do not match dec_input_ids {:?}",
                    labels.size(),
                    ids.size()
                )));
            }
            out.push(("nll".into(), Teacher::nll(&logits, &labels)));
        }
        out.push(("logits".into(), logits));
    }
    let greedy = tch::no_grad(|| greedy_ids(teacher, &memory, GREEDY_STEPS))?;
    let greedy_logits = teacher.logits(&memory, 1, &greedy.narrow(1, 0, GREEDY_STEPS))?;
    out.push(("greedy_ids".into(), greedy));
    out.push(("greedy_logits".into(), greedy_logits));
    Ok(out
        .into_iter()
        .map(|(k, t)| (k, t.to_device(Device::Cpu).contiguous()))
        .collect())
}
