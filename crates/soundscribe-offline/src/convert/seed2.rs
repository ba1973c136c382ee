//! `soundscribe convert seed2`: a seed-2 student release (`pytorch_model.bin` +
//! `config.json` of `Effb2TrmCaptioningModel`) → a model directory, and loading it back.
//!
//! Tensors are read with the safe zip-pickle reader (`torch_zip`), never by running
//! pickled code. Tensors inference never reads are dropped by rule ([`is_unused`]);
//! every other difference from the model built from `config.json` is reported in one
//! error naming the checkpoint. The optional vocabulary (the authors keep it in a separate
//! tokenizer repository) is copied as `vocab.json`, a JSON list of words (index = id).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use tch::{nn, Device, Tensor};

use crate::convert::teacher::ConvertReport;
use crate::convert::torch_zip::read_torch_file;
use soundscribe::features::mel::SAMPLE_RATE;
use soundscribe::model::checkpoint::{
    expected_shapes, mismatches, write_weights, ModelKind, ModelSpec, FORMAT_VERSION,
};
use soundscribe::model::load::{read_vocab, VOCAB_FILE};
use soundscribe::model::seed2::{Seed2Config, Seed2Student, MAX_WINDOW_SAMPLES};
use soundscribe::model::ModelError;

/// The files of a seed-2 release.
#[derive(Debug, Clone)]
pub struct Seed2Sources {
    /// `state_dict` of `Effb2TrmCaptioningModel` (`pytorch_model.bin`).
    pub checkpoint: PathBuf,
    /// `config.json` (`Effb2TrmConfig`).
    pub config: PathBuf,
    /// Optional vocabulary: a JSON list of words or a text file with one word per line.
    pub vocab: Option<PathBuf>,
}

/// Why a checkpoint tensor is not needed for inference, if it is not.
fn is_unused(name: &str, tied: bool) -> Option<&'static str> {
    if name.ends_with("num_batches_tracked") {
        return Some("BatchNorm step counter");
    }
    if name.contains(".melspec_extractor.") {
        return Some("front-end window / mel filters, recomputed by features::mel");
    }
    if name.starts_with("model.tchr_proj.") || name == "model.logit_scale" {
        return Some("teacher-side KD head (training only)");
    }
    if tied && name == "model.model.decoder.classifier.weight" {
        return Some("classifier tied to word_embedding");
    }
    None
}

/// Converts a release into `out_dir` (created if needed).
pub fn convert_seed2(src: &Seed2Sources, out_dir: &Path) -> Result<ConvertReport, ModelError> {
    let text = std::fs::read_to_string(&src.config)
        .map_err(|e| ModelError::file(&src.config, format!("cannot read: {e}")))?;
    let cfg: Seed2Config = serde_json::from_str(&text)
        .map_err(|e| ModelError::file(&src.config, format!("invalid config: {e}")))?;
    let vs = nn::VarStore::new(Device::Cpu);
    Seed2Student::new(vs.root(), &cfg).map_err(|e| ModelError::file(&src.config, e.to_string()))?;
    let expected = expected_shapes(&vs);
    let vocab = src.vocab.as_deref().map(read_vocab).transpose()?;
    if let (Some(words), Some(path)) = (&vocab, &src.vocab) {
        if words.len() as i64 != cfg.vocab_size {
            return Err(ModelError::file(
                path,
                format!(
                    "{} words, but config.json has vocab_size {}",
                    words.len(),
                    cfg.vocab_size
                ),
            ));
        }
    }

    let ckpt = &src.checkpoint;
    let state = read_torch_file(ckpt)
        .map_err(|e| ModelError::file(ckpt, e.message))?
        .state_dict()
        .map_err(|e| ModelError::file(ckpt, e))?;
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    let mut dropped = Vec::new();
    let mut dropped_classifier = None;
    for (name, t) in state {
        if name == "model.model.decoder.classifier.weight" {
            dropped_classifier = Some(t.shallow_clone());
        }
        match is_unused(&name, cfg.decoder_we_tie_weights) {
            Some(why) => dropped.push(format!("{name} ({why})")),
            None => {
                tensors.insert(name, t);
            }
        }
    }
    if cfg.decoder_we_tie_weights {
        let (emb, cls) = (
            "model.model.decoder.word_embedding.weight",
            "model.model.decoder.classifier.weight",
        );
        if let (Some(e), Some(c)) = (tensors.get(emb), dropped_classifier.as_ref()) {
            if e.size() != c.size() || !e.equal(c) {
                return Err(ModelError::file(
                    ckpt,
                    format!("config.json ties the classifier to the word embedding, but {cls} differs from {emb}"),
                ));
            }
        }
    }
    let found = tensors.iter().map(|(k, t)| (k.clone(), t.size())).collect();
    let problems = mismatches(&expected, &found);
    if !problems.is_empty() {
        return Err(ModelError::file(
            ckpt,
            format!(
                "{} mismatch(es) with the model built from {}:\n  {}",
                problems.len(),
                src.config.display(),
                problems.join("\n  ")
            ),
        ));
    }

    let (written, parameters) = write_weights(out_dir, &tensors)?;
    let mut source = BTreeMap::from([
        (
            "checkpoint".to_owned(),
            src.checkpoint.display().to_string(),
        ),
        ("config".to_owned(), src.config.display().to_string()),
    ]);
    if let (Some(words), Some(path)) = (&vocab, &src.vocab) {
        source.insert("vocab".to_owned(), path.display().to_string());
        let out = out_dir.join(VOCAB_FILE);
        let json =
            serde_json::to_string(words).map_err(|e| ModelError::file(&out, e.to_string()))?;
        std::fs::write(&out, json + "\n")
            .map_err(|e| ModelError::file(&out, format!("cannot write: {e}")))?;
    }
    let spec = ModelSpec {
        format_version: FORMAT_VERSION,
        sample_rate: SAMPLE_RATE,
        min_window_samples: cfg.min_window_samples(),
        max_window_samples: MAX_WINDOW_SAMPLES,
        tokenizer: VOCAB_FILE.to_owned(),
        source,
        model: ModelKind::Seed2(cfg),
    };
    spec.write(out_dir)?;
    Ok(ConvertReport {
        written,
        parameters,
        dropped,
    })
}
