//! Nucleus sampling as the seed ships it: temperature 0.5, top-p 0.95, N candidates per clip.
//!
//! Randomness comes from one ChaCha8 stream per hypothesis (seed, stream = clip·N + k),
//! drawn on the host and applied on the device by inverse-CDF lookup. So a fixed seed
//! reproduces the same candidates whatever else runs in the process, and the candidates
//! of a hypothesis do not depend on which others share its batch.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use tch::{Kind, Tensor};

use super::{processors, step_loop, Limits, Sequence, StepModel};
use crate::model::ModelError;

/// Nucleus-sampling settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingParams {
    /// Softmax temperature (> 0).
    pub temperature: f64,
    /// Nucleus probability mass in (0, 1].
    pub top_p: f64,
    /// Candidates per clip.
    pub num_candidates: usize,
    /// Seed of the random streams; the same seed and inputs give the same candidates.
    pub seed: u64,
}

impl SamplingParams {
    /// Settings from the `[decoding]` config.
    pub fn from_config(cfg: &crate::config::DecodingConfig) -> Self {
        SamplingParams {
            temperature: cfg.temperature,
            top_p: cfg.top_p,
            num_candidates: cfg.num_candidates,
            seed: cfg.seed,
        }
    }
}

/// A uniform draw in [0, 1) with 24 bits, exactly representable in f32.
fn uniform(rng: &mut ChaCha8Rng) -> f32 {
    (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32
}

/// Samples `num_candidates` sequences for every clip, all clips and candidates batched.
///
/// Candidates of clip `c` come out together, in order.
pub fn sample<M: StepModel>(
    model: &M,
    limits: &Limits,
    params: &SamplingParams,
) -> Result<Vec<Sequence>, ModelError> {
    let k = params.num_candidates.max(1);
    let clips: Vec<usize> = (0..model.num_clips() as usize)
        .flat_map(|c| std::iter::repeat_n(c, k))
        .collect();
    let mut streams: Vec<ChaCha8Rng> = (0..clips.len())
        .map(|h| {
            let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
            rng.set_stream(h as u64);
            rng
        })
        .collect();
    let device = model.device();
    step_loop::run(model, &clips, limits, &mut |scores, live| {
        // Hugging Face order: processors (already applied), then temperature, then top-p.
        let warped = processors::top_p(&(scores / params.temperature), params.top_p);
        let logprobs = warped.log_softmax(-1, Kind::Float);
        let cdf = logprobs.exp().cumsum(-1, Kind::Float);
        let vocab = cdf.size()[1];
        let u: Vec<f32> = live.iter().map(|&h| uniform(&mut streams[h])).collect();
        let u = Tensor::from_slice(&u).to_device(device).unsqueeze(1) * cdf.narrow(1, vocab - 1, 1);
        // First index whose cumulative mass exceeds u: zero-probability tokens never win.
        let next = u
            .searchsorted(&cdf, false, true, "right", None::<Tensor>)
            .squeeze_dim(1)
            .clamp_max(vocab - 1);
        let chosen = logprobs.gather(1, &next.unsqueeze(1), false).squeeze_dim(1);
        (next, chosen)
    })
}
