//! `soundscribe dump`: run a model directory on inputs from a safetensors file and write
//! every intermediate tensor (names as in the golden files).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tch::{Device, Tensor};

use soundscribe::model::AnyModel;
use soundscribe_offline::dump::{dump_seed2, dump_student, dump_teacher};

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
    let choice = soundscribe::config::ModelConfig {
        device: args.device.clone(),
        ..Default::default()
    };
    let device = soundscribe::engine::device::select(&choice)?;
    let inputs: HashMap<String, Tensor> = Tensor::read_safetensors(&args.input)
        .with_context(|| format!("{}: cannot read safetensors", args.input.display()))?
        .into_iter()
        .collect();
    let tensors: Vec<(String, Tensor)> = match AnyModel::load(&args.model, device)? {
        AnyModel::Teacher(m) => dump_teacher(&m.teacher, &inputs),
        AnyModel::Seed2(m) => dump_seed2(&m.student, &inputs),
        AnyModel::Student(m) => dump_student(&m.student, &inputs, device),
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
