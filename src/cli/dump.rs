//! `soundscribe dump`: run a model directory on inputs from a safetensors file and write
//! every intermediate tensor (names as in the golden files).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tch::{Device, Tensor};

use crate::model::checkpoint::{load_model_dir, load_student_dir, ModelKind, ModelSpec};
use crate::model::convert_seed2::load_seed2_dir;
use crate::model::dump::dump_teacher;
use crate::model::seed2_dump::dump_seed2;

/// Arguments of `soundscribe dump`.
#[derive(Debug, clap::Args)]
pub struct DumpArgs {
    /// Model directory (`model.json` + `model.safetensors`).
    #[arg(long)]
    model: PathBuf,
    /// Inputs: `wave` (B, N) float; teacher: optional `dec_input_ids` and `labels` (B, L)
    /// int64; seed-2 student: optional `cap` (B, L) int64 (`[1] + tokens + [2]`); aisfx
    /// student: optional `dec_input_ids` (B, L) int64.
    #[arg(long)]
    input: PathBuf,
    /// Output safetensors file.
    #[arg(long)]
    out: PathBuf,
    /// Device to run on: cpu, cuda or cuda:N (outputs are written from the CPU).
    #[arg(long, default_value = "cpu")]
    device: String,
}

pub(super) fn run(args: &DumpArgs) -> anyhow::Result<ExitCode> {
    let choice = crate::config::ModelConfig {
        device: args.device.clone(),
        ..Default::default()
    };
    let device = crate::engine::device::select(&choice)?;
    let inputs: HashMap<String, Tensor> = Tensor::read_safetensors(&args.input)
        .with_context(|| format!("{}: cannot read safetensors", args.input.display()))?
        .into_iter()
        .collect();
    let tensors: Vec<(String, Tensor)> = match ModelSpec::read(&args.model)?.model {
        ModelKind::Teacher(_) => {
            let model = load_model_dir(&args.model, device)?;
            dump_teacher(&model.teacher, &inputs)
        }
        ModelKind::Seed2(_) => {
            let model = load_seed2_dir(&args.model, device)?;
            dump_seed2(&model.student, &inputs)
        }
        ModelKind::Student(_) => {
            let model = load_student_dir(&args.model, device, true)?;
            dump_student(&model.student, &inputs, device)
        }
    }
    .with_context(|| format!("{}", args.input.display()))?
    .into_iter()
    .map(|(n, t)| (n, t.to_device(Device::Cpu).contiguous()))
    .collect();
    Tensor::write_safetensors(&tensors, &args.out)
        .with_context(|| format!("{}: cannot write", args.out.display()))?;
    println!("wrote {} ({} tensors)", args.out.display(), tensors.len());
    Ok(ExitCode::SUCCESS)
}

/// The aisfx student's tensors: `memory` (pre-projection aisfx steps), `memory_valid`,
/// `encoder_out`, `clip_embed` and, given `dec_input_ids`, `logits`.
fn dump_student(
    student: &crate::model::student::Student,
    inputs: &HashMap<String, Tensor>,
    device: Device,
) -> Result<Vec<(String, Tensor)>, crate::model::ModelError> {
    use crate::model::traits::CaptionDecoder;
    use crate::model::ModelError;
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
