//! `soundscribe convert teacher`: the seed-1 release (`pytorch_model.bin`, `config.json`,
//! `conformer_config.json`, BEATs `{cfg, model}` .pt) → a model directory.
//!
//! Tensors are read with the safe zip-pickle reader (`torch_zip`), never by running
//! pickled code. BEATs' weight-normed position conv is folded into a plain weight; tensors
//! inference never reads are dropped by rule (listed in [`is_unused`]); every other
//! difference between the checkpoint and the model built from the configs is reported
//! in one error naming the checkpoint.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use tch::{nn, Device, Kind, Tensor};

use crate::convert::torch_zip::read_torch_file;
use soundscribe::features::kaldi_fbank::SAMPLE_RATE;
use soundscribe::model::checkpoint::{
    expected_shapes, mismatches, write_weights, ModelKind, ModelSpec, FORMAT_VERSION,
};
use soundscribe::model::teacher::beats::BeatsConfig;
use soundscribe::model::teacher::conformer::ConformerConfig;
use soundscribe::model::teacher::{CaptionerConfig, Teacher, TeacherConfig};
use soundscribe::model::ModelError;

/// The files of a seed-1 release.
#[derive(Debug, Clone)]
pub struct TeacherSources {
    /// Captioner `state_dict` (`pytorch_model.bin`).
    pub checkpoint: PathBuf,
    /// `config.json` (BartConfig + the seed's fields).
    pub config: PathBuf,
    /// `conformer_config.json`.
    pub conformer_config: PathBuf,
    /// BEATs checkpoint `{"cfg": dict, "model": state_dict}`.
    pub beats: PathBuf,
}

/// What a conversion wrote.
#[derive(Debug)]
pub struct ConvertReport {
    /// Tensors written.
    pub written: usize,
    /// Parameters written (elements).
    pub parameters: i64,
    /// Checkpoint tensors deliberately left out, with the reason.
    pub dropped: Vec<String>,
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, ModelError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ModelError::file(path, format!("cannot read: {e}")))?;
    serde_json::from_str(&text).map_err(|e| ModelError::file(path, format!("invalid config: {e}")))
}

/// Reads BEATs' `cfg` dict from its checkpoint.
pub fn read_beats_config(path: &Path) -> Result<BeatsConfig, ModelError> {
    let obj = read_torch_file(path).map_err(|e| ModelError::file(path, e.message))?;
    let cfg = obj.get("cfg").ok_or_else(|| {
        ModelError::file(
            path,
            "no \"cfg\" entry: not a BEATs {cfg, model} checkpoint",
        )
    })?;
    let json = cfg
        .to_json()
        .map_err(|e| ModelError::file(path, format!("cfg: {e}")))?;
    serde_json::from_value(json).map_err(|e| ModelError::file(path, format!("cfg: {e}")))
}

/// Why a checkpoint tensor is not needed for inference, if it is not.
fn is_unused(name: &str, repr_layer: i64) -> Option<&'static str> {
    if name.ends_with("num_batches_tracked") {
        return Some("BatchNorm step counter");
    }
    if name.starts_with("encoder.predictor.") {
        return Some("BEATs AudioSet classifier (unused by the captioner)");
    }
    if name.starts_with("encoder_clf_proj.") {
        return Some("keyword classifier head (training only)");
    }
    if name.starts_with("postencoder.pos_conv_embed.") {
        return Some("Conformer pos_conv_embed (unused by its forward)");
    }
    if let Some(rest) = name.strip_prefix("encoder.encoder.layers.") {
        let layer: i64 = rest.split('.').next()?.parse().ok()?;
        if layer >= repr_layer {
            return Some("BEATs layer after encoder_repr_layer_idx (never computed)");
        }
        if layer > 0 && rest.ends_with("self_attn.relative_attention_bias.weight") {
            return Some("copy of layer 0's shared relative position bias");
        }
    }
    None
}

/// `weight_norm(dim=2)`: w = v · g / ‖v‖ with the norm over all dims but the last.
fn fold_weight_norm(g: &Tensor, v: &Tensor) -> Tensor {
    let norm = v.norm_scalaropt_dim(2.0, [0i64, 1].as_slice(), true);
    v * (g / norm)
}

/// Converts a release into `out_dir` (created if needed).
pub fn convert_teacher(src: &TeacherSources, out_dir: &Path) -> Result<ConvertReport, ModelError> {
    let captioner: CaptionerConfig = read_json(&src.config)?;
    let conformer: ConformerConfig = read_json(&src.conformer_config)?;
    let beats = read_beats_config(&src.beats)?;
    let cfg = TeacherConfig {
        captioner,
        conformer,
        beats,
    };
    let vs = nn::VarStore::new(Device::Cpu);
    Teacher::new(vs.root(), &cfg)?;
    let expected = expected_shapes(&vs);

    let ckpt = &src.checkpoint;
    let state = read_torch_file(ckpt)
        .map_err(|e| ModelError::file(ckpt, e.message))?
        .state_dict()
        .map_err(|e| ModelError::file(ckpt, e))?;
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    let mut dropped = Vec::new();
    let (mut g, mut v) = (None, None);
    for (name, t) in state {
        match name.as_str() {
            "encoder.encoder.pos_conv.0.weight_g" => g = Some(t),
            "encoder.encoder.pos_conv.0.weight_v" => v = Some(t),
            _ => match is_unused(&name, cfg.repr_layer()) {
                Some(why) => dropped.push(format!("{name} ({why})")),
                None => {
                    tensors.insert(name, t);
                }
            },
        }
    }
    let mut problems = Vec::new();
    match (g, v) {
        (Some(g), Some(v)) if g.dim() == 3 && v.dim() == 3 => {
            tensors.insert(
                "encoder.encoder.pos_conv.0.weight".into(),
                fold_weight_norm(&g.to_kind(Kind::Float), &v.to_kind(Kind::Float)),
            );
        }
        (Some(_), Some(_)) => {
            problems.push("encoder.encoder.pos_conv.0.weight_g/_v are not 3-d".to_owned())
        }
        _ => problems.push(
            "missing encoder.encoder.pos_conv.0.weight_g / weight_v (weight-normed BEATs pos_conv)"
                .to_owned(),
        ),
    }
    let found = tensors.iter().map(|(k, t)| (k.clone(), t.size())).collect();
    problems.extend(mismatches(&expected, &found));
    if !problems.is_empty() {
        return Err(ModelError::file(
            ckpt,
            format!(
                "{} mismatch(es) with the model built from {} / {} / {}:\n  {}",
                problems.len(),
                src.config.display(),
                src.conformer_config.display(),
                src.beats.display(),
                problems.join("\n  ")
            ),
        ));
    }

    let (written, parameters) = write_weights(out_dir, &tensors)?;
    let source = BTreeMap::from([
        (
            "checkpoint".to_owned(),
            src.checkpoint.display().to_string(),
        ),
        ("config".to_owned(), src.config.display().to_string()),
        (
            "conformer_config".to_owned(),
            src.conformer_config.display().to_string(),
        ),
        ("beats".to_owned(), src.beats.display().to_string()),
    ]);
    let spec = ModelSpec {
        format_version: FORMAT_VERSION,
        sample_rate: SAMPLE_RATE,
        min_window_samples: cfg.min_window_samples(),
        max_window_samples: cfg.max_window_samples(),
        tokenizer: "tokenizer.json".to_owned(),
        source,
        model: ModelKind::Teacher(cfg),
    };
    spec.write(out_dir)?;
    Ok(ConvertReport {
        written,
        parameters,
        dropped,
    })
}
