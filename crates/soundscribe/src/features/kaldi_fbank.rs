//! Kaldi-compatible log mel filterbank, op for op as `torchaudio.compliance.kaldi.fbank`,
//! with the settings BEATs uses, followed by BEATs' normalisation.
//!
//! Reference: torchaudio `compliance/kaldi.py` (`fbank`, `_get_window`, `get_mel_banks`)
//! and BEATs `preprocess` (<https://github.com/microsoft/unilm/blob/master/beats/BEATs.py>).
//! Every step uses the same tensor ops in the same float32 order, so results match
//! torchaudio to rounding. The mel filter bank is built once in [`KaldiFbank::new`].

use tch::{Device, Kind, Tensor};

/// Sample rate BEATs expects.
pub const SAMPLE_RATE: i64 = 16_000;
/// Frame length in samples (25 ms).
pub const WINDOW_SIZE: i64 = 400;
/// Frame shift in samples (10 ms).
pub const WINDOW_SHIFT: i64 = 160;
/// FFT size (frame length rounded up to a power of two).
pub const PADDED_WINDOW_SIZE: i64 = 512;
/// Number of mel bins.
pub const NUM_MEL_BINS: i64 = 128;
/// Pre-emphasis coefficient.
pub const PREEMPHASIS: f64 = 0.97;
/// Lowest mel filter edge in Hz (torchaudio's default `low_freq`).
pub const LOW_FREQ: f64 = 20.0;
/// BEATs' fbank mean.
pub const FBANK_MEAN: f64 = 15.41663;
/// BEATs' fbank standard deviation (the input is divided by twice this).
pub const FBANK_STD: f64 = 6.55582;

/// The BEATs front end: kaldi fbank of `wave · 2^15`, then `(x − mean) / (2·std)`.
#[derive(Debug)]
pub struct KaldiFbank {
    /// Povey window, `(1, WINDOW_SIZE)`.
    window: Tensor,
    /// Mel filter bank padded with a zero Nyquist column, transposed: `(257, NUM_MEL_BINS)`.
    mel_banks_t: Tensor,
}

fn mel_scale_scalar(freq: f64) -> f64 {
    1127.0 * (1.0 + freq / 700.0).ln()
}

/// torchaudio `get_mel_banks` without VTLN warping, in float32 like torchaudio.
fn mel_banks(device: Device) -> Tensor {
    let num_fft_bins = PADDED_WINDOW_SIZE / 2;
    let sample_freq = SAMPLE_RATE as f64;
    let high_freq = 0.5 * sample_freq;
    let fft_bin_width = sample_freq / PADDED_WINDOW_SIZE as f64;
    let mel_low = mel_scale_scalar(LOW_FREQ);
    let mel_high = mel_scale_scalar(high_freq);
    let mel_delta = (mel_high - mel_low) / (NUM_MEL_BINS + 1) as f64;
    let bin = Tensor::arange(NUM_MEL_BINS, (Kind::Int64, Device::Cpu)).unsqueeze(1);
    let left = &bin * mel_delta + mel_low;
    let center = (&bin + 1.0) * mel_delta + mel_low;
    let right = (&bin + 2.0) * mel_delta + mel_low;
    let freqs = Tensor::arange(num_fft_bins, (Kind::Float, Device::Cpu)) * fft_bin_width;
    let mel = ((freqs / 700.0 + 1.0).log() * 1127.0).unsqueeze(0);
    let up = (&mel - &left) / (&center - &left);
    let down = (&right - &mel) / (&right - &center);
    let banks = up.minimum(&down).clamp_min(0.0);
    banks
        .constant_pad_nd([0, 1])
        .transpose(0, 1)
        .contiguous()
        .to_device(device)
}

impl KaldiFbank {
    /// Builds the window and mel filter bank on `device`.
    pub fn new(device: Device) -> Self {
        let window = Tensor::hann_window_periodic(WINDOW_SIZE, false, (Kind::Float, device))
            .pow_tensor_scalar(0.85)
            .unsqueeze(0);
        KaldiFbank {
            window,
            mel_banks_t: mel_banks(device),
        }
    }

    /// Number of frames for `samples` input samples (`snip_edges`), 0 if too short.
    pub fn num_frames(samples: i64) -> i64 {
        if samples < WINDOW_SIZE {
            0
        } else {
            1 + (samples - WINDOW_SIZE) / WINDOW_SHIFT
        }
    }

    /// Raw kaldi log-mel fbank of `waves` `(B, N)` in [-1, 1]: `(B, frames, 128)`.
    ///
    /// Panics (tch) if `N < WINDOW_SIZE`; callers check the length first.
    pub fn fbank(&self, waves: &Tensor) -> Tensor {
        let waves = waves.to_kind(Kind::Float) * 32768.0;
        // (B, frames, WINDOW_SIZE), frames as in `_get_strided` with snip_edges.
        let frames = waves.unfold(1, WINDOW_SIZE, WINDOW_SHIFT);
        let frames = &frames - frames.mean_dim(-1, true, Kind::Float);
        // Pre-emphasis with the first sample replicated (torch pad mode="replicate").
        let prev = Tensor::cat(
            &[
                frames.narrow(-1, 0, 1),
                frames.narrow(-1, 0, WINDOW_SIZE - 1),
            ],
            -1,
        );
        let frames = &frames - prev * PREEMPHASIS;
        let frames = frames * &self.window;
        let frames = frames.constant_pad_nd([0, PADDED_WINDOW_SIZE - WINDOW_SIZE]);
        let spectrum = frames
            .fft_rfft(None::<i64>, -1, "backward")
            .abs()
            .pow_tensor_scalar(2.0);
        let mel = spectrum.matmul(&self.mel_banks_t);
        let eps = f64::from(f32::EPSILON);
        mel.clamp_min(eps).log()
    }

    /// BEATs' normalised input: `(fbank − 15.41663) / (2 · 6.55582)`, `(B, frames, 128)`.
    pub fn forward(&self, waves: &Tensor) -> Tensor {
        (self.fbank(waves) - FBANK_MEAN) / (2.0 * FBANK_STD)
    }
}
