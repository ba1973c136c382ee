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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use tch::Tensor;

use super::cache::TensorCache;
use super::checkpoint::{load as load_checkpoint, Checkpoints, TrainState};
use super::config::{DataSource, TrainConfig};
use super::distill::{Distiller, TeacherTargets};
use super::loader::{prefetch, Mixup, Plan, Sample};
use super::log::RunLog;
use super::net::{ClipFeatures, Net};
use super::optim::{AdamW, AdamWConfig, WarmupCosine};
use super::validate::{validate, ValResult};
use crate::augment::mixup::MixCaptioner;
use crate::dataset::manifest::{Dataset, Item};
use soundscribe::decode::decide::normalize_caption;
use soundscribe::model::checkpoint::copy_into;

use super::model::{build_model, trainable, TextTargets, RUN_TOKENIZER};
use super::step::{cached_samples, clip_features_all, crop_cached, micro_batch_loss};

/// The configuration a run started with, inside its run directory.
pub const RUN_CONFIG: &str = "config.json";

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
