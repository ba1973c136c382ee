//! `soundscribe dump`: run a model directory on inputs from a safetensors file and write
//! every intermediate tensor (names as in the golden files).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tch::{Device, Tensor};

use crate::model::checkpoint::load_model_dir;
use crate::model::dump::dump_teacher;

/// Arguments of `soundscribe dump`.
#[derive(Debug, clap::Args)]
pub struct DumpArgs {
    /// Model directory (`model.json` + `model.safetensors`).
    #[arg(long)]
    model: PathBuf,
    /// Inputs: `wave` (B, N) float, optional `dec_input_ids` and `labels` (B, L) int64.
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
    let model = load_model_dir(&args.model, device)?;
    let inputs: HashMap<String, Tensor> = Tensor::read_safetensors(&args.input)
        .with_context(|| format!("{}: cannot read safetensors", args.input.display()))?
        .into_iter()
        .collect();
    let tensors: Vec<(String, Tensor)> = dump_teacher(&model.teacher, &inputs)
        .with_context(|| format!("{}", args.input.display()))?
        .into_iter()
        .map(|(n, t)| (n, t.to_device(Device::Cpu)))
        .collect();
    Tensor::write_safetensors(&tensors, &args.out)
        .with_context(|| format!("{}: cannot write", args.out.display()))?;
    println!("wrote {} ({} tensors)", args.out.display(), tensors.len());
    Ok(ExitCode::SUCCESS)
}
