//! `soundscribe convert aisfx`: aisfx's `checkpoint.pth` → `aisfx.safetensors` +
//! `aisfx.json`, the encoder part of a student model directory.
//!
//! The checkpoint is `torch.save((state_dict, ds_dict))` (see aisfx `inference.py`,
//! `load_weights`); a bare state dict is accepted too. It is read with the safe
//! zip-pickle reader (`torch_zip`), numpy scalars in `ds_dict` decoded as data. The
//! `embedding_net.` prefix is stripped; the per-dataset classifier heads (`fc.*`) and
//! BatchNorm step counters are dropped; every other difference from [`AisfxCnn`] is
//! reported in one error naming the checkpoint.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

use crate::convert::teacher::ConvertReport;
use crate::convert::torch_zip::{read_torch_file, PickleValue};
use soundscribe::model::checkpoint::{expected_shapes, load_safetensors, mismatches};
use soundscribe::model::student::aisfx::{AisfxCnn, AisfxConfig};
use soundscribe::model::ModelError;

/// Weights file of the aisfx encoder inside a model directory.
pub const AISFX_WEIGHTS: &str = "aisfx.safetensors";
/// Config file of the aisfx encoder inside a model directory.
pub const AISFX_JSON: &str = "aisfx.json";

/// `aisfx.json`: the network's shape and where the weights came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AisfxSpec {
    /// Network configuration.
    pub config: AisfxConfig,
    /// The checkpoint converted (informational).
    pub source: String,
}

/// Why a checkpoint tensor is not needed for the encoder, if it is not.
fn is_unused(name: &str) -> Option<&'static str> {
    if name.ends_with("num_batches_tracked") {
        return Some("BatchNorm step counter");
    }
    if name.starts_with("fc.") {
        return Some("per-dataset classifier head (training only)");
    }
    None
}

/// The state dict inside a checkpoint value: `(state_dict, ds_dict)` or a bare dict.
fn state_dict(obj: &PickleValue) -> Result<Vec<(String, Tensor)>, String> {
    match obj {
        PickleValue::List(items) => match items.first() {
            Some(sd @ PickleValue::Dict(_)) => sd.state_dict(),
            _ => Err("expected (state_dict, ds_dict) as aisfx saves it".into()),
        },
        other => other.state_dict(),
    }
}

/// Converts aisfx's `checkpoint` into `out_dir` (created if needed).
pub fn convert_aisfx(checkpoint: &Path, out_dir: &Path) -> Result<ConvertReport, ModelError> {
    let cfg = AisfxConfig::default();
    let vs = nn::VarStore::new(Device::Cpu);
    AisfxCnn::new(vs.root(), &cfg)?;
    let expected = expected_shapes(&vs);
    let obj = read_torch_file(checkpoint).map_err(|e| ModelError::file(checkpoint, e.message))?;
    let state = state_dict(&obj)
        .map_err(|e| ModelError::file(checkpoint, format!("not an aisfx checkpoint: {e}")))?;
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    let mut dropped = Vec::new();
    for (name, t) in state {
        let short = name.strip_prefix("embedding_net.").unwrap_or(&name);
        match is_unused(short) {
            Some(why) => dropped.push(format!("{name} ({why})")),
            None => {
                tensors.insert(short.to_owned(), t);
            }
        }
    }
    let found = tensors.iter().map(|(k, t)| (k.clone(), t.size())).collect();
    let problems = mismatches(&expected, &found);
    if !problems.is_empty() {
        return Err(ModelError::file(
            checkpoint,
            format!(
                "not an aisfx EmbeddingNet checkpoint: {} mismatch(es):\n  {}",
                problems.len(),
                problems.join("\n  ")
            ),
        ));
    }
    std::fs::create_dir_all(out_dir)
        .map_err(|e| ModelError::file(out_dir, format!("cannot create: {e}")))?;
    let mut named: Vec<(String, Tensor)> = tensors
        .into_iter()
        .map(|(n, t)| (n, t.to_kind(Kind::Float).contiguous()))
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let parameters = named.iter().map(|(_, t)| t.numel() as i64).sum();
    let weights = out_dir.join(AISFX_WEIGHTS);
    Tensor::write_safetensors(&named, &weights)
        .map_err(|e| ModelError::file(&weights, format!("cannot write: {e}")))?;
    let spec = AisfxSpec {
        config: cfg,
        source: checkpoint.display().to_string(),
    };
    let json = out_dir.join(AISFX_JSON);
    let text =
        serde_json::to_string_pretty(&spec).map_err(|e| ModelError::file(&json, e.to_string()))?;
    std::fs::write(&json, text + "\n")
        .map_err(|e| ModelError::file(&json, format!("cannot write: {e}")))?;
    Ok(ConvertReport {
        written: named.len(),
        parameters,
        dropped,
    })
}

/// Builds the encoder described by `dir/aisfx.json` under `vs` and loads its weights
/// (every missing, unexpected or misshapen tensor reported in one error).
pub fn load_aisfx(dir: &Path, vs: &mut nn::VarStore) -> Result<AisfxCnn, ModelError> {
    let json = dir.join(AISFX_JSON);
    let text = std::fs::read_to_string(&json)
        .map_err(|e| ModelError::file(&json, format!("cannot read: {e}")))?;
    let spec: AisfxSpec = serde_json::from_str(&text)
        .map_err(|e| ModelError::file(&json, format!("invalid aisfx.json: {e}")))?;
    let cnn = AisfxCnn::new(vs.root(), &spec.config)
        .map_err(|e| ModelError::file(&json, e.to_string()))?;
    load_safetensors(vs, &dir.join(AISFX_WEIGHTS))?;
    Ok(cnn)
}

/// Copies `dir/aisfx.safetensors` into the variables of `vs` under `prefix` (e.g.
/// `"encoder.cnn"` in a student), failing with every mismatch listed at once.
pub fn load_aisfx_into(vs: &mut nn::VarStore, prefix: &str, dir: &Path) -> Result<(), ModelError> {
    let path = dir.join(AISFX_WEIGHTS);
    let tensors: HashMap<String, Tensor> = Tensor::read_safetensors(&path)
        .map_err(|e| ModelError::file(&path, format!("cannot read safetensors: {e}")))?
        .into_iter()
        .collect();
    let head = format!("{prefix}.");
    let vars: HashMap<String, Tensor> = vs
        .variables()
        .into_iter()
        .filter_map(|(k, t)| k.strip_prefix(&head).map(|s| (s.to_owned(), t)))
        .collect();
    let expected = vars.iter().map(|(k, t)| (k.clone(), t.size())).collect();
    let found = tensors.iter().map(|(k, t)| (k.clone(), t.size())).collect();
    let problems = mismatches(&expected, &found);
    if !problems.is_empty() {
        return Err(ModelError::file(
            &path,
            format!(
                "{} tensor mismatch(es) with {prefix}:\n  {}",
                problems.len(),
                problems.join("\n  ")
            ),
        ));
    }
    let _guard = tch::no_grad_guard();
    for (name, mut var) in vars {
        var.f_copy_(&tensors[&name])
            .map_err(|e| ModelError::file(&path, format!("{name}: {e}")))?;
    }
    Ok(())
}
