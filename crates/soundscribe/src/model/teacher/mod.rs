//! The seed-1 captioner (Wu et al., DCASE 2023 task 6A): kaldi fbank → BEATs (up to
//! `encoder_repr_layer_idx`) → Conv1d downsampling → Conformer → + cross positions →
//! BART decoder, with the `encoder_embed_mlp` clip embedding for reranking.
//!
//! Reference: `BeatsConformerBartSeq2SeqForCaptioning` in
//! <https://github.com/slSeanWU/beats-conformer-bart-audio-captioner/blob/2f1e34e/model/modeling_beats_conformer_bart.py>.

pub mod bart;
pub mod beats;
pub mod config;
pub mod conformer;

use tch::nn::{self, Module, ModuleT};
use tch::{Device, Kind, Tensor};

use crate::features::kaldi_fbank::{self, KaldiFbank};
use crate::model::teacher::bart::{BartDecoder, KvCache, POSITION_OFFSET};
use crate::model::teacher::beats::Beats;
pub use crate::model::teacher::config::{CaptionerConfig, TeacherConfig};
use crate::model::teacher::conformer::ConformerEncoder;
use crate::model::traits::{check_ids, AudioEncoder, CaptionDecoder, Memory, SpecialTokens};
use crate::model::ModelError;

/// `TextEmbeddingPredictor` (`encoder_embed_mlp`): Linear → BatchNorm1d (eval) → GELU → Linear.
#[derive(Debug)]
struct EmbedMlp {
    fc1: nn::Linear,
    bn: nn::BatchNorm,
    fc2: nn::Linear,
}

impl EmbedMlp {
    fn new(vs: nn::Path, d: i64, ffn: i64, out: i64) -> Self {
        let no_bias = nn::LinearConfig {
            bias: false,
            ..Default::default()
        };
        EmbedMlp {
            fc1: nn::linear(&vs / "fc1", d, ffn, no_bias),
            bn: nn::batch_norm1d(&vs / "bn", ffn, Default::default()),
            fc2: nn::linear(&vs / "fc2", ffn, out, no_bias),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let x = self.bn.forward_t(&self.fc1.forward(x), false);
        self.fc2.forward(&x.gelu("none"))
    }
}

/// Every intermediate tensor of one encoder pass (what the golden file records).
#[derive(Debug)]
pub struct EncoderTrace {
    /// Normalised fbank (B, frames, 128).
    pub fbank: Tensor,
    /// BEATs hidden states 0..=repr layer, each (B, tokens, D).
    pub beats_layers: Vec<Tensor>,
    /// After the downsampling conv (B, S, D).
    pub downsampled: Tensor,
    /// Conformer output (B, S, D), before `cross_embed_positions`.
    pub encoder_out: Tensor,
    /// The decoder memory and clip embedding.
    pub memory: Memory,
}

/// The seed-1 teacher captioner.
#[derive(Debug)]
pub struct Teacher {
    cfg: TeacherConfig,
    fbank: KaldiFbank,
    encoder: Beats,
    downsample_conv: Option<nn::Conv1D>,
    postencoder: ConformerEncoder,
    enc_dec_proj: Option<nn::Linear>,
    cross_embed_positions: Tensor,
    encoder_embed_mlp: Option<EmbedMlp>,
    decoder: BartDecoder,
}

impl Teacher {
    /// Builds the model under `vs` with the checkpoint's key names (random weights until
    /// loaded, see `checkpoint::load_model_dir`).
    pub fn new(vs: nn::Path, cfg: &TeacherConfig) -> Result<Self, ModelError> {
        cfg.check_supported()?;
        let c = &cfg.captioner;
        let d_enc = cfg.conformer.hidden_size;
        let d = c.decoder.d_model;
        let downsample_conv = cfg.downsample().map(|(k, s)| {
            let conv = nn::ConvConfig {
                stride: s,
                ..Default::default()
            };
            nn::conv1d(&vs / "downsample_conv", d_enc, d_enc, k, conv)
        });
        let enc_dec_proj = (d != d_enc).then(|| {
            let no_bias = nn::LinearConfig {
                bias: false,
                ..Default::default()
            };
            nn::linear(&vs / "enc_dec_proj", d_enc, d, no_bias)
        });
        let encoder_embed_mlp = match (
            c.use_encoder_embed_mlp,
            c.embed_predictor_ffn_dim,
            c.embed_predictor_out_dim,
        ) {
            (true, Some(ffn), Some(out)) => {
                Some(EmbedMlp::new(&vs / "encoder_embed_mlp", d, ffn, out))
            }
            _ => None,
        };
        Ok(Teacher {
            cfg: cfg.clone(),
            fbank: KaldiFbank::new(vs.device()),
            encoder: Beats::new(&vs / "encoder", &cfg.beats, cfg.repr_layer())?,
            downsample_conv,
            postencoder: ConformerEncoder::new(&vs / "postencoder", &cfg.conformer)?,
            enc_dec_proj,
            cross_embed_positions: (&vs / "cross_embed_positions").var(
                "weight",
                &[c.max_cross_position_embeddings + POSITION_OFFSET, d],
                nn::Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
            ),
            encoder_embed_mlp,
            decoder: BartDecoder::new(vs, &c.decoder)?,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TeacherConfig {
        &self.cfg
    }

    /// The BART decoder.
    pub fn decoder(&self) -> &BartDecoder {
        &self.decoder
    }

    fn check_window(&self, waves: &Tensor) -> Result<(i64, i64), ModelError> {
        let (b, n) = waves.size2().map_err(|_| {
            ModelError::Input(format!("waveforms must be (B, N), got {:?}", waves.size()))
        })?;
        let (lo, hi) = (self.cfg.min_window_samples(), self.cfg.max_window_samples());
        if n < lo || n > hi {
            return Err(ModelError::Input(format!(
                "window of {n} samples ({:.2} s) is outside what the teacher accepts: {lo}..={hi} samples ({:.2}..={:.2} s at 16 kHz)",
                n as f64 / 16000.0,
                lo as f64 / 16000.0,
                hi as f64 / 16000.0
            )));
        }
        Ok((b, n))
    }

    /// Runs the encoder and keeps every intermediate tensor (for parity checks and `dump`).
    pub fn encode_trace(&self, waves: &Tensor) -> Result<EncoderTrace, ModelError> {
        let _guard = tch::no_grad_guard();
        self.encode_parts(waves)
    }

    /// The encoder for training: BEATs is frozen (run without autograd, as in the seed),
    /// everything after it records gradients.
    pub fn encode_train(&self, waves: &Tensor) -> Result<Memory, ModelError> {
        Ok(self.encode_parts(waves)?.memory)
    }

    fn encode_parts(&self, waves: &Tensor) -> Result<EncoderTrace, ModelError> {
        self.check_window(waves)?;
        let (fbank, beats_layers) = {
            let _frozen = tch::no_grad_guard();
            let fbank = self
                .fbank
                .forward(&waves.to_device(self.cross_embed_positions.device()));
            let layers = self.encoder.forward(&fbank);
            (fbank, layers)
        };
        let repr = beats_layers
            .last()
            .ok_or_else(|| ModelError::Unsupported("BEATs without layers".into()))?;
        let downsampled = match &self.downsample_conv {
            Some(conv) => conv.forward(&repr.transpose(1, 2)).transpose(1, 2),
            None => repr.shallow_clone(),
        };
        let encoder_out = self.postencoder.forward(&downsampled, None);
        let (b, s, _) = encoder_out.size3()?;
        let valid = Tensor::ones([b, s], (Kind::Bool, encoder_out.device()));
        let states = match &self.enc_dec_proj {
            Some(p) => p.forward(&encoder_out),
            None => encoder_out.shallow_clone(),
        };
        let clip_embed = self.encoder_embed_mlp.as_ref().map(|mlp| {
            let w = valid.to_kind(Kind::Float).unsqueeze(-1);
            let mean = (&states * &w).sum_dim_intlist(1, false, Kind::Float)
                / w.sum_dim_intlist(1, false, Kind::Float);
            mlp.forward(&mean)
        });
        let positions = self.cross_embed_positions.narrow(0, POSITION_OFFSET, s);
        let memory = Memory {
            states: &states + positions,
            valid,
            clip_embed,
        };
        Ok(EncoderTrace {
            fbank,
            beats_layers,
            downsampled,
            encoder_out,
            memory,
        })
    }

    /// Mean token cross-entropy over labels ≠ −100 (the seed's reranking score), (N,).
    pub fn nll(logits: &Tensor, labels: &Tensor) -> Tensor {
        let (n, l, v) = logits.size3().expect("logits are (N, L, V)");
        let ce = logits
            .view([n * l, v])
            .log_softmax(-1, Kind::Float)
            .nll_loss_nd::<Tensor>(&labels.view([n * l]), None, tch::Reduction::None, -100)
            .view([n, l]);
        let count = labels.ne(-100).sum_dim_intlist(1, false, Kind::Float);
        ce.sum_dim_intlist(1, false, Kind::Float) / count
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.cross_embed_positions.device()
    }
}

impl AudioEncoder for Teacher {
    fn sample_rate(&self) -> i64 {
        kaldi_fbank::SAMPLE_RATE
    }

    fn max_window_samples(&self) -> i64 {
        self.cfg.max_window_samples()
    }

    fn min_window_samples(&self) -> i64 {
        self.cfg.min_window_samples()
    }

    fn encode(&self, waves: &Tensor) -> Result<Memory, ModelError> {
        Ok(self.encode_trace(waves)?.memory)
    }
}

impl CaptionDecoder for Teacher {
    type Cache = KvCache;

    fn special_tokens(&self) -> SpecialTokens {
        let c = self.decoder.config();
        SpecialTokens {
            decoder_start: c.decoder_start_token_id,
            eos: c.eos_token_id,
            pad: c.pad_token_id,
        }
    }

    fn start(&self, memory: &Memory, per_clip: i64, max_len: i64) -> Result<KvCache, ModelError> {
        let _guard = tch::no_grad_guard();
        let cross = self.decoder.cross_kv(&memory.states, Some(&memory.valid));
        self.decoder.start(cross, per_clip, max_len)
    }

    fn step(&self, cache: &mut KvCache, tokens: &Tensor) -> Result<Tensor, ModelError> {
        let _guard = tch::no_grad_guard();
        self.decoder.step(cache, &tokens.to_device(self.device()))
    }

    fn reorder(&self, cache: &mut KvCache, rows: &Tensor) {
        let _guard = tch::no_grad_guard();
        cache.reorder(&rows.to_device(self.device()));
    }

    fn regroup(&self, cache: &mut KvCache, rows: &Tensor, clips: &Tensor, per_clip: i64) {
        let _guard = tch::no_grad_guard();
        let device = self.device();
        cache.regroup(&rows.to_device(device), &clips.to_device(device), per_clip);
    }

    fn logits(&self, memory: &Memory, per_clip: i64, ids: &Tensor) -> Result<Tensor, ModelError> {
        let _guard = tch::no_grad_guard();
        check_ids(memory, per_clip, ids)?;
        let cross = self.decoder.cross_kv(&memory.states, Some(&memory.valid));
        Ok(self.decoder.forward(&ids.to_device(self.device()), &cross))
    }
}
