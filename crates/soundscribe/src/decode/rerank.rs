//! Hybrid reranking (seed 1): `llh_weight·(−NLL) + cosine_weight·cos(audio, text)`.
//!
//! NLL is the candidate's mean token cross-entropy under the model, teacher-forced with
//! end-of-sequence included (the seed's `decoder_rerank`); the cosine compares the model's
//! audio embedding with the sentence embedding of the candidate's text. Candidates are
//! deduplicated by text first. A fluency filter may reject candidates; if it rejects all of
//! them, the best-scored one is kept and flagged (the seed crashes there).

use std::collections::HashSet;

use tch::{Kind, Tensor};

use super::{to_vec_f64, Sequence, StepModel};
use crate::model::text::{TextEmbedder, TextEmbedderError};
use crate::model::ModelError;

/// Sequences per teacher-forced batch when computing NLL (bounds logits memory).
const NLL_CHUNK: usize = 32;

/// Weights of the hybrid score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RerankWeights {
    /// Weight of −NLL.
    pub llh: f64,
    /// Weight of the audio–text cosine.
    pub cosine: f64,
}

impl RerankWeights {
    /// Weights from the `[decoding.rerank]` config.
    pub fn from_config(cfg: &crate::config::RerankConfig) -> Self {
        RerankWeights {
            llh: cfg.llh_weight,
            cosine: cfg.cosine_weight,
        }
    }
}

/// One scored candidate caption.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// Caption text.
    pub text: String,
    /// Its tokens (no start, no end-of-sequence).
    pub tokens: Vec<i64>,
    /// Mean token cross-entropy, end-of-sequence included.
    pub nll: f64,
    /// Cosine between audio and text embeddings, when an embedder is used.
    pub cosine: Option<f64>,
    /// The hybrid score.
    pub score: f64,
}

/// The reranked candidates of one clip.
#[derive(Debug, Clone, PartialEq)]
pub struct Reranked {
    /// Every distinct candidate, best first (fluent ones before rejected ones).
    pub ranked: Vec<Ranked>,
    /// The fluency filter rejected every candidate; `ranked[0]` is the best of them anyway.
    pub fluency_fallback: bool,
}

/// Why reranking failed.
#[derive(Debug, thiserror::Error)]
pub enum RerankError {
    /// The captioning model failed.
    #[error("reranking: {0}")]
    Model(#[from] ModelError),
    /// The sentence embedder failed.
    #[error("reranking: {0}")]
    Embedder(#[from] TextEmbedderError),
    /// Audio and text embeddings differ in width.
    #[error("reranking: audio embeddings are {audio}-d but the text embedder {embedder} gives {text}-d vectors")]
    DimensionMismatch {
        /// Audio embedding width.
        audio: i64,
        /// Text embedding width.
        text: i64,
        /// The embedder's id.
        embedder: String,
    },
}

/// Length-normalised NLL of each `(clip, tokens)` under the model, teacher-forced, batched.
pub fn nll<M: StepModel>(
    model: &M,
    candidates: &[(usize, &[i64])],
) -> Result<Vec<f64>, ModelError> {
    let device = model.device();
    let (start, eos, pad) = (model.start_token(), model.eos_token(), model.pad_token());
    let mut out = Vec::with_capacity(candidates.len());
    let _guard = tch::no_grad_guard();
    for chunk in candidates.chunks(NLL_CHUNK) {
        let len = chunk.iter().map(|(_, t)| t.len() + 1).max().unwrap_or(1);
        let mut inputs = vec![pad; chunk.len() * len];
        let mut labels = vec![-100i64; chunk.len() * len];
        for (r, (_, toks)) in chunk.iter().enumerate() {
            inputs[r * len] = start;
            inputs[r * len + 1..r * len + 1 + toks.len()].copy_from_slice(toks);
            labels[r * len..r * len + toks.len()].copy_from_slice(toks);
            labels[r * len + toks.len()] = eos;
        }
        let shape = [chunk.len() as i64, len as i64];
        let inputs = Tensor::from_slice(&inputs).view(shape).to_device(device);
        let labels = Tensor::from_slice(&labels).view(shape).to_device(device);
        let rows: Vec<usize> = chunk.iter().map(|(c, _)| *c).collect();
        let logits = model.logits(&rows, &inputs)?.to_kind(Kind::Float);
        let logprobs = logits.log_softmax(-1, Kind::Float);
        let valid = labels.ne(-100);
        let picked = logprobs
            .gather(2, &labels.clamp_min(0).unsqueeze(2), false)
            .squeeze_dim(2);
        let token_nll = -(picked * valid.to_kind(Kind::Float));
        let per_seq = token_nll.sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
            / valid.sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
        out.extend(to_vec_f64(&per_seq));
    }
    Ok(out)
}

/// Reranks the candidates of every clip.
///
/// `detokenize` turns tokens into text; `audio_embeddings` (clips × D) and `embedder`
/// enable the cosine term (without them the score is `llh_weight·(−NLL)`); `fluent`, when
/// given, says whether a caption is acceptable.
pub fn rerank<M: StepModel>(
    model: &M,
    candidates: &[Sequence],
    detokenize: &dyn Fn(&[i64]) -> String,
    audio: Option<(&Tensor, &dyn TextEmbedder)>,
    weights: RerankWeights,
    fluent: Option<&dyn Fn(&str) -> bool>,
) -> Result<Vec<Reranked>, RerankError> {
    let clips = model.num_clips() as usize;
    // Deduplicate by text within each clip, keeping the first occurrence.
    let mut distinct: Vec<(usize, String, &[i64])> = Vec::new();
    let mut seen: HashSet<(usize, String)> = HashSet::new();
    for c in candidates {
        let text = detokenize(&c.tokens).trim().to_owned();
        if seen.insert((c.clip, text.clone())) {
            distinct.push((c.clip, text, &c.tokens));
        }
    }
    let pairs: Vec<(usize, &[i64])> = distinct.iter().map(|(c, _, t)| (*c, *t)).collect();
    let nlls = nll(model, &pairs)?;
    let cosines = match audio {
        Some((audio_emb, embedder)) => {
            let texts: Vec<&str> = distinct.iter().map(|(_, t, _)| t.as_str()).collect();
            Some(cosine(audio_emb, embedder, &texts, &pairs)?)
        }
        None => None,
    };
    let mut per_clip: Vec<Vec<(Ranked, bool)>> = vec![Vec::new(); clips];
    for (i, (clip, text, tokens)) in distinct.into_iter().enumerate() {
        let cos = cosines.as_ref().map(|c| c[i]);
        let score = weights.llh * -nlls[i] + cos.map_or(0.0, |c| weights.cosine * c);
        let ok = fluent.is_none_or(|f| f(&text));
        per_clip[clip].push((
            Ranked {
                text,
                tokens: tokens.to_vec(),
                nll: nlls[i],
                cosine: cos,
                score,
            },
            ok,
        ));
    }
    Ok(per_clip
        .into_iter()
        .map(|mut ranked| {
            ranked.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.score.total_cmp(&a.0.score)));
            let fluency_fallback = !ranked.is_empty() && !ranked.iter().any(|(_, ok)| *ok);
            if fluency_fallback {
                ranked.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
            }
            Reranked {
                ranked: ranked.into_iter().map(|(r, _)| r).collect(),
                fluency_fallback,
            }
        })
        .collect())
}

/// cos(audio embedding of the candidate's clip, text embedding of the candidate).
fn cosine(
    audio: &Tensor,
    embedder: &dyn TextEmbedder,
    texts: &[&str],
    pairs: &[(usize, &[i64])],
) -> Result<Vec<f64>, RerankError> {
    let text = embedder.embed(texts)?.to_kind(Kind::Float);
    let (audio_dim, text_dim) = (audio.size()[1], embedder.dim() as i64);
    if audio_dim != text_dim {
        return Err(RerankError::DimensionMismatch {
            audio: audio_dim,
            text: text_dim,
            embedder: embedder.id().to_owned(),
        });
    }
    let rows = Tensor::from_slice(&pairs.iter().map(|(c, _)| *c as i64).collect::<Vec<_>>())
        .to_device(audio.device());
    let a = crate::model::text::l2_normalize(&audio.to_kind(Kind::Float).index_select(0, &rows));
    let t = crate::model::text::l2_normalize(&text.to_device(audio.device()));
    Ok(to_vec_f64(&(a * t).sum_dim_intlist(
        [1i64].as_slice(),
        false,
        Kind::Float,
    )))
}
