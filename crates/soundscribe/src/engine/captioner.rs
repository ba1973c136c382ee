//! A loaded captioning model with its decoding policy: a batch of windows in, one decided
//! caption per window out, with the time each stage took.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tch::{Device, Tensor};
use tokenizers::Tokenizer;

use crate::config::DecodingConfig;
use crate::decode::decide::{decide, normalize_caption, DecideError};
use crate::decode::rerank::{Ranked, RerankError, Reranked};
use crate::model::load::{read_vocab, AnyModel, ModelVisitor, VOCAB_FILE};
use crate::model::text::{SentenceEmbedder, TextEmbedder, TextEmbedderError};
use crate::model::traits::{AudioEncoder, CaptionDecoder};
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

impl From<DecideError> for EngineError {
    fn from(e: DecideError) -> Self {
        match e {
            DecideError::Model(e) => EngineError::Model(e),
            DecideError::Rerank(e) => EngineError::Rerank(e),
        }
    }
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

/// A model directory loaded for inference, with tokenizer, optional sentence embedder and
/// the decoding settings.
pub struct Captioner {
    model: AnyModel,
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
        let model = AnyModel::load(dir, device)?;
        let kind = model.spec().model.clone();
        let tokenizer_file = model.tokenizer_file().map(str::to_owned);
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
            AnyModel::Seed2(_) if vocab_path.is_file() => Some(read_vocab(&vocab_path)?),
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
        self.model.encoder().sample_rate() as u32
    }

    /// Shortest and longest window the model accepts, in samples.
    pub fn window_limits(&self) -> (usize, usize) {
        let e = self.model.encoder();
        (
            e.min_window_samples() as usize,
            e.max_window_samples() as usize,
        )
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
            if let Ok(text) = crate::model::student::tokenizer::decode_caption(tok, tokens) {
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
    ) -> Result<(Vec<Reranked>, StageTimes), EngineError> {
        let (decided, times, _) = self.run(windows, seed)?;
        Ok((decided, times))
    }

    /// Captions windows and returns the model's clip embeddings from the same encoder pass,
    /// (B, E) on the CPU (`None` for models without one): a teacher's distillation targets.
    pub fn caption_and_embed(
        &self,
        windows: &[&[f32]],
        seed: u64,
    ) -> Result<(Vec<Reranked>, Option<Tensor>), EngineError> {
        let (decided, _, embed) = self.run(windows, seed)?;
        Ok((decided, embed.map(|e| e.to_device(Device::Cpu))))
    }

    fn run(
        &self,
        windows: &[&[f32]],
        seed: u64,
    ) -> Result<(Vec<Reranked>, StageTimes, Option<Tensor>), EngineError> {
        let (decided, times, embed) = self.model.visit(CaptionBatch {
            captioner: self,
            windows,
            seed,
        })?;
        let finite = |r: &Ranked| r.score.is_finite() && r.nll.is_finite();
        if let Some(bad) = decided.iter().flat_map(|d| &d.ranked).find(|r| !finite(r)) {
            return Err(EngineError::Model(ModelError::NonFinite(format!(
                "model {}: non-finite output (score {}, log-likelihood {}); its weights are \
                 corrupt or of the wrong type, no caption can be trusted",
                self.id, bad.score, -bad.nll
            ))));
        }
        Ok((decided, times, embed))
    }
}

/// One batch of windows through the concrete model: encode, decide, time each stage.
struct CaptionBatch<'a> {
    captioner: &'a Captioner,
    windows: &'a [&'a [f32]],
    seed: u64,
}

impl ModelVisitor for CaptionBatch<'_> {
    type Output = Result<(Vec<Reranked>, StageTimes, Option<Tensor>), EngineError>;

    fn visit<M: AudioEncoder + CaptionDecoder>(self, model: &M, device: Device) -> Self::Output {
        let CaptionBatch {
            captioner,
            windows,
            seed,
        } = self;
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
        let finite = memory
            .states
            .isfinite()
            .all()
            .to_kind(tch::Kind::Int64)
            .int64_value(&[]);
        if finite != 1 {
            return Err(EngineError::Model(ModelError::NonFinite(format!(
                "model {}: the encoder computed non-finite values (NaN or infinity); its \
                 weights are corrupt or of the wrong type, no caption can be trusted",
                captioner.id
            ))));
        }

        let audio = captioner.embedder.as_ref().map(|e| e as &dyn TextEmbedder);
        let detok = |t: &[i64]| captioner.detokenize(t);
        let (decided, decode, rerank) =
            decide(model, &memory, &captioner.decoding, seed, &detok, audio)?;
        times.decode = decode;
        times.rerank = rerank;
        Ok((decided, times, memory.clip_embed))
    }
}
