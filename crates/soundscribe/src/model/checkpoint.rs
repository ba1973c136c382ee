//! Model directories: `model.json` (what to build) + `model.safetensors` (the weights).
//!
//! Loading builds the model from `model.json`, then checks every tensor the model expects
//! against the file (missing, unexpected, wrong shape) and reports all mismatches in one
//! error naming the file before copying anything.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

use crate::model::teacher::TeacherConfig;
use crate::model::ModelError;

/// File name of the model description inside a model directory.
pub const MODEL_JSON: &str = "model.json";
/// File name of the weights inside a model directory.
pub const MODEL_WEIGHTS: &str = "model.safetensors";
/// Version of the `model.json` layout written by `soundscribe convert`.
pub const FORMAT_VERSION: u32 = 1;

/// Which architecture a model directory holds, with its configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[allow(clippy::large_enum_variant)] // built once per model load; boxing buys nothing
pub enum ModelKind {
    /// The seed-1 BEATs → Conformer → BART captioner.
    Teacher(TeacherConfig),
    /// The seed-2 EfficientNet-B2 + transformer student (`Effb2TrmCaptioningModel`);
    /// loaded with `seed2::load_seed2_dir`.
    Seed2(crate::model::seed2::Seed2Config),
    /// Our aisfx CNN-8 + small transformer student; loaded with [`load_student_dir`].
    Student(crate::model::student::StudentConfig),
}

impl ModelKind {
    /// Decoder positions, the longest caption in tokens (`None` for seed 2's release,
    /// whose config does not say).
    pub fn max_positions(&self) -> Option<usize> {
        match self {
            ModelKind::Student(c) => Some(c.decoder.max_positions as usize),
            ModelKind::Teacher(c) => Some(c.captioner.decoder.max_position_embeddings as usize),
            ModelKind::Seed2(_) => None,
        }
    }

    /// Width of the clip embedding trained against sentence embeddings (0: none, as in
    /// seed 2's release or a teacher without its embedding MLP).
    pub fn clip_embed_dim(&self) -> i64 {
        match self {
            ModelKind::Student(c) => c.embed_dim,
            ModelKind::Teacher(c) => {
                let c = &c.captioner;
                match (c.use_encoder_embed_mlp, c.embed_predictor_ffn_dim) {
                    (true, Some(_)) => c.embed_predictor_out_dim.unwrap_or(0),
                    _ => 0,
                }
            }
            ModelKind::Seed2(_) => 0,
        }
    }
}

/// `model.json`: everything needed to build and feed the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Layout version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Input sample rate, Hz.
    pub sample_rate: i64,
    /// Shortest accepted window, samples.
    pub min_window_samples: i64,
    /// Longest accepted window, samples.
    pub max_window_samples: i64,
    /// Tokenizer file expected beside `model.json` (BART's byte-level BPE for the teacher).
    pub tokenizer: String,
    /// Where the weights came from (informational).
    #[serde(default)]
    pub source: BTreeMap<String, String>,
    /// Architecture and dimensions.
    #[serde(flatten)]
    pub model: ModelKind,
}

impl ModelSpec {
    /// Reads and parses `dir/model.json`.
    pub fn read(dir: &Path) -> Result<Self, ModelError> {
        let path = dir.join(MODEL_JSON);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ModelError::file(&path, format!("cannot read: {e}")))?;
        let spec: ModelSpec = serde_json::from_str(&text)
            .map_err(|e| ModelError::file(&path, format!("invalid model.json: {e}")))?;
        if spec.format_version != FORMAT_VERSION {
            return Err(ModelError::file(
                &path,
                format!(
                    "format_version {} is not supported (expected {FORMAT_VERSION})",
                    spec.format_version
                ),
            ));
        }
        Ok(spec)
    }

    /// Writes `dir/model.json` (pretty-printed).
    pub fn write(&self, dir: &Path) -> Result<(), ModelError> {
        let path = dir.join(MODEL_JSON);
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| ModelError::file(&path, e.to_string()))?;
        std::fs::write(&path, text + "\n")
            .map_err(|e| ModelError::file(&path, format!("cannot write: {e}")))
    }
}

/// Compares `expected` names/shapes with `found` and lists every mismatch.
pub fn mismatches(
    expected: &HashMap<String, Vec<i64>>,
    found: &HashMap<String, Vec<i64>>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut names: Vec<_> = expected.keys().collect();
    names.sort();
    for name in names {
        match found.get(name) {
            None => out.push(format!("missing {name} {:?}", expected[name])),
            Some(shape) if shape != &expected[name] => out.push(format!(
                "{name}: shape {shape:?}, expected {:?}",
                expected[name]
            )),
            Some(_) => {}
        }
    }
    let mut extra: Vec<_> = found
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    extra.sort();
    out.extend(
        extra
            .into_iter()
            .map(|k| format!("unexpected {k} {:?}", found[k])),
    );
    out
}

/// Names and shapes of every variable in `vs`.
pub fn expected_shapes(vs: &nn::VarStore) -> HashMap<String, Vec<i64>> {
    vs.variables()
        .into_iter()
        .map(|(k, t)| (k, t.size()))
        .collect()
}

/// Creates `out_dir` and writes `tensors` (as float32, sorted by name) to its
/// [`MODEL_WEIGHTS`]; returns (tensors, parameters) written.
pub fn write_weights(
    out_dir: &Path,
    tensors: &HashMap<String, Tensor>,
) -> Result<(usize, i64), ModelError> {
    std::fs::create_dir_all(out_dir)
        .map_err(|e| ModelError::file(out_dir, format!("cannot create: {e}")))?;
    let mut names: Vec<_> = tensors.keys().cloned().collect();
    names.sort();
    let named: Vec<(String, Tensor)> = names
        .iter()
        .map(|n| (n.clone(), tensors[n].to_kind(Kind::Float).contiguous()))
        .collect();
    let parameters = named.iter().map(|(_, t)| t.numel() as i64).sum();
    let weights = out_dir.join(MODEL_WEIGHTS);
    Tensor::write_safetensors(&named, &weights)
        .map_err(|e| ModelError::file(&weights, format!("cannot write: {e}")))?;
    Ok((named.len(), parameters))
}

/// Loads `path` (safetensors) into `vs`, failing with every mismatch listed at once.
pub fn load_safetensors(vs: &mut nn::VarStore, path: &Path) -> Result<(), ModelError> {
    let tensors = Tensor::read_safetensors(path)
        .map_err(|e| ModelError::file(path, format!("cannot read safetensors: {e}")))?;
    copy_into(vs, &tensors.into_iter().collect(), path)
}

/// Copies `tensors` into `vs`'s variables, failing with every name or shape mismatch
/// listed at once; `origin` names their file or directory in errors.
pub fn copy_into(
    vs: &nn::VarStore,
    tensors: &HashMap<String, Tensor>,
    origin: &Path,
) -> Result<(), ModelError> {
    let found = tensors.iter().map(|(k, t)| (k.clone(), t.size())).collect();
    let problems = mismatches(&expected_shapes(vs), &found);
    if !problems.is_empty() {
        return Err(ModelError::file(
            origin,
            format!(
                "{} tensor mismatch(es) with the model:\n  {}",
                problems.len(),
                problems.join("\n  ")
            ),
        ));
    }
    let _guard = tch::no_grad_guard();
    for (name, mut var) in vs.variables() {
        var.f_copy_(&tensors[&name])
            .map_err(|e| ModelError::file(origin, format!("{name}: {e}")))?;
    }
    Ok(())
}
