//! The aisfx student's intermediate tensors for given inputs (`soundscribe dump` on a
//! `student` model directory).

use std::collections::HashMap;

use tch::{Device, Tensor};

use soundscribe::model::student::Student;
use soundscribe::model::traits::CaptionDecoder;
use soundscribe::model::ModelError;

/// The aisfx student's tensors: `memory` (pre-projection aisfx steps), `memory_valid`,
/// `encoder_out`, `clip_embed` and, given `dec_input_ids`, `logits`.
pub fn dump_student(
    student: &Student,
    inputs: &HashMap<String, Tensor>,
    device: Device,
) -> Result<Vec<(String, Tensor)>, ModelError> {
    let _guard = tch::no_grad_guard();
    let wave = inputs
        .get("wave")
        .ok_or_else(|| ModelError::Input("input has no `wave` tensor".into()))?
        .to_kind(tch::Kind::Float)
        .to_device(device);
    student.check_window(&wave)?;
    let (memory, valid) = student.aisfx_memory(&wave)?;
    let enc = student.memory_from_aisfx(&memory, &valid);
    let mut out = vec![
        ("memory".to_owned(), memory),
        ("memory_valid".to_owned(), valid),
        ("encoder_out".to_owned(), enc.states.shallow_clone()),
    ];
    if let Some(e) = &enc.clip_embed {
        out.push(("clip_embed".to_owned(), e.shallow_clone()));
    }
    if let Some(ids) = inputs.get("dec_input_ids") {
        let ids = ids.to_kind(tch::Kind::Int64).to_device(device);
        out.push(("logits".to_owned(), student.logits(&enc, 1, &ids)?));
    }
    Ok(out)
}
