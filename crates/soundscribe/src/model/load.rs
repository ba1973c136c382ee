//! Loading a model directory: `model.json` says which architecture to build, the weights
//! come from `model.safetensors` (checked tensor by tensor, see [`super::checkpoint`]).
//! [`AnyModel`] is the one dispatch over model kinds: the engine, `dump` and training's
//! `init` all load through [`AnyModel::load`] or the per-kind loaders it calls.

use std::path::{Path, PathBuf};

use tch::{nn, Device};

use crate::model::checkpoint::{load_safetensors, ModelKind, ModelSpec, MODEL_JSON, MODEL_WEIGHTS};
use crate::model::seed2::Seed2Student;
use crate::model::teacher::Teacher;
use crate::model::traits::{AudioEncoder, CaptionDecoder};
use crate::model::ModelError;

/// File name of the word list inside a seed-2 model directory.
pub const VOCAB_FILE: &str = "vocab.json";

/// Reads a vocabulary: a JSON list of strings, or one word per line.
pub fn read_vocab(path: &Path) -> Result<Vec<String>, ModelError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ModelError::file(path, format!("cannot read: {e}")))?;
    if text.trim_start().starts_with('[') {
        serde_json::from_str(&text)
            .map_err(|e| ModelError::file(path, format!("not a JSON list of words: {e}")))
    } else {
        Ok(text.lines().map(str::to_owned).collect())
    }
}

/// A loaded model directory.
#[derive(Debug)]
pub struct LoadedModel {
    /// The directory.
    pub dir: PathBuf,
    /// Its `model.json`.
    pub spec: ModelSpec,
    /// Owns the weights.
    pub vs: nn::VarStore,
    /// The teacher built from them.
    pub teacher: Teacher,
}

/// Builds the model described by `dir/model.json` on `device` and loads its weights.
pub fn load_model_dir(dir: &Path, device: Device) -> Result<LoadedModel, ModelError> {
    let spec = ModelSpec::read(dir)?;
    let mut vs = nn::VarStore::new(device);
    let ModelKind::Teacher(cfg) = &spec.model else {
        return Err(ModelError::file(
            dir.join(MODEL_JSON),
            "not a teacher model directory (seed2 and student kinds have their own loaders)",
        ));
    };
    let teacher = Teacher::new(vs.root(), cfg)
        .map_err(|e| ModelError::file(dir.join(MODEL_JSON), e.to_string()))?;
    load_safetensors(&mut vs, &dir.join(MODEL_WEIGHTS))?;
    vs.freeze(); // inference only: no autograd bookkeeping even outside no_grad
    Ok(LoadedModel {
        dir: dir.to_owned(),
        spec,
        vs,
        teacher,
    })
}

/// A loaded student model directory (kind `student`).
#[derive(Debug)]
pub struct LoadedStudent {
    /// Its `model.json`.
    pub spec: ModelSpec,
    /// Owns the weights.
    pub vs: nn::VarStore,
    /// The student built from them.
    pub student: crate::model::student::Student,
}

/// Builds the student described by `dir/model.json` on `device` and loads its weights
/// (`frozen` for inference; training loads with `frozen = false`).
pub fn load_student_dir(
    dir: &Path,
    device: Device,
    frozen: bool,
) -> Result<LoadedStudent, ModelError> {
    let spec = ModelSpec::read(dir)?;
    let ModelKind::Student(cfg) = &spec.model else {
        return Err(ModelError::file(
            dir.join(MODEL_JSON),
            "not a student model directory",
        ));
    };
    let mut vs = nn::VarStore::new(device);
    let student = crate::model::student::Student::new(vs.root(), cfg, device)
        .map_err(|e| ModelError::file(dir.join(MODEL_JSON), e.to_string()))?;
    load_safetensors(&mut vs, &dir.join(MODEL_WEIGHTS))?;
    if frozen {
        vs.freeze();
    }
    Ok(LoadedStudent { spec, vs, student })
}

/// A loaded seed-2 model directory.
#[derive(Debug)]
pub struct LoadedSeed2 {
    /// Its `model.json`.
    pub spec: ModelSpec,
    /// Owns the weights.
    pub vs: nn::VarStore,
    /// The student built from them.
    pub student: Seed2Student,
}

/// Builds the seed-2 student described by `dir/model.json` on `device` and loads its weights.
pub fn load_seed2_dir(dir: &Path, device: Device) -> Result<LoadedSeed2, ModelError> {
    let spec = ModelSpec::read(dir)?;
    let ModelKind::Seed2(cfg) = &spec.model else {
        return Err(ModelError::file(
            dir.join(MODEL_JSON),
            "not a seed2 model directory",
        ));
    };
    let mut vs = nn::VarStore::new(device);
    let student = Seed2Student::new(vs.root(), cfg)
        .map_err(|e| ModelError::file(dir.join(MODEL_JSON), e.to_string()))?;
    load_safetensors(&mut vs, &dir.join(MODEL_WEIGHTS))?;
    vs.freeze();
    Ok(LoadedSeed2 { spec, vs, student })
}

/// Any model directory, loaded for inference.
#[derive(Debug)]
pub enum AnyModel {
    /// Seed-1 teacher (BART byte-level BPE via `tokenizer.json`).
    Teacher(Box<LoadedModel>),
    /// Seed-2 release student (word-level `vocab.json`).
    Seed2(Box<LoadedSeed2>),
    /// Our aisfx student (byte-level BPE via `tokenizer.json`).
    Student(Box<LoadedStudent>),
}

/// Code written once against a concrete captioner, run by [`AnyModel::visit`].
pub trait ModelVisitor {
    /// What the visit returns.
    type Output;
    /// Runs on the loaded model and the device its weights are on.
    fn visit<M: AudioEncoder + CaptionDecoder>(self, model: &M, device: Device) -> Self::Output;
}

impl AnyModel {
    /// Loads `dir` onto `device`, frozen for inference, whatever its kind.
    pub fn load(dir: &Path, device: Device) -> Result<AnyModel, ModelError> {
        Ok(match ModelSpec::read(dir)?.model {
            ModelKind::Teacher(_) => AnyModel::Teacher(Box::new(load_model_dir(dir, device)?)),
            ModelKind::Seed2(_) => AnyModel::Seed2(Box::new(load_seed2_dir(dir, device)?)),
            ModelKind::Student(_) => {
                AnyModel::Student(Box::new(load_student_dir(dir, device, true)?))
            }
        })
    }

    /// Its `model.json`.
    pub fn spec(&self) -> &ModelSpec {
        match self {
            AnyModel::Teacher(m) => &m.spec,
            AnyModel::Seed2(m) => &m.spec,
            AnyModel::Student(m) => &m.spec,
        }
    }

    /// The model's audio encoder.
    pub fn encoder(&self) -> &dyn AudioEncoder {
        match self {
            AnyModel::Teacher(m) => &m.teacher,
            AnyModel::Seed2(m) => &m.student,
            AnyModel::Student(m) => &m.student,
        }
    }

    /// The tokenizer file named by `model.json` (seed-2 releases use `vocab.json` instead).
    pub fn tokenizer_file(&self) -> Option<&str> {
        match self {
            AnyModel::Teacher(m) => Some(&m.spec.tokenizer),
            AnyModel::Seed2(_) => None,
            AnyModel::Student(m) => Some(&m.spec.tokenizer),
        }
    }

    /// Runs `visitor` on the concrete model.
    pub fn visit<V: ModelVisitor>(&self, visitor: V) -> V::Output {
        match self {
            AnyModel::Teacher(m) => visitor.visit(&m.teacher, m.vs.device()),
            AnyModel::Seed2(m) => visitor.visit(&m.student, m.vs.device()),
            AnyModel::Student(m) => visitor.visit(&m.student, m.vs.device()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn vocab_reads_back_as_json_list_or_lines(
            words in proptest::collection::vec("[^\\n\\r\\[]{0,12}", 1..40)
        ) {
            let dir = tempfile::tempdir().unwrap();
            let json = dir.path().join("v.json");
            std::fs::write(&json, serde_json::to_string(&words).unwrap()).unwrap();
            prop_assert_eq!(read_vocab(&json).unwrap(), words.clone());
            // A text file cannot start with `[` (that means JSON) and keeps one word a line.
            prop_assume!(!words[0].trim_start().is_empty() || words.len() > 1);
            let txt = dir.path().join("v.txt");
            std::fs::write(&txt, words.join("\n")).unwrap();
            let got = read_vocab(&txt).unwrap();
            if words.last().is_some_and(|w| w.is_empty()) {
                prop_assert_eq!(&got[..], &words[..words.len() - 1]);
            } else {
                prop_assert_eq!(got, words);
            }
        }
    }

    #[test]
    fn bad_json_vocab_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.json");
        std::fs::write(&p, "[\"a\", 3]").unwrap();
        let err = read_vocab(&p).unwrap_err().to_string();
        assert!(
            err.contains("bad.json") && err.contains("JSON list"),
            "{err}"
        );
    }

    /// A `model.json` asking for a 4-billion-wide decoder is refused before anything is
    /// allocated (it used to grow the process to 7.4 GB), naming the file and the field.
    #[test]
    fn absurd_dimensions_are_refused_before_allocation() {
        let default = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("models/default/model.json");
        let mut spec: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(default).unwrap()).unwrap();
        spec["decoder"]["d_model"] = serde_json::json!(4_000_000_000_i64);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MODEL_JSON), spec.to_string()).unwrap();
        let err = AnyModel::load(dir.path(), Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(err.contains("model.json"), "{err}");
        assert!(err.contains("d_model = 4000000000 is larger than"), "{err}");
    }
}
