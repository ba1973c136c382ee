//! `soundscribe train` / `distill`: the training loop.
//!
//! Set-up builds the model (from a model directory, or a new student on the converted
//! aisfx encoder), the tokenizer (supplied or a byte-level BPE trained on the captions),
//! the caption-embedding cache for InfoNCE, the frozen-encoder feature cache when it is
//! valid, and the teacher targets when distilling. Each update then takes `accumulation`
//! micro-batches: encode every clip, pad the memories, teacher-forced cross-entropy with
//! label smoothing + α·InfoNCE (+ the KD terms), backward; then gradient clipping and one
//! AdamW step on the warmup-cosine schedule. Every micro-batch's data are a function of
//! the seed and its index alone ([`super::loader::Plan`]), so a resumed run continues
//! exactly. Checkpoints, validation with decoding and caption metrics, the best and the
//! final model directories, a JSONL log and a progress bar complete the run.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use tch::{nn, Device, Kind, Tensor};
use tokenizers::Tokenizer;

use super::cache::{clip_key, TensorCache};
use super::checkpoint::{load as load_checkpoint, Checkpoints, TrainState};
use super::config::{DataSource, TrainConfig, TrainKind};
use super::distill::{Distiller, TeacherTargets};
use super::loader::{prefetch, Mixup, Plan, Sample};
use super::log::RunLog;
use super::loss::{info_nce, smoothed_cross_entropy, IGNORE_INDEX};
use super::net::{ClipFeatures, Net};
use super::optim::{AdamW, AdamWConfig, WarmupCosine};
use super::validate::{validate, ValResult};
use crate::augment::mixup::MixCaptioner;
use crate::dataset::manifest::{Dataset, Item};
use soundscribe::decode::decide::normalize_caption;
use soundscribe::model::checkpoint::{
    copy_into, write_weights, ModelKind, ModelSpec, FORMAT_VERSION, MODEL_WEIGHTS,
};
use soundscribe::model::load::{load_model_dir, load_student_dir};
use soundscribe::model::student::tokenizer::{
    decode_caption, load_tokenizer, special_tokens, train_bpe,
};
use soundscribe::model::student::Student;
use soundscribe::model::text::{SentenceEmbedder, TextEmbedder};
use soundscribe::model::traits::CaptionDecoder;

/// Options of one invocation (not part of the run's configuration).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Continue from the newest checkpoint in the run directory.
    pub resume: bool,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Stop after this many updates of this invocation (tests: simulate an interruption).
    pub stop_after: Option<u64>,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Updates completed in total.
    pub step: u64,
    /// The final model directory.
    pub final_dir: PathBuf,
    /// The best model directory by the chosen metric, if validation ran.
    pub best_dir: Option<PathBuf>,
    /// Every validation, in order.
    pub validations: Vec<ValResult>,
    /// Whether frozen-encoder outputs were cached.
    pub encoder_cache: bool,
}

/// File names inside a run directory.
pub const RUN_CONFIG: &str = "config.json";
/// The tokenizer a run trains with.
pub const RUN_TOKENIZER: &str = "tokenizer.json";

/// Reads every configured set into one list, refusing sets with too many missing files.
pub fn read_sets(sources: &[DataSource], max_missing: f64) -> anyhow::Result<Vec<Item>> {
    let mut items = Vec::new();
    for s in sources {
        let ds = match s {
            DataSource::Jsonl { path } => Dataset::jsonl(path),
            DataSource::Clotho { csv, audio_dir } => Dataset::clotho(csv, audio_dir),
            DataSource::Audiocaps { csv, audio_dir } => Dataset::audiocaps(csv, audio_dir),
            DataSource::Folder { path } => Dataset::audio_folder(path),
        }?;
        for m in ds.missing.iter().take(20) {
            tracing::warn!(message = "Missing audio file.", index = %s.index().display(), file = %m.display());
        }
        if !ds.missing.is_empty() {
            tracing::warn!(
                message = "Audio files missing from a training set.",
                index = %s.index().display(),
                missing = ds.missing.len(),
                found = ds.items.len()
            );
        }
        ds.check_missing(s.index(), max_missing)?;
        items.extend(ds.items);
    }
    Ok(items)
}

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

fn file_identity(path: &Path) -> String {
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
fn trainable(vs: &nn::VarStore, freeze: &[String]) -> BTreeMap<String, Tensor> {
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

/// Runs training (and distillation when `cfg.distill` is set) into `run_dir`.
pub fn run(cfg: &TrainConfig, run_dir: &Path, opts: &RunOptions) -> anyhow::Result<RunSummary> {
    let device = soundscribe::engine::device::select(&soundscribe::config::ModelConfig {
        device: cfg.device.clone(),
        intra_op_threads: cfg.threads,
        ..Default::default()
    })?;
    std::fs::create_dir_all(run_dir)
        .with_context(|| format!("{}: cannot create", run_dir.display()))?;
    let ckpts = Checkpoints::new(run_dir.join("checkpoints"), cfg.checkpoint.keep_last);
    let latest = ckpts.latest()?;
    let config_json = serde_json::to_value(cfg)?;
    let config_path = run_dir.join(RUN_CONFIG);
    match (&latest, opts.resume) {
        (Some(dir), false) => bail!(
            "{}: the run directory already has checkpoints ({}); pass --resume to continue it or choose a new directory",
            run_dir.display(),
            dir.display()
        ),
        (_, true) if config_path.is_file() => {
            let old: serde_json::Value = serde_json::from_slice(&std::fs::read(&config_path)?)
                .with_context(|| format!("{}: unreadable", config_path.display()))?;
            if old != config_json {
                bail!("{}: the configuration differs from the one this run started with; resume with the same configuration", config_path.display());
            }
        }
        _ => {}
    }
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config_json)?)?;
    let cache_dir = cfg
        .data
        .cache_dir
        .clone()
        .unwrap_or_else(|| run_dir.join("cache"));

    let train_items = read_sets(&cfg.data.train, cfg.data.max_missing)?;
    let val_items = read_sets(&cfg.data.val, cfg.data.max_missing)?;
    if train_items.is_empty() {
        bail!(
            "no training clips found in {:?}",
            cfg.data
                .train
                .iter()
                .map(|s| s.index().display().to_string())
                .collect::<Vec<_>>()
        );
    }
    tracing::info!(
        message = "Data read.",
        train = train_items.len(),
        val = val_items.len()
    );

    // Teacher targets first: their pseudo-captions also train the student's tokenizer.
    let mut targets: Option<TeacherTargets> = None;
    if let Some(d) = &cfg.distill {
        let all: Vec<Item> = train_items
            .iter()
            .chain(val_items.iter())
            .cloned()
            .collect();
        targets = Some(TeacherTargets::compute(
            d,
            &all,
            device,
            &cache_dir,
            opts.progress,
        )?);
    }
    let captions: Vec<String> = train_items
        .iter()
        .flat_map(|i| i.captions.iter().cloned())
        .collect();
    let pseudo: Vec<String> = targets
        .iter()
        .flat_map(|t| t.pseudo_captions().map(str::to_owned))
        .collect();
    let (model, encoder_id) = build_model(
        cfg,
        device,
        run_dir,
        &[captions.as_slice(), &pseudo].concat(),
    )?;
    let tok_path = run_dir.join(RUN_TOKENIZER);
    if !tok_path.is_file() {
        model
            .tokenizer
            .save(&tok_path, false)
            .map_err(|e| anyhow!("{}: cannot write: {e}", tok_path.display()))?;
    }
    let mut freeze = cfg.model.freeze.clone();
    if matches!(model.net, Net::Teacher(_))
        && !freeze.iter().any(|f| "encoder.".starts_with(f.as_str()))
    {
        freeze.push("encoder.".to_owned()); // BEATs stays frozen, as in the seed
    }
    let distiller = match (&cfg.distill, &targets) {
        (Some(d), Some(t)) => Some(Distiller::new(&model, d, t.dim())?),
        _ => None,
    };
    let params = trainable(&model.vs, &freeze);
    let n_params: i64 = params.values().map(|t| t.numel() as i64).sum();
    let mut opt = AdamW::new(
        params,
        AdamWConfig {
            weight_decay: cfg.optim.weight_decay,
            ..Default::default()
        },
    );
    let schedule = WarmupCosine {
        peak: cfg.optim.lr,
        floor: 0.0,
        warmup: cfg.optim.warmup_steps,
        total: cfg.optim.max_steps,
    };

    // Caption embeddings for InfoNCE.
    let mut text = match (&cfg.loss.text_embedder, cfg.loss.infonce_weight > 0.0) {
        (Some(dir), true) => {
            let mut t = TextTargets::new(dir, device, &cache_dir)?;
            let clip_dim = model.spec.model.clip_embed_dim();
            if clip_dim != t.dim() as i64 {
                bail!("loss.text_embedder gives {}-d vectors but the model's clip embedding is {clip_dim}-d", t.dim());
            }
            let norm: Vec<String> = captions.iter().map(|c| normalize_caption(c)).collect();
            let new = t.warm(&norm)?;
            tracing::info!(message = "Caption embeddings ready.", captions = norm.len(), computed = new, cache = %cache_dir.join("text").display());
            Some(t)
        }
        _ => None,
    };

    // Frozen-encoder cache: only for a student whose CNN is frozen and no audio-side
    // augmentation is on.
    let cnn_frozen = model
        .vs
        .variables()
        .iter()
        .filter(|(n, _)| n.starts_with("encoder.cnn."))
        .all(|(_, t)| !t.requires_grad());
    let use_cache = cfg.data.encoder_cache
        && matches!(model.net, Net::Student(_))
        && cnn_frozen
        && !cfg.augment.any();
    let why = if use_cache {
        "frozen CNN, no audio-side augmentation"
    } else if !cfg.data.encoder_cache {
        "disabled in the config"
    } else if !matches!(model.net, Net::Student(_)) {
        "only the student's CNN outputs are cached"
    } else if !cnn_frozen {
        "the encoder is trained"
    } else {
        "audio-side augmentation is on"
    };
    tracing::info!(
        message = "Encoder output cache.",
        used = use_cache,
        reason = why
    );

    let (min_samples, max_model) = model.net.window_limits();
    let rate = model.net.sample_rate();
    let max_samples = ((cfg.data.max_window_s * f64::from(rate)) as usize).min(max_model);
    let mixup = (cfg.augment.mixup_prob > 0.0)
        .then(|| -> anyhow::Result<Mixup> {
            let mut captioner = match &cfg.augment.mix_captions {
                Some(p) => MixCaptioner::from_jsonl(p)?,
                None => MixCaptioner::default(),
            };
            if let Some(e) = &cfg.augment.mix_endpoint {
                std::fs::create_dir_all(&cache_dir)?;
                let path = cache_dir.join("mix-endpoint.jsonl");
                let endpoint = crate::augment::mix_llm::MixEndpoint::new(e, &path)?;
                captioner = captioner.with_endpoint(Arc::new(endpoint));
            }
            Ok(Mixup {
                prob: cfg.augment.mixup_prob,
                max_db: cfg.augment.mixup_max_db,
                captioner: Arc::new(captioner),
            })
        })
        .transpose()?;
    let plan = Arc::new(Plan {
        items: Arc::new(train_items.clone()),
        seed: cfg.seed,
        batch: cfg.optim.batch_size,
        rate,
        max_samples: if use_cache { usize::MAX } else { max_samples },
        min_samples,
        mixup,
        workers: cfg.data.workers,
    });
    let feature_cache = TensorCache::new(cache_dir.join("encoder"));
    let cache = use_cache.then_some((&feature_cache, encoder_id.as_str()));
    let cached: Option<Vec<ClipFeatures>> = if use_cache {
        Some(clip_features_all(
            &model.net,
            &plan,
            max_model,
            cache,
            opts.progress,
        )?)
    } else {
        None
    };
    // Only the clips validation scores are encoded.
    let val_plan = Plan {
        items: Arc::new(val_items[..cfg.validate.clips(val_items.len())].to_vec()),
        max_samples,
        ..(*plan).clone()
    };
    // Validation features that stop at the frozen CNN (a student's aisfx steps) are computed
    // once; any others pass through weights being trained (the teacher's Conformer, a
    // trained CNN), so they are computed afresh at each validation, or the score would mix
    // the starting encoder with the trained decoder. Cached features cover up to the model's
    // longest window (the cache is shared with training, which crops in memory steps);
    // uncached clips are cut to the training window.
    let val_limit = if use_cache { max_model } else { max_samples };
    let val_features_fixed = matches!(model.net, Net::Student(_)) && cnn_frozen;
    let fixed_val_features: Option<Vec<ClipFeatures>> =
        if val_plan.items.is_empty() || !val_features_fixed {
            None
        } else {
            Some(clip_features_all(
                &model.net, &val_plan, val_limit, cache, false,
            )?)
        };

    // Resume.
    let mut step = 0u64;
    let mut metrics = BTreeMap::new();
    if opts.resume {
        if let Some(dir) = &latest {
            let ck = load_checkpoint(dir)?;
            copy_into(&model.vs, &ck.model.into_iter().collect(), dir)?;
            opt.load_state(&ck.optimizer, ck.state.step)
                .map_err(|p| anyhow!("{}: optimizer state: {}", dir.display(), p.join("; ")))?;
            step = ck.state.step;
            metrics = ck.state.metrics;
            tracing::info!(message = "Resumed.", checkpoint = %dir.display(), step);
        }
    }

    let mut log = RunLog::open(run_dir, opts.progress, cfg.optim.max_steps, step)?;
    log.note(&format!(
        "{} clips, {} per epoch-batch × {} micro-batches per update, {} trainable parameters, encoder cache {}",
        train_items.len(), plan.batch_len(), cfg.optim.accumulation, n_params, if use_cache { "on" } else { "off" }
    ));
    let accum = cfg.optim.accumulation as u64;
    let per_epoch_updates = (plan.batches_per_epoch() / accum).max(1);
    let every_val = if cfg.validate.every_steps > 0 {
        cfg.validate.every_steps
    } else {
        per_epoch_updates
    };
    let end = match opts.stop_after {
        Some(n) => (step + n).min(cfg.optim.max_steps),
        None => cfg.optim.max_steps,
    };
    let rx = if cached.is_none() {
        Some(prefetch(plan.clone(), step * accum, end * accum, 2))
    } else {
        None
    };
    let mut validations = Vec::new();
    let mut best: Option<f64> = metrics.get("best").copied();
    let best_dir = run_dir.join("best");
    let autocast = device.is_cuda() && cfg.optim.precision != super::config::Precision::Fp32;
    if autocast && cfg.optim.precision == super::config::Precision::Fp16 {
        tracing::warn!(message = "fp16 autocast runs without a gradient scaler; prefer bf16.");
    }
    let t_start = Instant::now();
    let mut clips_done = 0usize;

    let run_validation =
        |text: Option<&mut TextTargets>, step: u64| -> anyhow::Result<Option<ValResult>> {
            if val_plan.items.is_empty() {
                return Ok(None);
            }
            let fresh;
            let feats = match &fixed_val_features {
                Some(f) => f,
                None => {
                    fresh = clip_features_all(&model.net, &val_plan, val_limit, cache, false)?;
                    &fresh
                }
            };
            let v = validate(
                &model,
                &val_plan.items,
                feats,
                cfg,
                text,
                distiller.as_ref(),
                targets.as_ref(),
                step,
            )?;
            Ok(Some(v))
        };
    if step == 0 && cfg.validate.at_start {
        if let Some(v) = run_validation(text.as_mut(), 0)? {
            log.val(&v)?;
            validations.push(v);
        }
    }
    while step < end {
        let mut parts: BTreeMap<&'static str, f64> = BTreeMap::new();
        for k in 0..accum {
            let m = step * accum + k;
            let samples: Vec<Sample> = match (&cached, &rx) {
                (Some(_), _) => cached_samples(&plan, m),
                (None, Some(rx)) => {
                    let (got, batch) = rx.recv().map_err(|_| anyhow!("the data loader stopped"))?;
                    debug_assert_eq!(got, m);
                    batch?
                }
                (None, None) => unreachable!("a loader exists whenever features are not cached"),
            };
            let feats: Vec<ClipFeatures> =
                match &cached {
                    Some(all) => samples
                        .iter()
                        .enumerate()
                        .map(|(slot, s)| {
                            crop_cached(
                                &all[s.item],
                                &plan,
                                &model.net,
                                cfg.data.max_window_s,
                                (m, slot, s.item),
                            )
                        })
                        .collect(),
                    None => {
                        let mut v = Vec::with_capacity(samples.len());
                        for (slot, s) in samples.iter().enumerate() {
                            let mut rng = super::loader::rng_for(cfg.seed ^ 0x5bec, m, slot as u64);
                            let aug = cfg.augment.specaugment.as_ref().map(|sa| (sa, &mut rng));
                            v.push(model.net.clip_features(&s.wave, aug).with_context(|| {
                                format!("{}", plan.items[s.item].audio.display())
                            })?);
                        }
                        v
                    }
                };
            clips_done += samples.len();
            let loss = tch::autocast(autocast, || -> anyhow::Result<Tensor> {
                micro_batch_loss(
                    &model,
                    &feats,
                    &samples,
                    &plan.items,
                    cfg,
                    text.as_mut(),
                    distiller.as_ref(),
                    targets.as_ref(),
                    &mut parts,
                )
            })?;
            (loss / accum as f64).backward();
        }
        let grad_norm = if cfg.optim.clip_grad_norm > 0.0 {
            opt.clip_grad_norm(cfg.optim.clip_grad_norm)
        } else {
            f64::NAN
        };
        let lr = schedule.lr(step);
        opt.step(lr);
        opt.zero_grad();
        step += 1;
        let epoch = step * accum / plan.batches_per_epoch();
        for v in parts.values_mut() {
            *v /= accum as f64;
        }
        if step.is_multiple_of(cfg.checkpoint.log_every) || step == end {
            let secs = t_start.elapsed().as_secs_f64();
            log.train(
                step,
                epoch,
                lr,
                grad_norm,
                &parts,
                clips_done as f64 / secs.max(1e-9),
            )?;
        }
        log.tick(step, parts.get("loss").copied().unwrap_or(f64::NAN));
        let validate_now = !val_plan.items.is_empty()
            && (step.is_multiple_of(every_val) || step == cfg.optim.max_steps);
        let val = if validate_now {
            run_validation(text.as_mut(), step)?
        } else {
            None
        };
        if let Some(v) = val {
            log.val(&v)?;
            let score = v.selection_score(&cfg.validate.metric);
            if best.is_none_or(|b| score > b) {
                best = Some(score);
                model.export(&best_dir, source(cfg, step, Some(&v)))?;
            }
            metrics = v.metrics.clone();
            validations.push(v);
        }
        if let Some(b) = best {
            metrics.insert("best".to_owned(), b);
        }
        if step.is_multiple_of(cfg.checkpoint.every_steps) || step == end {
            let mut tensors: Vec<(String, Tensor)> = model.vs.variables().into_iter().collect();
            tensors.sort_by(|a, b| a.0.cmp(&b.0));
            let state = TrainState {
                step,
                epoch,
                rngs: BTreeMap::new(),
                config: config_json.clone(),
                metrics: metrics.clone(),
            };
            ckpts.save(&tensors, &opt.state_tensors(), &state)?;
        }
    }
    drop(rx);
    log.finish();
    let final_dir = run_dir.join("final");
    model.export(&final_dir, source(cfg, step, validations.last()))?;
    Ok(RunSummary {
        step,
        final_dir,
        best_dir: best_dir.is_dir().then_some(best_dir),
        validations,
        encoder_cache: use_cache,
    })
}

/// `model.json`'s `source`: how the weights were made.
fn source(cfg: &TrainConfig, step: u64, val: Option<&ValResult>) -> BTreeMap<String, String> {
    let mut s = BTreeMap::new();
    s.insert(
        "trained_by".into(),
        format!(
            "soundscribe {} {}",
            env!("CARGO_PKG_VERSION"),
            if cfg.distill.is_some() {
                "distill"
            } else {
                "train"
            }
        ),
    );
    s.insert("step".into(), step.to_string());
    s.insert("seed".into(), cfg.seed.to_string());
    if let Some(v) = val {
        for (k, x) in &v.metrics {
            s.insert(format!("val_{k}"), format!("{x:.4}"));
        }
    }
    s
}

/// Encoder features of every item of `plan`, each clip cut to `limit` samples; with a
/// cache (and the encoder's identity for its keys) they are read from it or computed and
/// stored.
fn clip_features_all(
    net: &Net,
    plan: &Plan,
    limit: usize,
    cache: Option<(&TensorCache, &str)>,
    progress: bool,
) -> anyhow::Result<Vec<ClipFeatures>> {
    let n = plan.items.len();
    let key = |encoder_id: &str, i: usize| {
        let it = &plan.items[i];
        format!(
            "{encoder_id}\u{0}{}\u{0}{}",
            clip_key(&it.audio, it.start, it.end),
            plan.rate
        )
    };
    let mut out: Vec<Option<ClipFeatures>> = (0..n)
        .map(|i| {
            let (c, id) = cache?;
            c.get(&key(id, i))
                .and_then(|t| ClipFeatures::from_cached(&t))
        })
        .collect();
    let todo: Vec<usize> = (0..n).filter(|&i| out[i].is_none()).collect();
    if let Some((c, _)) = cache {
        tracing::info!(message = "Encoder features.", clips = n, cached = n - todo.len(), computing = todo.len(), cache = %c.dir().display());
    }
    let bar = progress.then(|| super::log::bar(todo.len() as u64, "encoding clips"));
    let _g = tch::no_grad_guard();
    for (i, r) in plan.load_all(todo) {
        let item = plan
            .items
            .get(i)
            .map_or(PathBuf::new(), |it| it.audio.clone());
        let wave = r.with_context(|| format!("{}", item.display()))?;
        let f = net
            .clip_features(&wave[..wave.len().min(limit)], None)
            .with_context(|| format!("{}", item.display()))?;
        if let Some((c, id)) = cache {
            c.put(&key(id, i), &f.tensors()).with_context(|| {
                format!("{}: cannot write the encoder cache", c.dir().display())
            })?;
        }
        out[i] = Some(f);
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    out.into_iter()
        .enumerate()
        .map(|(i, f)| f.ok_or_else(|| anyhow!("{}: no features", plan.items[i].audio.display())))
        .collect()
}

/// The samples of micro-batch `m` when features are cached (captions only, no audio).
fn cached_samples(plan: &Plan, m: u64) -> Vec<Sample> {
    let (_, idx) = plan.batch_items(m);
    idx.into_iter()
        .enumerate()
        .map(|(slot, i)| {
            let mut rng = plan.slot_rng(m, slot);
            Sample {
                item: i,
                wave: Vec::new(),
                caption: plan.pick_caption(i, &mut rng),
                mixed: false,
            }
        })
        .collect()
}

/// A random crop of item `item`'s cached features to `max_s` seconds (in memory steps),
/// drawn from slot `slot` of micro-batch `m` after its caption, as with audio.
fn crop_cached(
    f: &ClipFeatures,
    plan: &Plan,
    net: &Net,
    max_s: f64,
    (m, slot, item): (u64, usize, usize),
) -> ClipFeatures {
    let len = f.len();
    match net.steps_for(max_s) {
        Some(max) if len > max => {
            let mut rng = plan.slot_rng(m, slot);
            let _ = plan.pick_caption(item, &mut rng);
            let start = crate::augment::draw::below(&mut rng, (len - max + 1) as usize) as i64;
            f.narrow(start, max)
        }
        _ => f.narrow(0, len),
    }
}

/// The loss of one micro-batch; adds its parts (unweighted) to `parts`.
#[allow(clippy::too_many_arguments)]
fn micro_batch_loss(
    model: &Model,
    feats: &[ClipFeatures],
    samples: &[Sample],
    items: &[Item],
    cfg: &TrainConfig,
    text: Option<&mut TextTargets>,
    distiller: Option<&Distiller>,
    targets: Option<&TeacherTargets>,
    parts: &mut BTreeMap<&'static str, f64>,
) -> anyhow::Result<Tensor> {
    let memory = model.net.memory(feats)?;
    let device = model.net.device();
    let with_caption: Vec<usize> = (0..samples.len())
        .filter(|&i| samples[i].caption.is_some())
        .collect();
    let mut total = Tensor::zeros([], (Kind::Float, device));
    let mut add = |name: &'static str, t: &Tensor, w: f64, total: &mut Tensor| {
        *parts.entry(name).or_default() += f64::try_from(t.detach()).unwrap_or(f64::NAN);
        *total = &*total + t * w;
    };
    let w_sup = cfg.distill.as_ref().map_or(1.0, |d| d.w_sup);
    if !with_caption.is_empty() && w_sup > 0.0 {
        let rows = Tensor::from_slice(&with_caption.iter().map(|&i| i as i64).collect::<Vec<_>>())
            .to_device(device);
        let sub = memory.index_select(&rows);
        let caps: Vec<&str> = with_caption
            .iter()
            .map(|&i| samples[i].caption.as_deref().unwrap_or(""))
            .collect();
        let (input, labels) = model.teacher_forcing(&caps)?;
        let logits = model.net.train_logits(&sub, &input)?;
        let ce =
            smoothed_cross_entropy(&logits, &labels.to_device(device), cfg.loss.label_smoothing);
        add("ce", &ce, w_sup, &mut total);
        if let (Some(text), Some(audio)) = (text, &sub.clip_embed) {
            if caps.len() >= 2 {
                let norm: Vec<String> = caps.iter().map(|c| normalize_caption(c)).collect();
                let refs: Vec<&str> = norm.iter().map(String::as_str).collect();
                let t = text.get(&refs)?.to_device(device);
                let nce = info_nce(audio, &t, cfg.loss.temperature);
                add("infonce", &nce, w_sup * cfg.loss.infonce_weight, &mut total);
            }
        }
    }
    if let (Some(d), Some(tg), Some(dcfg)) = (distiller, targets, &cfg.distill) {
        let keys: Vec<String> = samples
            .iter()
            .map(|s| TeacherTargets::key(&items[s.item]))
            .collect();
        if dcfg.w_seq > 0.0 {
            let caps: Vec<&str> = keys
                .iter()
                .map(|k| tg.caption(k))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| anyhow!("a clip has no teacher caption"))?;
            let (input, labels) = model.teacher_forcing(&caps)?;
            let logits = model.net.train_logits(&memory, &input)?;
            let ce = smoothed_cross_entropy(
                &logits,
                &labels.to_device(device),
                cfg.loss.label_smoothing,
            );
            add("seq_kd", &ce, dcfg.w_seq, &mut total);
        }
        if dcfg.w_enc > 0.0 {
            let student = memory
                .clip_embed
                .as_ref()
                .ok_or_else(|| anyhow!("the student has no clip embedding"))?;
            let teacher = tg.embeddings(&keys)?.to_device(device);
            let kd = d.encoder_loss(student, &teacher);
            add("enc_kd", &kd, dcfg.w_enc, &mut total);
        }
    }
    *parts.entry("loss").or_default() += f64::try_from(total.detach()).unwrap_or(f64::NAN);
    Ok(total)
}
