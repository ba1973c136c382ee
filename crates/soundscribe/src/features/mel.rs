//! torchaudio `MelSpectrogram` → `AmplitudeToDB(top_db)` as tch ops: the seed-2 student's
//! front end (EfficientNet-B2 input).
//!
//! Settings: 16 kHz, `n_fft` = window = 512, hop 160, 64 HTK mel bands from 0 Hz to
//! Nyquist without filter normalisation, periodic Hann window, `center = true` with reflect
//! padding, power 2; then `10·log10(max(x, 1e-10))` clamped at `max − top_db`.
//!
//! **top_db in a batch:** torchaudio clamps a (B, F, T) batch against the maximum of the
//! *whole batch*, so one loud clip changes its neighbours' features. We clamp each clip
//! against its own maximum instead (what a daemon batching unrelated windows needs);
//! for batch size 1 this is exactly torchaudio.
//!
//! Reference: torchaudio `transforms/_transforms.py` (`MelSpectrogram`, `AmplitudeToDB`)
//! and `functional/functional.py` (`melscale_fbanks`, `amplitude_to_DB`).

use tch::{Device, Kind, Tensor};

/// Sample rate, Hz.
pub const SAMPLE_RATE: i64 = 16_000;
/// FFT size and window length, samples (32 ms).
pub const N_FFT: i64 = 512;
/// Hop, samples (10 ms).
pub const HOP: i64 = 160;
/// Mel bands.
pub const N_MELS: i64 = 64;
/// Dynamic range kept by `AmplitudeToDB`, dB.
pub const TOP_DB: f64 = 120.0;
/// Floor before the logarithm (`AmplitudeToDB`'s `amin`).
pub const AMIN: f64 = 1e-10;

/// HTK mel of `hz` (torchaudio `_hz_to_mel`, in f64 like Python floats).
fn hz_to_mel(hz: f64) -> f64 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

/// torchaudio `melscale_fbanks(257, 0, 8000, 64, 16000, norm=None, mel_scale="htk")`,
/// float32 op for op: `(n_fft/2 + 1, N_MELS)`.
pub fn mel_filter_bank(device: Device) -> Tensor {
    let n_freqs = N_FFT / 2 + 1;
    let f_max = (SAMPLE_RATE / 2) as f64;
    let opts = (Kind::Float, Device::Cpu);
    let all_freqs = Tensor::linspace(0.0, f_max, n_freqs, opts);
    let m_pts = Tensor::linspace(hz_to_mel(0.0), hz_to_mel(f_max), N_MELS + 2, opts);
    // mel → Hz: 700 · (10^(m / 2595) − 1)
    let f_pts = (Tensor::from(10.0f32).pow(&(m_pts / 2595.0)) - 1.0) * 700.0;
    let f_diff = f_pts.narrow(0, 1, N_MELS + 1) - f_pts.narrow(0, 0, N_MELS + 1);
    let slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1);
    let down = (slopes.narrow(1, 0, N_MELS) * -1.0) / f_diff.narrow(0, 0, N_MELS);
    let up = slopes.narrow(1, 2, N_MELS) / f_diff.narrow(0, 1, N_MELS);
    up.minimum(&down).clamp_min(0.0).to_device(device)
}

/// The student's log-mel front end; holds the window and filter bank.
#[derive(Debug)]
pub struct LogMel {
    window: Tensor,
    fb: Tensor,
}

impl LogMel {
    /// Builds the Hann window and mel filter bank on `device`.
    pub fn new(device: Device) -> Self {
        LogMel {
            window: Tensor::hann_window_periodic(N_FFT, true, (Kind::Float, device)),
            fb: mel_filter_bank(device),
        }
    }

    /// Frames produced for `samples` input samples (`center = true`).
    pub fn num_frames(samples: i64) -> i64 {
        samples / HOP + 1
    }

    /// Shortest input reflect padding accepts (more than `n_fft / 2` samples).
    pub fn min_samples() -> i64 {
        N_FFT / 2 + 1
    }

    /// Power mel spectrogram of `waves` (B, N): (B, N_MELS, frames).
    pub fn mel_power(&self, waves: &Tensor) -> Tensor {
        // center = true: reflect-pad n_fft/2 on both sides (as torch.stft does), then
        // frame without centring (tch always passes align_to_window, which aten rejects
        // together with center = true).
        let padded = waves
            .to_kind(Kind::Float)
            .unsqueeze(1)
            .reflection_pad1d([N_FFT / 2, N_FFT / 2])
            .squeeze_dim(1);
        let spec = padded
            .stft(
                N_FFT,
                HOP,
                N_FFT,
                Some(&self.window),
                false,
                true,
                true,
                false,
            )
            .abs()
            .pow_tensor_scalar(2.0);
        spec.transpose(-1, -2).matmul(&self.fb).transpose(-1, -2)
    }

    /// Log-mel in dB of `waves` (B, N), each clip clamped at its own max − [`TOP_DB`]:
    /// (B, N_MELS, frames).
    pub fn forward(&self, waves: &Tensor) -> Tensor {
        let db = self.mel_power(waves).clamp_min(AMIN).log10() * 10.0;
        let floor = db.amax([-2i64, -1].as_slice(), true) - TOP_DB;
        db.maximum(&floor)
    }
}
