//! The model being trained: the network with its weights, tokenizer and spec
//! ([`Model`], built by [`build_model`] from a model directory or a new student), and the
//! cached caption embeddings InfoNCE pulls clip embeddings towards ([`TextTargets`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use tch::{nn, Device, Tensor};
use tokenizers::Tokenizer;

use super::cache::{clip_key, TensorCache};
use super::config::{TrainConfig, TrainKind};
use super::loss::IGNORE_INDEX;
use super::net::Net;
use soundscribe::decode::decide::normalize_caption;
use soundscribe::model::checkpoint::{
    write_weights, ModelKind, ModelSpec, FORMAT_VERSION, MODEL_WEIGHTS,
};
use soundscribe::model::load::{load_model_dir, load_student_dir};
use soundscribe::model::student::tokenizer::{
    decode_caption, load_tokenizer, special_tokens, train_bpe,
};
use soundscribe::model::student::Student;
use soundscribe::model::text::{SentenceEmbedder, TextEmbedder};
use soundscribe::model::traits::CaptionDecoder;

/// The tokenizer a run trains with.
pub const RUN_TOKENIZER: &str = "tokenizer.json";

/// The model being trained with what it needs around it.
pub struct Model {
    /// Owns every trained variable (and the KD heads under `kd.`).
    pub vs: nn::VarStore,
    /// The network.
    pub net: Net,
    /// Its tokenizer.
    pub tokenizer: Tokenizer,
    /// What to write as `model.json` (architecture; `source` is filled at export).
    pub spec: ModelSpec,
}

impl Model {
    /// Token ids of a caption followed by end-of-sequence, at most `max` long.
    pub fn encode_caption(&self, caption: &str, max: usize) -> anyhow::Result<Vec<i64>> {
        let enc = self
            .tokenizer
            .encode(normalize_caption(caption), false)
            .map_err(|e| anyhow!("cannot tokenize {caption:?}: {e}"))?;
        let eos = self.net.special_tokens().eos;
        let mut ids: Vec<i64> = enc.get_ids().iter().map(|&i| i64::from(i)).collect();
        ids.truncate(max.saturating_sub(1));
        ids.push(eos);
        Ok(ids)
    }

    /// Text of generated tokens, normalised as the engine does.
    pub fn detokenize(&self, tokens: &[i64]) -> String {
        normalize_caption(&decode_caption(&self.tokenizer, tokens).unwrap_or_default())
    }

    /// Longest caption in tokens (decoder positions).
    pub fn max_tokens(&self) -> usize {
        self.spec.model.max_positions().unwrap_or(30)
    }

    /// Decoder inputs and labels (−100 on padding) for captions of a batch.
    pub fn teacher_forcing(&self, captions: &[&str]) -> anyhow::Result<(Tensor, Tensor)> {
        let st = self.net.special_tokens();
        let max = self.max_tokens();
        let seqs: Vec<Vec<i64>> = captions
            .iter()
            .map(|c| self.encode_caption(c, max))
            .collect::<anyhow::Result<_>>()?;
        let len = seqs.iter().map(Vec::len).max().unwrap_or(1);
        let mut input = vec![st.pad; seqs.len() * len];
        let mut labels = vec![IGNORE_INDEX; seqs.len() * len];
        for (r, s) in seqs.iter().enumerate() {
            for (t, &id) in s.iter().enumerate() {
                input[r * len + t] = if t == 0 { st.decoder_start } else { s[t - 1] };
                labels[r * len + t] = id;
            }
        }
        let shape = [seqs.len() as i64, len as i64];
        Ok((
            Tensor::from_slice(&input).view(shape),
            Tensor::from_slice(&labels).view(shape),
        ))
    }

    /// Variables to export (the KD heads are training-only).
    pub fn export_tensors(&self) -> HashMap<String, Tensor> {
        self.vs
            .variables()
            .into_iter()
            .filter(|(n, _)| !n.starts_with("kd."))
            .collect()
    }

    /// Writes a model directory (`model.json`, `model.safetensors`, `tokenizer.json`).
    pub fn export(&self, dir: &Path, source: BTreeMap<String, String>) -> anyhow::Result<()> {
        let tmp = dir.with_extension("partial");
        let _ = std::fs::remove_dir_all(&tmp);
        write_weights(&tmp, &self.export_tensors())?;
        let mut spec = self.spec.clone();
        spec.source = source;
        spec.write(&tmp)?;
        let tok = tmp.join(&spec.tokenizer);
        self.tokenizer
            .save(&tok, false)
            .map_err(|e| anyhow!("{}: cannot write tokenizer: {e}", tok.display()))?;
        if dir.exists() {
            std::fs::remove_dir_all(dir)
                .with_context(|| format!("{}: cannot replace", dir.display()))?;
        }
        std::fs::rename(&tmp, dir).with_context(|| format!("{}: cannot write", dir.display()))?;
        Ok(())
    }
}

pub(super) fn file_identity(path: &Path) -> String {
    clip_key(path, None, None)
}

/// Builds the model of `cfg` on `device` (before any checkpoint is restored).
pub fn build_model(
    cfg: &TrainConfig,
    device: Device,
    run_dir: &Path,
    captions: &[String],
) -> anyhow::Result<(Model, String)> {
    tch::manual_seed(cfg.seed as i64);
    let m = &cfg.model;
    let run_tok = run_dir.join(RUN_TOKENIZER);
    match (m.kind, &m.init) {
        (TrainKind::Teacher, None) => bail!("model.init is required for the teacher"),
        (TrainKind::Teacher, Some(init)) => {
            let mut loaded = load_model_dir(init, device).context("model.init")?;
            loaded.vs.unfreeze(); // loaded for inference; every parameter trains unless frozen
            let tok_path = init.join(&loaded.spec.tokenizer);
            let tokenizer = Tokenizer::from_file(&tok_path).map_err(|e| {
                anyhow!(
                    "{}: the teacher's tokenizer is needed to train it: {e}",
                    tok_path.display()
                )
            })?;
            let id = file_identity(&init.join(MODEL_WEIGHTS));
            Ok((
                Model {
                    vs: loaded.vs,
                    net: Net::Teacher(Box::new(loaded.teacher)),
                    tokenizer,
                    spec: loaded.spec,
                },
                id,
            ))
        }
        (TrainKind::Student, Some(init)) => {
            let loaded = load_student_dir(init, device, false).context("model.init")?;
            let tokenizer = load_tokenizer(&init.join(&loaded.spec.tokenizer))?;
            let id = file_identity(&init.join(MODEL_WEIGHTS));
            Ok((
                Model {
                    vs: loaded.vs,
                    net: Net::Student(loaded.student),
                    tokenizer,
                    spec: loaded.spec,
                },
                id,
            ))
        }
        (TrainKind::Student, None) => {
            let mut vs = nn::VarStore::new(device);
            let tokenizer = if run_tok.is_file() {
                load_tokenizer(&run_tok)?
            } else if let Some(t) = &m.tokenizer {
                load_tokenizer(t)?
            } else {
                let norm: Vec<String> = captions.iter().map(|c| normalize_caption(c)).collect();
                train_bpe(norm.iter(), m.bpe_vocab_size, true)?
            };
            let special = special_tokens(&tokenizer).map_err(|e| anyhow!("tokenizer: {e}"))?;
            let arch = cfg.student_arch();
            let sc =
                TrainConfig::student_config(&arch, tokenizer.get_vocab_size(true) as i64, special);
            let student = Student::new(vs.root(), &sc, device)?;
            let aisfx = m
                .aisfx
                .as_ref()
                .ok_or_else(|| anyhow!("model.aisfx is required"))?;
            crate::convert::aisfx::load_aisfx_into(&mut vs, "encoder.cnn", aisfx)?;
            let spec = ModelSpec {
                format_version: FORMAT_VERSION,
                sample_rate: soundscribe::features::aisfx_mel::SAMPLE_RATE,
                min_window_samples: soundscribe::features::aisfx_mel::HOP_LENGTH,
                max_window_samples: sc.max_window_samples,
                tokenizer: RUN_TOKENIZER.to_owned(),
                source: BTreeMap::new(),
                model: ModelKind::Student(sc),
            };
            let id = file_identity(&aisfx.join(crate::convert::aisfx::AISFX_WEIGHTS));
            Ok((
                Model {
                    vs,
                    net: Net::Student(student),
                    tokenizer,
                    spec,
                },
                id,
            ))
        }
    }
}

/// Marks frozen variables; returns the ones that train by name (buffers such as
/// BatchNorm running statistics never require gradients and are left out).
pub(super) fn trainable(vs: &nn::VarStore, freeze: &[String]) -> BTreeMap<String, Tensor> {
    let mut out = BTreeMap::new();
    for (name, var) in vs.variables() {
        if freeze.iter().any(|p| name.starts_with(p.as_str())) {
            let _ = var.set_requires_grad(false);
        } else if var.requires_grad() {
            out.insert(name, var);
        }
    }
    out
}

/// Caption embeddings for InfoNCE, cached on disk by embedder and text.
pub struct TextTargets {
    embedder: SentenceEmbedder,
    cache: TensorCache,
    memo: HashMap<String, Tensor>,
}

impl TextTargets {
    /// Loads the embedder; entries live in `cache_dir/text/`.
    pub fn new(dir: &Path, device: Device, cache_dir: &Path) -> anyhow::Result<Self> {
        let embedder = SentenceEmbedder::load(dir, device)?;
        Ok(TextTargets {
            embedder,
            cache: TensorCache::new(cache_dir.join("text")),
            memo: HashMap::new(),
        })
    }

    /// The sentence embedder (for reranking during validation).
    pub fn embedder(&self) -> &SentenceEmbedder {
        &self.embedder
    }

    /// Width of the embeddings.
    pub fn dim(&self) -> usize {
        self.embedder.dim()
    }

    fn key(&self, text: &str) -> String {
        format!("{}\u{0}{text}", self.embedder.id())
    }

    /// Embeds every text not yet cached (in batches of 64); returns how many were new.
    pub fn warm(&mut self, texts: &[String]) -> anyhow::Result<usize> {
        let mut todo: Vec<String> = Vec::new();
        let mut queued: HashSet<&str> = HashSet::new();
        for t in texts {
            if self.memo.contains_key(t) {
                continue;
            }
            if let Some(v) = self
                .cache
                .get(&self.key(t))
                .and_then(|m| m.get("v").map(Tensor::shallow_clone))
            {
                self.memo.insert(t.clone(), v);
            } else if queued.insert(t) {
                todo.push(t.clone());
            }
        }
        let new = todo.len();
        for chunk in todo.chunks(64) {
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let _g = tch::no_grad_guard();
            let e = self.embedder.embed(&refs)?.to_device(Device::Cpu);
            for (i, t) in chunk.iter().enumerate() {
                let v = e.get(i as i64);
                self.cache
                    .put(&self.key(t), &[("v", &v)])
                    .with_context(|| {
                        format!(
                            "{}: cannot write the text-embedding cache",
                            self.cache.dir().display()
                        )
                    })?;
                self.memo.insert(t.clone(), v);
            }
        }
        Ok(new)
    }

    /// (B, E) embeddings of `texts` (embedding any that are new).
    pub fn get(&mut self, texts: &[&str]) -> anyhow::Result<Tensor> {
        let owned: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
        self.warm(&owned)?;
        Ok(Tensor::stack(
            &owned
                .iter()
                .map(|t| self.memo[t].shallow_clone())
                .collect::<Vec<_>>(),
            0,
        ))
    }
}
