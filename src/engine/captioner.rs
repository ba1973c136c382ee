//! A loaded captioning model with its decoding policy: a batch of windows in, one decided
//! caption per window out, with the time each stage took.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tch::{Device, Tensor};
use tokenizers::Tokenizer;

use crate::config::{DecodingConfig, DecodingStrategy};
use crate::decode::beam::{beam_search, BeamParams};
use crate::decode::bound::Bound;
use crate::decode::greedy::greedy;
use crate::decode::rerank::{rerank, Ranked, RerankError, RerankWeights};
use crate::decode::sampling::{sample, SamplingParams};
use crate::decode::{Limits, Sequence};
use crate::model::checkpoint::{
    load_model_dir, load_student_dir, LoadedModel, LoadedStudent, ModelKind, ModelSpec,
};
use crate::model::convert_seed2::{load_seed2_dir, read_vocab, LoadedSeed2, VOCAB_FILE};
use crate::model::text::{SentenceEmbedder, TextEmbedder, TextEmbedderError};
use crate::model::traits::{AudioEncoder, CaptionDecoder, Memory};
use crate::model::ModelError;

/// Why captioning failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The model failed to load or run.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The sentence embedder failed to load or run.
    #[error(transparent)]
    Embedder(#[from] TextEmbedderError),
    /// Reranking failed.
    #[error(transparent)]
    Rerank(#[from] RerankError),
    /// The tokenizer file could not be used.
    #[error("{path}: tokenizer: {message}")]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The configuration asks for something this model cannot do.
    #[error("{0}")]
    Config(String),
}

/// The decided caption of one window.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    /// Best candidate first, then the alternatives.
    pub ranked: Vec<Ranked>,
    /// Every candidate was rejected by the fluency filter (none is configured yet).
    pub fluency_fallback: bool,
}

/// The seed's output normalisation: lower-case, ASCII punctuation removed, single spaces.
pub fn normalize_caption(text: &str) -> String {
    let lowered: String = text
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_ascii_punctuation())
        .collect();
    lowered.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Seconds spent in each stage for one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageTimes {
    /// Encoder (features included).
    pub encoder: f64,
    /// Candidate generation.
    pub decode: f64,
    /// Reranking.
    pub rerank: f64,
}

/// The model kinds the engine runs.
enum Loaded {
    /// Seed-1 teacher (BART byte-level BPE via `tokenizer.json`).
    Teacher(Box<LoadedModel>),
    /// Seed-2 release student (word-level `vocab.json`).
    Seed2(Box<LoadedSeed2>),
    /// Our aisfx student (byte-level BPE via `tokenizer.json`).
    Student(Box<LoadedStudent>),
}

/// A model directory loaded for inference, with tokenizer, optional sentence embedder and
/// the decoding settings.
pub struct Captioner {
    model: Loaded,
    /// Word list of word-level models (seed-2 `vocab.json`), index = id.
    words: Option<Vec<String>>,
    id: String,
    tokenizer: Option<Tokenizer>,
    embedder: Option<SentenceEmbedder>,
    decoding: DecodingConfig,
}

impl Captioner {
    /// Loads `dir` onto `device`; `embedder` (a sentence-transformers directory) enables
    /// the cosine term of reranking.
    pub fn load(
        dir: &Path,
        device: Device,
        decoding: &DecodingConfig,
        embedder: Option<&Path>,
    ) -> Result<Self, EngineError> {
        let kind = ModelSpec::read(dir)?.model;
        let (model, tokenizer_file) = match kind {
            ModelKind::Teacher(_) => {
                let m = load_model_dir(dir, device)?;
                let t = m.spec.tokenizer.clone();
                (Loaded::Teacher(Box::new(m)), Some(t))
            }
            ModelKind::Seed2(_) => (Loaded::Seed2(Box::new(load_seed2_dir(dir, device)?)), None),
            ModelKind::Student(_) => {
                let m = load_student_dir(dir, device, true)?;
                let t = m.spec.tokenizer.clone();
                (Loaded::Student(Box::new(m)), Some(t))
            }
        };
        let tokenizer = match tokenizer_file.map(|f| dir.join(f)) {
            Some(path) if path.is_file() => {
                Some(
                    Tokenizer::from_file(&path).map_err(|e| EngineError::Tokenizer {
                        path: path.clone(),
                        message: e.to_string(),
                    })?,
                )
            }
            _ => None,
        };
        let vocab_path = dir.join(VOCAB_FILE);
        let words = match &model {
            Loaded::Seed2(_) if vocab_path.is_file() => Some(read_vocab(&vocab_path)?),
            _ => None,
        };
        if tokenizer.is_none() && words.is_none() {
            tracing::warn!(
                message = "Model has no tokenizer; captions are printed as token ids.",
                dir = %dir.display()
            );
        }
        let embedder = embedder
            .map(|p| SentenceEmbedder::load(p, device))
            .transpose()?;
        if let Some(e) = &embedder {
            // The teacher and our student have audio embeddings trained against sentence
            // embeddings; the seed-2 release has none.
            let audio_dim = kind.clip_embed_dim();
            if audio_dim != e.dim() as i64 {
                return Err(EngineError::Config(format!(
                    "decoding.rerank.embedder {} gives {}-d vectors but the model's audio-text embedding is {}",
                    e.id(),
                    e.dim(),
                    if audio_dim == 0 { "absent".to_owned() } else { format!("{audio_dim}-d") }
                )));
            }
        }
        let mut decoding = decoding.clone();
        if let Some(p) = kind.max_positions().filter(|&p| decoding.max_length > p) {
            tracing::warn!(
                message = "decoding.max_length exceeds the model's positions; captions are limited to them.",
                max_length = decoding.max_length,
                positions = p
            );
            decoding.max_length = p;
        }
        let id = dir.file_name().map_or_else(
            || dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Captioner {
            model,
            words,
            id,
            tokenizer,
            embedder,
            decoding,
        })
    }

    /// The model's identifier (its directory name).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The sample rate windows must have.
    pub fn sample_rate(&self) -> u32 {
        match &self.model {
            Loaded::Teacher(m) => m.teacher.sample_rate() as u32,
            Loaded::Seed2(m) => m.student.sample_rate() as u32,
            Loaded::Student(m) => m.student.sample_rate() as u32,
        }
    }

    /// Shortest and longest window the model accepts, in samples.
    pub fn window_limits(&self) -> (usize, usize) {
        let limits = |e: &dyn AudioEncoder| {
            (
                e.min_window_samples() as usize,
                e.max_window_samples() as usize,
            )
        };
        match &self.model {
            Loaded::Teacher(m) => limits(&m.teacher),
            Loaded::Seed2(m) => limits(&m.student),
            Loaded::Student(m) => limits(&m.student),
        }
    }

    fn detokenize(&self, tokens: &[i64]) -> String {
        if let Some(words) = &self.words {
            let text: Vec<&str> = tokens
                .iter()
                .filter_map(|&t| words.get(t as usize))
                .map(String::as_str)
                .collect();
            return text.join(" ");
        }
        if let Some(tok) = &self.tokenizer {
            if let Ok(text) = crate::model::student_tokenizer::decode_caption(tok, tokens) {
                return normalize_caption(&text);
            }
        }
        let ids: Vec<String> = tokens.iter().map(i64::to_string).collect();
        format!("<ids {}>", ids.join(" "))
    }

    /// Captions windows of equal length (mono samples at [`Captioner::sample_rate`]).
    pub fn caption(
        &self,
        windows: &[&[f32]],
        seed: u64,
    ) -> Result<(Vec<Decided>, StageTimes), EngineError> {
        let (decided, times, _) = self.run(windows, seed)?;
        Ok((decided, times))
    }

    /// Captions windows and returns the model's clip embeddings from the same encoder pass,
    /// (B, E) on the CPU (`None` for models without one): a teacher's distillation targets.
    pub fn caption_and_embed(
        &self,
        windows: &[&[f32]],
        seed: u64,
    ) -> Result<(Vec<Decided>, Option<Tensor>), EngineError> {
        let (decided, _, embed) = self.run(windows, seed)?;
        Ok((decided, embed.map(|e| e.to_device(Device::Cpu))))
    }

    fn run(
        &self,
        windows: &[&[f32]],
        seed: u64,
    ) -> Result<(Vec<Decided>, StageTimes, Option<Tensor>), EngineError> {
        match &self.model {
            Loaded::Teacher(m) => self.caption_with(&m.teacher, m.teacher.device(), windows, seed),
            Loaded::Seed2(m) => self.caption_with(&m.student, m.student.device(), windows, seed),
            Loaded::Student(m) => self.caption_with(&m.student, m.vs.device(), windows, seed),
        }
    }

    fn caption_with<M: AudioEncoder + CaptionDecoder>(
        &self,
        model: &M,
        device: Device,
        windows: &[&[f32]],
        seed: u64,
    ) -> Result<(Vec<Decided>, StageTimes, Option<Tensor>), EngineError> {
        let _guard = tch::no_grad_guard();
        let len = windows.first().map_or(0, |w| w.len());
        if windows.iter().any(|w| w.len() != len) {
            return Err(EngineError::Config(
                "windows of one batch must have the same length".into(),
            ));
        }
        let flat: Vec<f32> = windows.iter().flat_map(|w| w.iter().copied()).collect();
        let waves = Tensor::from_slice(&flat)
            .view([windows.len() as i64, len as i64])
            .to_device(device);
        let mut times = StageTimes::default();
        let t0 = Instant::now();
        let memory = model.encode(&waves)?;
        times.encoder = t0.elapsed().as_secs_f64();

        let audio = self.embedder.as_ref().map(|e| e as &dyn TextEmbedder);
        let detok = |t: &[i64]| self.detokenize(t);
        let (decided, decode, rerank) =
            decide(model, &memory, &self.decoding, seed, &detok, audio)?;
        times.decode = decode;
        times.rerank = rerank;
        Ok((decided, times, memory.clip_embed))
    }
}

/// Candidates for every clip of `memory` by `decoding`'s strategy, reranked (cosine term
/// when `embedder` is given and the memory has clip embeddings); returns the decided
/// captions and the seconds spent decoding and reranking. Shared by the engine and
/// training's validation.
pub fn decide<M: CaptionDecoder>(
    model: &M,
    memory: &Memory,
    decoding: &DecodingConfig,
    seed: u64,
    detok: &dyn Fn(&[i64]) -> String,
    embedder: Option<&dyn TextEmbedder>,
) -> Result<(Vec<Decided>, f64, f64), EngineError> {
    let d = decoding;
    let limits = Limits::from_config(d);
    let bound = Bound::new(model, memory, d.max_length);
    let t1 = Instant::now();
    let candidates: Vec<Sequence> = match d.strategy {
        DecodingStrategy::Nucleus => {
            let params = SamplingParams {
                seed,
                ..SamplingParams::from_config(d)
            };
            sample(&bound, &limits, &params)?
        }
        DecodingStrategy::Beam => beam_search(&bound, &limits, &BeamParams::from_config(d))?
            .into_iter()
            .flat_map(|h| h.into_iter().map(|s| s.sequence))
            .collect(),
        DecodingStrategy::Greedy => greedy(&bound, &limits)?,
    };
    let decode = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let audio = match (embedder, &memory.clip_embed) {
        (Some(e), Some(a)) => Some((a, e)),
        _ => None,
    };
    let weights = RerankWeights::from_config(&d.rerank);
    let reranked = rerank(&bound, &candidates, detok, audio, weights, None)?;
    let rerank_s = t2.elapsed().as_secs_f64();
    Ok((
        reranked
            .into_iter()
            .map(|r| Decided {
                ranked: r.ranked,
                fluency_fallback: r.fluency_fallback,
            })
            .collect(),
        decode,
        rerank_s,
    ))
}

#[cfg(test)]
mod tests {
    use super::normalize_caption;

    #[test]
    fn captions_are_lower_cased_without_punctuation() {
        assert_eq!(
            normalize_caption(" A dog barks, then a CAR passes. "),
            "a dog barks then a car passes"
        );
        assert_eq!(normalize_caption("Rain -- heavy!"), "rain heavy");
        assert_eq!(normalize_caption("Ünïcode stays"), "ünïcode stays");
        assert_eq!(normalize_caption(""), "");
    }
}
