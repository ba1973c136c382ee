//! `soundscribe train` / `distill` configuration: one TOML file, typed, every unknown
//! field refused, every problem reported at once with file, line and field.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::augment::specaugment::SpecAugment;
use soundscribe::config::{DecodingConfig, DecodingStrategy};

/// The whole training configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Seed of every random choice (data order, crops, captions, augmentation, init).
    #[serde(default)]
    pub seed: u64,
    /// Where to run: `cpu`, `cuda` or `cuda:N`.
    #[serde(default = "cpu")]
    pub device: String,
    /// libtorch intra-op threads (0: libtorch's default).
    #[serde(default)]
    pub threads: usize,
    /// Which model to train and where it starts from.
    pub model: ModelSection,
    /// Training and validation data.
    pub data: DataSection,
    /// Audio-side augmentation.
    #[serde(default)]
    pub augment: AugmentSection,
    /// Optimiser and schedule.
    #[serde(default)]
    pub optim: OptimSection,
    /// Loss terms.
    #[serde(default)]
    pub loss: LossSection,
    /// Validation and model selection.
    #[serde(default)]
    pub validate: ValidateSection,
    /// Checkpointing and logging.
    #[serde(default)]
    pub checkpoint: CheckpointSection,
    /// Knowledge distillation from a teacher (`soundscribe distill`).
    #[serde(default)]
    pub distill: Option<DistillSection>,
}

fn cpu() -> String {
    "cpu".to_owned()
}

/// The model being trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// `student` (aisfx CNN-8 + small decoder) or `teacher` (seed-1 captioner).
    pub kind: TrainKind,
    /// Start from this model directory (required for the teacher; optional for the student).
    #[serde(default)]
    pub init: Option<PathBuf>,
    /// Student only, without `init`: the converted aisfx encoder (`convert aisfx`).
    #[serde(default)]
    pub aisfx: Option<PathBuf>,
    /// Student only, without `init`: its architecture (vocabulary size comes from the
    /// tokenizer).
    #[serde(default)]
    pub student: Option<StudentArch>,
    /// Student only, without `init`: a `tokenizer.json` to use instead of training a BPE.
    #[serde(default)]
    pub tokenizer: Option<PathBuf>,
    /// BPE vocabulary size when the tokenizer is trained on the training captions.
    #[serde(default = "bpe_vocab")]
    pub bpe_vocab_size: usize,
    /// Variables whose name starts with one of these are not trained (e.g. `encoder.cnn`
    /// for the student's CNN, `encoder.` for the teacher's BEATs).
    #[serde(default)]
    pub freeze: Vec<String>,
}

fn bpe_vocab() -> usize {
    1000
}

/// Which captioner is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainKind {
    /// Our aisfx student.
    Student,
    /// The seed-1 teacher (BEATs → Conformer → BART).
    Teacher,
}

/// The student's architecture (a [`StudentConfig`] without vocabulary and special tokens).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StudentArch {
    /// Decoder width.
    pub d_model: i64,
    /// Decoder layers.
    pub layers: i64,
    /// Attention heads.
    pub heads: i64,
    /// FFN hidden width.
    pub ffn_dim: i64,
    /// Longest caption, tokens.
    pub max_positions: i64,
    /// Clip-embedding width (the text embedder's for InfoNCE and reranking).
    pub embed_dim: i64,
    /// Longest window, seconds.
    pub max_window_s: f64,
}

impl Default for StudentArch {
    fn default() -> Self {
        StudentArch {
            d_model: 256,
            layers: 2,
            heads: 4,
            ffn_dim: 1024,
            max_positions: 64,
            embed_dim: 384,
            max_window_s: 30.0,
        }
    }
}

/// Training and validation data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// Training sets.
    pub train: Vec<DataSource>,
    /// Validation sets (none: no validation).
    #[serde(default)]
    pub val: Vec<DataSource>,
    /// A run refuses to start when more than this fraction of files is missing.
    #[serde(default = "max_missing")]
    pub max_missing: f64,
    /// Clips longer than this are randomly cropped to it, seconds.
    #[serde(default = "max_window_s")]
    pub max_window_s: f64,
    /// Audio decoding threads.
    #[serde(default = "workers")]
    pub workers: usize,
    /// Where text embeddings, encoder outputs and teacher outputs are cached.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// Cache frozen-encoder outputs per clip (only valid without audio-side
    /// augmentation or cropping; the run says whether it is used).
    #[serde(default = "yes")]
    pub encoder_cache: bool,
}

fn max_missing() -> f64 {
    0.05
}
fn max_window_s() -> f64 {
    10.0
}
fn workers() -> usize {
    2
}
fn yes() -> bool {
    true
}

/// One dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "format", rename_all = "snake_case")]
pub enum DataSource {
    /// JSONL manifest (`{"audio", "captions", "start", "end"}` per line).
    Jsonl {
        /// The manifest.
        path: PathBuf,
    },
    /// Clotho CSV + audio folder.
    Clotho {
        /// `clotho_captions_*.csv`.
        csv: PathBuf,
        /// The audio folder.
        audio_dir: PathBuf,
    },
    /// AudioCaps CSV + audio folder named by `audiocap_id`.
    Audiocaps {
        /// The CSV.
        csv: PathBuf,
        /// The audio folder.
        audio_dir: PathBuf,
    },
    /// Audio files without captions (distillation only).
    Folder {
        /// The folder, read recursively.
        path: PathBuf,
    },
}

impl DataSource {
    /// The file or folder that names the clips (for messages).
    pub fn index(&self) -> &Path {
        match self {
            DataSource::Jsonl { path } | DataSource::Folder { path } => path,
            DataSource::Clotho { csv, .. } | DataSource::Audiocaps { csv, .. } => csv,
        }
    }
}

/// Audio-side augmentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AugmentSection {
    /// SpecAugment on the model's features (student: the aisfx log-mel).
    pub specaugment: Option<SpecAugment>,
    /// Probability that a training sample is a mix-up of two clips (seed 1: 0.5).
    pub mixup_prob: f64,
    /// Largest |energy ratio| of a mix, dB.
    pub mixup_max_db: f64,
    /// Pre-generated mix captions (`{"captions": [A, B], "mix": "..."}` per line).
    pub mix_captions: Option<PathBuf>,
    /// An OpenAI-compatible chat endpoint asked for pairs without a pre-generated mix
    /// (off when absent; answers are cached in `cache_dir/mix-endpoint.jsonl`).
    pub mix_endpoint: Option<crate::augment::mix_llm::MixEndpointConfig>,
}

impl Default for AugmentSection {
    fn default() -> Self {
        AugmentSection {
            specaugment: None,
            mixup_prob: 0.0,
            mixup_max_db: 5.0,
            mix_captions: None,
            mix_endpoint: None,
        }
    }
}

impl AugmentSection {
    /// Whether any audio-side augmentation is on (encoder outputs then cannot be cached).
    pub fn any(&self) -> bool {
        self.specaugment.is_some() || self.mixup_prob > 0.0
    }
}

/// Optimiser and schedule (seed 1 defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimSection {
    /// Peak learning rate.
    pub lr: f64,
    /// Clips per micro-batch.
    pub batch_size: usize,
    /// Micro-batches per update.
    pub accumulation: usize,
    /// Linear warm-up updates.
    pub warmup_steps: u64,
    /// Total updates (the cosine decays to 0 there).
    pub max_steps: u64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Global gradient-norm clip (0: off).
    pub clip_grad_norm: f64,
    /// Autocast precision on CUDA: `fp32`, `bf16` or `fp16` (CPU always runs fp32).
    pub precision: Precision,
}

impl Default for OptimSection {
    fn default() -> Self {
        OptimSection {
            lr: 2e-5,
            batch_size: 32,
            accumulation: 2,
            warmup_steps: 1000,
            max_steps: 20_000,
            weight_decay: 1e-3,
            clip_grad_norm: 1.0,
            precision: Precision::Fp32,
        }
    }
}

/// Autocast precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// No autocast.
    Fp32,
    /// bfloat16 autocast on CUDA.
    Bf16,
    /// float16 autocast on CUDA.
    Fp16,
}

/// Loss terms (seed 1: label smoothing 0.1, InfoNCE α 1, τ 0.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossSection {
    /// Label smoothing of the caption cross-entropy.
    pub label_smoothing: f64,
    /// Weight α of the InfoNCE term (0: off).
    pub infonce_weight: f64,
    /// InfoNCE temperature τ.
    pub temperature: f64,
    /// Sentence-transformers directory giving the caption embeddings for InfoNCE.
    pub text_embedder: Option<PathBuf>,
}

impl Default for LossSection {
    fn default() -> Self {
        LossSection {
            label_smoothing: 0.1,
            infonce_weight: 1.0,
            temperature: 0.5,
            text_embedder: None,
        }
    }
}

/// Validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidateSection {
    /// Validate every this many updates (0: at the end of every epoch).
    pub every_steps: u64,
    /// Metric that picks the best checkpoint: `cider_d`, `bleu_4`, `rouge_l` or `loss`.
    pub metric: String,
    /// How validation captions are decoded.
    pub decoding: DecodingConfig,
    /// Validate on at most this many clips (0: all).
    pub max_clips: usize,
    /// Also validate before the first update of a fresh run (the untrained baseline).
    pub at_start: bool,
}

impl ValidateSection {
    /// How many of `available` validation clips are scored (`max_clips`, 0 for all).
    pub fn clips(&self, available: usize) -> usize {
        if self.max_clips > 0 {
            self.max_clips.min(available)
        } else {
            available
        }
    }
}

impl Default for ValidateSection {
    fn default() -> Self {
        ValidateSection {
            every_steps: 0,
            metric: "cider_d".to_owned(),
            decoding: DecodingConfig {
                strategy: DecodingStrategy::Beam,
                num_beams: 3,
                max_length: 30,
                ..DecodingConfig::default()
            },
            max_clips: 0,
            at_start: true,
        }
    }
}

/// Checkpoints and logs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointSection {
    /// Write a resumable checkpoint every this many updates.
    pub every_steps: u64,
    /// Keep the newest K checkpoints.
    pub keep_last: usize,
    /// Log losses every this many updates.
    pub log_every: u64,
}

impl Default for CheckpointSection {
    fn default() -> Self {
        CheckpointSection {
            every_steps: 500,
            keep_last: 3,
            log_every: 10,
        }
    }
}

/// Knowledge distillation (seed 2): L = w_sup·L_sup + w_seq·L_seq + w_enc·L_enc.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistillSection {
    /// The teacher's model directory (any captioner kind).
    pub teacher: PathBuf,
    /// Encoder-level KD loss.
    #[serde(default)]
    pub encoder_loss: EncoderKd,
    /// Shared projection width of student and teacher clip embeddings.
    #[serde(default = "kd_width")]
    pub width: i64,
    /// Weight of the supervised caption loss (ground-truth captions).
    #[serde(default = "one")]
    pub w_sup: f64,
    /// Weight of the sequence-level KD loss (the teacher's beam-3 pseudo-captions).
    #[serde(default = "one")]
    pub w_seq: f64,
    /// Weight of the encoder-level KD loss.
    #[serde(default = "one")]
    pub w_enc: f64,
    /// Beams the teacher decodes pseudo-captions with.
    #[serde(default = "three")]
    pub beams: usize,
}

impl DistillSection {
    /// Distillation from `teacher` with every other setting at its default.
    pub fn new(teacher: PathBuf) -> Self {
        DistillSection {
            teacher,
            encoder_loss: EncoderKd::default(),
            width: kd_width(),
            w_sup: one(),
            w_seq: one(),
            w_enc: one(),
            beams: three(),
        }
    }
}

fn kd_width() -> i64 {
    1024
}
fn one() -> f64 {
    1.0
}
fn three() -> usize {
    3
}

/// Encoder-level KD loss.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EncoderKd {
    /// Symmetric InfoNCE with a learnable logit scale (init log(1/0.07)).
    #[default]
    Contrastive,
    /// Mean squared error of the projected embeddings.
    Mse,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distill_section_new_matches_the_toml_defaults() {
        // `distill --teacher DIR` without a [distill] section gets what the file would.
        let parsed: DistillSection = toml::from_str("teacher = \"dir\"").unwrap();
        assert_eq!(parsed, DistillSection::new(PathBuf::from("dir")));
    }
}
